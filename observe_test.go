package circuit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
)

// observed returns a breaker whose observers append to the returned slice;
// two observers, to show both run, in order.
func observed(t *testing.T, opts ...circuit.Option) (*circuit.Breaker[int], *[]circuit.Observation, *[]string) {
	t.Helper()
	var obs []circuit.Observation
	var order []string
	opts = append(opts,
		circuit.WithObserver(func(_ context.Context, o circuit.Observation) { order = append(order, "first"); obs = append(obs, o) }),
		circuit.WithObserver(func(context.Context, circuit.Observation) { order = append(order, "second") }))
	b, err := circuit.New[int](opts...)
	require.NoError(t, err)
	return b, &obs, &order
}

func TestObserversSeeEveryCallInOrder(t *testing.T) {
	clk := circuittest.NewClock(time.Unix(0, 0))
	skip := errors.New("skip")
	b, obs, order := observed(t, circuit.WithClock(clk), circuit.WithConsecutiveFailures(2),
		circuit.WithSlowCalls(time.Second, 1), circuit.WithExclude(func(err error) bool { return errors.Is(err, skip) }))
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()

	_, _ = b.Execute(ctx, func(context.Context) (int, error) { clk.Advance(2 * time.Second); return 1, nil })
	_, _ = b.Execute(ctx, func(context.Context) (int, error) { return 0, skip })
	_, _ = b.Execute(canceled, func(context.Context) (int, error) { return 0, context.Canceled })
	_, _ = b.Execute(ctx, func(context.Context) (int, error) { return 0, errors.New("boom") })
	_, _ = b.Execute(ctx, func(context.Context) (int, error) { return 0, errors.New("boom") })
	_, err := b.Execute(ctx, func(context.Context) (int, error) { return 1, nil })

	require.Len(t, *obs, 6)
	o := *obs
	assert.Equal(t, circuit.OutcomeSuccess, o[0].Outcome)
	assert.True(t, o[0].Slow)
	assert.Equal(t, 2*time.Second, o[0].Duration, "measured with the breaker's clock")
	assert.Equal(t, circuit.OutcomeExcluded, o[1].Outcome)
	assert.Equal(t, circuit.OutcomeIgnored, o[2].Outcome)
	assert.Equal(t, circuit.OutcomeFailure, o[3].Outcome)
	assert.Empty(t, o[3].Changes)
	require.Len(t, o[4].Changes, 1, "the second failure tripped it")
	assert.Equal(t, circuit.Open, o[4].Changes[0].To)
	assert.Equal(t, "2 consecutive failures", o[4].Changes[0].Reason)
	assert.Equal(t, circuit.OutcomeRejected, o[5].Outcome)
	assert.Equal(t, err, o[5].Err)
	assert.Zero(t, o[5].Duration)
	assert.Equal(t, []string{"first", "second"}, (*order)[:2])
	assert.Len(t, *order, 12)
	for _, ob := range o {
		assert.Equal(t, "circuit: breaker is open", o[5].Err.Error())
		assert.Empty(t, ob.Name)
	}
	assert.Equal(t, "rejected", circuit.OutcomeRejected.String())
}

func TestObserverSeesAllowsDoneOnce(t *testing.T) {
	b, obs, _ := observed(t)
	done, err := b.Allow(context.Background())
	require.NoError(t, err)
	assert.Empty(t, *obs, "nothing until the call is done")
	done(errors.New("boom"))
	done(nil)
	require.Len(t, *obs, 1)
	assert.Equal(t, circuit.OutcomeFailure, (*obs)[0].Outcome)

	b.ForceOpen()
	_, err = b.Allow(context.Background())
	require.ErrorIs(t, err, circuit.ErrOpen)
	require.Len(t, *obs, 2)
	assert.Equal(t, circuit.OutcomeRejected, (*obs)[1].Outcome)
	assert.Len(t, (*obs)[1].Changes, 0, "ForceOpen's transition was not the call's")
}

func TestObserverNilIsInvalid(t *testing.T) {
	_, err := circuit.New[int](circuit.WithObserver(nil))
	assert.ErrorIs(t, err, circuit.ErrInvalidOption)
}

func TestBreakersAndGroupsAreSourcesAndHistories(t *testing.T) {
	b := circuit.MustNew[int](circuit.WithName("db"))
	g, err := circuit.NewGroup[string, int](circuit.WithName("hosts"))
	require.NoError(t, err)
	g.Get("a").ForceOpen()
	g.Get("b")
	for _, s := range []circuit.Source{b, g} {
		_, ok := s.(circuit.History)
		assert.True(t, ok)
	}
	names := map[string]circuit.State{}
	g.Breakers(func(name string, m circuit.Metrics) bool { names[name] = m.State; return true })
	assert.Equal(t, map[string]circuit.State{"hosts/a": circuit.ForcedOpen, "hosts/b": circuit.Closed}, names)

	for i := range circuit.HistoryLength + 3 {
		if i%2 == 0 {
			b.ForceOpen()
		} else {
			b.Reset()
		}
	}
	b.Transitions(func(name string, recent []circuit.Transition) bool {
		assert.Equal(t, "db", name)
		require.Len(t, recent, circuit.HistoryLength, "the last HistoryLength are kept")
		assert.Equal(t, circuit.ForcedOpen, recent[len(recent)-1].To, "newest last")
		return true
	})
	n := 0
	g.Breakers(func(string, circuit.Metrics) bool { n++; return false })
	assert.Equal(t, 1, n, "stops when fn returns false")
}

func BenchmarkClosedSuccessObserver(b *testing.B) {
	br := circuit.MustNew[int](circuit.WithObserver(func(context.Context, circuit.Observation) {}))
	fn := func(context.Context) (int, error) { return 1, nil }
	ctx := context.Background()
	b.ReportAllocs()
	for range b.N {
		_, _ = br.Execute(ctx, fn)
	}
}

var observeBase = time.Now()

// BenchmarkClosedSuccessPlusClockRead is the floor under an observer that
// times its calls: the plain closed path plus the one clock read, at the
// call's start, that Observation.Duration needs and the plain path never
// makes (its end reading serves both).
func BenchmarkClosedSuccessPlusClockRead(b *testing.B) {
	br := circuit.MustNew[int]()
	fn := func(context.Context) (int, error) { return 1, nil }
	ctx := context.Background()
	var sink time.Duration
	b.ReportAllocs()
	for range b.N {
		sink += time.Since(observeBase)
		_, _ = br.Execute(ctx, fn)
	}
	_ = sink
}
