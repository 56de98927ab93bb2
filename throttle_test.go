package circuit_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
)

// throttled returns a breaker with the adaptive throttle (k) on and the trip
// rules kept for a dead dependency only.
func throttled(t *testing.T, k float64, opts ...circuit.Option) (*circuit.Breaker[int], *circuittest.Clock) {
	t.Helper()
	clk := circuittest.NewClock(time.Unix(0, 0))
	opts = append([]circuit.Option{circuit.WithClock(clk), circuit.WithConsecutiveFailures(0),
		circuit.WithFailureRate(0.99, 1000), circuit.WithWindow(10*time.Second, 10), circuit.WithAdaptiveThrottle(k)}, opts...)
	b, err := circuit.New[int](opts...)
	require.NoError(t, err)
	return b, clk
}

func run(b *circuit.Breaker[int], n int, err error) (rejected int) {
	for range n {
		_, e := b.Execute(context.Background(), func(context.Context) (int, error) { return 1, err })
		if errors.Is(e, circuit.ErrThrottled) {
			rejected++
		}
	}
	return rejected
}

func TestThrottleProbabilityFollowsTheFormula(t *testing.T) {
	b, _ := throttled(t, 2)
	assert.Zero(t, run(b, 10, nil))
	assert.Zero(t, b.Metrics().ThrottleProbability, "stays 0 while healthy")
	// Ten successes allow k*10 = 20 requests before the first throttle.
	for i := 0; i < 30; i++ {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("boom") })
	}
	m := b.Metrics()
	dropped := m.Rejected
	requests := float64(m.Calls) + float64(dropped)
	want := max(0, (requests-2*float64(m.Successes))/(requests+1))
	assert.InDelta(t, want, m.ThrottleProbability, 1e-9, "requests %v, accepts %d", requests, m.Successes)
	assert.Greater(t, m.ThrottleProbability, 0.3, "rises under failures")
	assert.Equal(t, 10, m.Successes)
	assert.Equal(t, 40-int(dropped), m.Calls, "a throttled call is not counted as a failure")
}

func TestThrottledCallsAreRejectionsWithoutRetryAfter(t *testing.T) {
	b, _ := throttled(t, 1)
	run(b, 200, errors.New("boom"))
	_, err := b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("boom") })
	for !errors.Is(err, circuit.ErrThrottled) {
		_, err = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("boom") })
	}
	_, ok := circuit.RetryAfter(err)
	assert.False(t, ok)
	assert.Equal(t, circuit.Closed, b.State(), "the throttle never trips the breaker")
	m := b.Metrics()
	assert.Equal(t, uint64(0), m.Trips)
	assert.Positive(t, m.Rejected)
}

func TestThrottleDecaysAsTheWindowRolls(t *testing.T) {
	b, clk := throttled(t, 2)
	run(b, 100, errors.New("boom"))
	require.Greater(t, b.Metrics().ThrottleProbability, 0.9)
	clk.Advance(11 * time.Second)
	for b.Metrics().ThrottleProbability > 0 {
		run(b, 1, nil) // throttled or admitted, each call looks at the rolled window
	}
	assert.Zero(t, run(b, 100, nil), "healthy again: nothing throttled")
}

func TestThrottleComposesWithTheTripRules(t *testing.T) {
	// While it throttles a dead dependency only about one call in requests
	// reaches it, so a trip rule meant for it needs a small minCalls.
	b, _ := throttled(t, 2, circuit.WithFailureRate(0.95, 3))
	calls := 0
	for ; b.State() == circuit.Closed && calls < 1_000_000; calls++ {
		run(b, 1, errors.New("boom"))
	}
	assert.Equal(t, circuit.Open, b.State(), "a dead dependency still trips the breaker (after %d calls)", calls)
}

func TestThrottleBadInput(t *testing.T) {
	for _, k := range []float64{0.5, 0, -1, math.NaN(), math.Inf(1)} {
		_, err := circuit.New[int](circuit.WithAdaptiveThrottle(k))
		assert.ErrorIs(t, err, circuit.ErrInvalidOption, "k %v", k)
		assert.ErrorContains(t, err, "WithAdaptiveThrottle")
	}
}

func TestThrottleWithACountWindow(t *testing.T) {
	b, err := circuit.New[int](circuit.WithCountWindow(100), circuit.WithConsecutiveFailures(0),
		circuit.WithFailureRate(0.99, 100), circuit.WithAdaptiveThrottle(2))
	require.NoError(t, err)
	assert.Positive(t, run(b, 300, errors.New("boom")))
	assert.Greater(t, b.Metrics().ThrottleProbability, 0.5)
}

func BenchmarkClosedSuccessThrottle(b *testing.B) {
	br := circuit.MustNew[int](circuit.WithAdaptiveThrottle(2))
	fn := func(context.Context) (int, error) { return 1, nil }
	ctx := context.Background()
	b.ReportAllocs()
	for range b.N {
		_, _ = br.Execute(ctx, fn)
	}
}
