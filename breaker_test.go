package circuit_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
	"github.com/seed33933975/circuit/internal/sharetest"
)

var (
	errBoom     = errors.New("boom")
	errNotFound = errors.New("not found")
	errInvalid  = errors.New("invalid argument")
	epoch       = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
)

func succeed(context.Context) (int, error) { return 1, nil }
func fail(context.Context) (int, error)    { return 0, errBoom }

// newBreaker returns a breaker on a fake clock, with opts after the clock.
func newBreaker(t *testing.T, opts ...circuit.Option) (*circuit.Breaker[int], *circuittest.Clock) {
	t.Helper()
	clk := circuittest.NewClock(epoch)
	b, err := circuit.New[int](append([]circuit.Option{circuit.WithClock(clk)}, opts...)...)
	require.NoError(t, err)
	return b, clk
}

// calls runs n calls of fn through b and returns the last error.
func calls(b *circuit.Breaker[int], n int, fn func(context.Context) (int, error)) error {
	var err error
	for i := 0; i < n; i++ {
		_, err = b.Execute(context.Background(), fn)
	}
	return err
}

// slowBy returns a call that advances clk by d, then returns err.
func slowBy(clk *circuittest.Clock, d time.Duration, err error) func(context.Context) (int, error) {
	return func(context.Context) (int, error) {
		clk.Advance(d)
		return 0, err
	}
}

// recorder collects transitions.
type recorder = sharetest.Transitions

func TestStateString(t *testing.T) {
	for s, want := range map[circuit.State]string{
		circuit.Closed: "closed", circuit.HalfOpen: "half-open", circuit.Open: "open",
		circuit.ForcedOpen: "forced-open", circuit.Disabled: "disabled", circuit.State(9): "State(9)",
	} {
		assert.Equal(t, want, s.String())
	}
}

func TestTripRules(t *testing.T) {
	tests := []struct {
		name     string
		opts     []circuit.Option
		run      func(b *circuit.Breaker[int], clk *circuittest.Clock)
		wantOpen bool
		reason   string
	}{
		{
			name:     "consecutive failures trip at n",
			opts:     []circuit.Option{circuit.WithConsecutiveFailures(3), circuit.WithFailureRate(0, 0)},
			run:      func(b *circuit.Breaker[int], _ *circuittest.Clock) { calls(b, 3, fail) },
			wantOpen: true, reason: "3 consecutive failures",
		},
		{
			name: "consecutive failures below n do not trip",
			opts: []circuit.Option{circuit.WithConsecutiveFailures(3), circuit.WithFailureRate(0, 0)},
			run:  func(b *circuit.Breaker[int], _ *circuittest.Clock) { calls(b, 2, fail) },
		},
		{
			name: "a success ends the failure streak",
			opts: []circuit.Option{circuit.WithConsecutiveFailures(3), circuit.WithFailureRate(0, 0)},
			run: func(b *circuit.Breaker[int], _ *circuittest.Clock) {
				calls(b, 2, fail)
				calls(b, 1, succeed)
				calls(b, 2, fail)
			},
		},
		{
			name: "failure rate exactly at threshold trips",
			opts: []circuit.Option{circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0.5, 10)},
			run: func(b *circuit.Breaker[int], _ *circuittest.Clock) {
				calls(b, 5, succeed)
				calls(b, 5, fail)
			},
			wantOpen: true, reason: "failure rate 50% >= 50% over 10 calls",
		},
		{
			name: "failure rate just below threshold does not trip",
			opts: []circuit.Option{circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0.5, 10)},
			run: func(b *circuit.Breaker[int], _ *circuittest.Clock) {
				calls(b, 6, succeed)
				calls(b, 5, fail)
			},
		},
		{
			name: "failure rate trips at exactly minCalls",
			opts: []circuit.Option{circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0.3, 10)},
			run: func(b *circuit.Breaker[int], _ *circuittest.Clock) {
				calls(b, 7, succeed)
				calls(b, 3, fail)
			},
			wantOpen: true, reason: "failure rate 30% >= 30% over 10 calls",
		},
		{
			name: "failure rate below minCalls does not trip",
			opts: []circuit.Option{circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0.3, 10)},
			run:  func(b *circuit.Breaker[int], _ *circuittest.Clock) { calls(b, 9, fail) },
		},
		{
			name: "slow-call rate trips",
			opts: []circuit.Option{circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0, 4),
				circuit.WithSlowCalls(time.Second, 0.5)},
			run: func(b *circuit.Breaker[int], clk *circuittest.Clock) {
				calls(b, 2, succeed)
				calls(b, 2, slowBy(clk, time.Second, nil))
			},
			wantOpen: true, reason: "slow-call rate 50% >= 50% over 4 calls (slow: >= 1s)",
		},
		{
			name: "calls just under the slow threshold are not slow",
			opts: []circuit.Option{circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0, 4),
				circuit.WithSlowCalls(time.Second, 0.5)},
			run: func(b *circuit.Breaker[int], clk *circuittest.Clock) {
				calls(b, 4, slowBy(clk, time.Second-time.Nanosecond, nil))
			},
		},
		{
			name: "excluded errors never trip",
			opts: []circuit.Option{circuit.WithConsecutiveFailures(2),
				circuit.WithExclude(func(err error) bool { return errors.Is(err, errInvalid) })},
			run: func(b *circuit.Breaker[int], _ *circuittest.Clock) {
				calls(b, 10, func(context.Context) (int, error) { return 0, errInvalid })
			},
		},
		{
			name: "errors that are not failures count as successes",
			opts: []circuit.Option{circuit.WithConsecutiveFailures(2),
				circuit.WithIsFailure(func(err error) bool { return !errors.Is(err, errNotFound) })},
			run: func(b *circuit.Breaker[int], _ *circuittest.Clock) {
				calls(b, 1, fail)
				calls(b, 1, func(context.Context) (int, error) { return 0, errNotFound })
				calls(b, 1, fail)
			},
		},
		{
			name: "disabled never trips",
			opts: []circuit.Option{circuit.WithConsecutiveFailures(1)},
			run: func(b *circuit.Breaker[int], _ *circuittest.Clock) {
				b.Disable()
				calls(b, 10, fail)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			b, clk := newBreaker(t, append(tt.opts, circuit.WithOnStateChange(rec.Hook))...)
			tt.run(b, clk)
			if !tt.wantOpen {
				assert.NotEqual(t, circuit.Open, b.State())
				assert.Zero(t, b.Metrics().Trips)
				return
			}
			assert.Equal(t, circuit.Open, b.State())
			assert.Equal(t, uint64(1), b.Metrics().Trips)
			ts := rec.Get()
			require.Len(t, ts, 1)
			assert.Equal(t, circuit.Closed, ts[0].From)
			assert.Equal(t, circuit.Open, ts[0].To)
			assert.Equal(t, tt.reason, ts[0].Reason)
		})
	}
}

func TestOpenRejectsWithoutCalling(t *testing.T) {
	b, clk := newBreaker(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(10*time.Second))
	require.ErrorIs(t, calls(b, 1, fail), errBoom)
	clk.Advance(4 * time.Second)

	called := false
	_, err := b.Execute(context.Background(), func(context.Context) (int, error) { called = true; return 1, nil })
	require.ErrorIs(t, err, circuit.ErrOpen)
	assert.False(t, called, "fn must not run while open")
	left, ok := circuit.RetryAfter(err)
	assert.True(t, ok)
	assert.Equal(t, 6*time.Second, left)
	clk.Advance(time.Second)
	left, _ = circuit.RetryAfter(err)
	assert.Equal(t, 5*time.Second, left, "RetryAfter counts down with the breaker's clock")
	assert.Equal(t, uint64(1), b.Metrics().Rejected)
}

func TestOpenBecomesHalfOpenWithoutCalls(t *testing.T) {
	var rec recorder
	b, clk := newBreaker(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(10*time.Second),
		circuit.WithOnStateChange(rec.Hook), circuit.WithName("db"))
	calls(b, 1, fail)
	clk.Advance(10*time.Second - 1)
	assert.Equal(t, circuit.Open, b.State())
	clk.Advance(5 * time.Second)
	assert.Equal(t, circuit.HalfOpen, b.State(), "State reports the end of the open period by itself")

	ts := rec.Get()
	require.Len(t, ts, 2)
	assert.Equal(t, circuit.Transition{Name: "db", From: circuit.Open, To: circuit.HalfOpen,
		At: epoch.Add(10 * time.Second), Reason: "open timeout ended"}, ts[1],
		"the transition happened at the end of the open period, not when it was noticed")
}

func TestHalfOpenTrialsUnderConcurrency(t *testing.T) {
	var rec recorder
	b, clk := newBreaker(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Second),
		circuit.WithHalfOpenTrials(3), circuit.WithSuccessThreshold(2), circuit.WithOnStateChange(rec.Hook))
	calls(b, 1, fail)
	clk.Advance(time.Second)

	// 16 callers arrive at once; the first three are admitted and held until
	// every caller has been answered.
	release := make(chan struct{})
	var admitted, tooMany atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := b.Execute(context.Background(), func(context.Context) (int, error) {
				admitted.Add(1)
				<-release
				return 1, nil
			})
			if errors.Is(err, circuit.ErrTooManyRequests) {
				tooMany.Add(1)
			}
		}()
	}
	require.Eventually(t, func() bool { return admitted.Load()+tooMany.Load() == 16 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, int32(3), admitted.Load(), "exactly trials calls are admitted")
	assert.Equal(t, int32(13), tooMany.Load())
	assert.Equal(t, circuit.HalfOpen, b.State())
	close(release)
	wg.Wait()

	assert.Equal(t, circuit.Closed, b.State())
	ts := rec.Get()
	require.Len(t, ts, 3)
	assert.Equal(t, circuit.HalfOpen, ts[2].From)
	assert.Equal(t, circuit.Closed, ts[2].To)
	assert.Equal(t, "2 trial calls succeeded", ts[2].Reason)
	assert.Equal(t, uint64(13), b.Metrics().Rejected)
}

func TestHalfOpenOutcomes(t *testing.T) {
	t.Run("a failed trial reopens", func(t *testing.T) {
		b, clk := newBreaker(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Second))
		calls(b, 1, fail)
		clk.Advance(time.Second)
		calls(b, 1, fail)
		assert.Equal(t, circuit.Open, b.State())
		assert.Equal(t, uint64(2), b.Metrics().Trips)
	})
	t.Run("a slow trial reopens", func(t *testing.T) {
		b, clk := newBreaker(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Second),
			circuit.WithSlowCalls(100*time.Millisecond, 1))
		calls(b, 1, fail)
		clk.Advance(time.Second)
		calls(b, 1, slowBy(clk, 100*time.Millisecond, nil))
		assert.Equal(t, circuit.Open, b.State())
	})
	t.Run("an excluded trial gives its permit back", func(t *testing.T) {
		b, clk := newBreaker(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Second),
			circuit.WithExclude(func(err error) bool { return errors.Is(err, errInvalid) }))
		calls(b, 1, fail)
		clk.Advance(time.Second)
		err := calls(b, 1, func(context.Context) (int, error) { return 0, errInvalid })
		assert.ErrorIs(t, err, errInvalid)
		assert.Equal(t, circuit.HalfOpen, b.State())
		// With its permit back the round admits another trial, which closes it.
		require.NoError(t, calls(b, 1, succeed))
		assert.Equal(t, circuit.Closed, b.State())
	})
	t.Run("a canceled trial gives its permit back", func(t *testing.T) {
		b, clk := newBreaker(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Second))
		calls(b, 1, fail)
		clk.Advance(time.Second)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := b.Execute(ctx, func(ctx context.Context) (int, error) { return 0, ctx.Err() })
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, circuit.HalfOpen, b.State())
		_, err = b.Execute(context.Background(), fail)
		assert.ErrorIs(t, err, errBoom, "the permit came back, so this trial was admitted")
	})
	t.Run("closing empties the window", func(t *testing.T) {
		b, clk := newBreaker(t, circuit.WithConsecutiveFailures(2), circuit.WithOpenTimeout(time.Second))
		calls(b, 2, fail)
		clk.Advance(time.Second)
		calls(b, 1, succeed)
		m := b.Metrics()
		assert.Equal(t, circuit.Closed, m.State)
		assert.Zero(t, m.Calls)
		assert.Zero(t, m.ConsecutiveFailures)
	})
}

func TestPanicIsFailureAndGoesOn(t *testing.T) {
	b, _ := newBreaker(t, circuit.WithConsecutiveFailures(2), circuit.WithHalfOpenTrials(1))
	for i := 0; i < 2; i++ {
		assert.PanicsWithValue(t, "kaboom", func() {
			_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { panic("kaboom") })
		})
	}
	m := b.Metrics()
	assert.Equal(t, circuit.Open, m.State, "two panics are two failures")
	assert.Equal(t, 2, m.Failures)
}

func TestPanicReleasesPermits(t *testing.T) {
	b, clk := newBreaker(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Second),
		circuit.WithBulkhead(1, 0))
	assert.Panics(t, func() {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { panic("x") })
	})
	assert.Equal(t, circuit.Open, b.State())
	assert.Zero(t, b.Metrics().InFlight, "the bulkhead slot came back")
	clk.Advance(time.Second)
	require.NoError(t, calls(b, 1, succeed), "the slot and a trial are free again")
}

func TestCallerCancelIsIgnored(t *testing.T) {
	b, _ := newBreaker(t, circuit.WithConsecutiveFailures(2))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 5; i++ {
		_, err := b.Execute(ctx, func(ctx context.Context) (int, error) { return 0, ctx.Err() })
		assert.ErrorIs(t, err, context.Canceled)
	}
	m := b.Metrics()
	assert.Equal(t, circuit.Closed, m.State)
	assert.Zero(t, m.Calls)
	assert.Equal(t, 5, m.Excluded)
}

func TestCallerDeadlineIsFailure(t *testing.T) {
	b, _ := newBreaker(t, circuit.WithConsecutiveFailures(1),
		circuit.WithIsFailure(func(error) bool { return false }))
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := b.Execute(ctx, func(ctx context.Context) (int, error) { return 0, ctx.Err() })
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, circuit.Open, b.State(), "a call past its caller's deadline fails whatever the predicates say")
}

func TestTimeWindowExpiresByBucket(t *testing.T) {
	b, clk := newBreaker(t, circuit.WithWindow(10*time.Second, 10), circuit.WithConsecutiveFailures(0),
		circuit.WithFailureRate(0.5, 100))
	calls(b, 3, fail) // bucket 0: [0s, 1s)
	clk.Advance(1500 * time.Millisecond)
	calls(b, 2, succeed) // bucket 1: [1s, 2s)
	require.Equal(t, 5, b.Metrics().Calls)

	clk.Advance(8500*time.Millisecond - 1) // 9.999999999s: bucket 0 still in the window
	assert.Equal(t, 5, b.Metrics().Calls)
	clk.Advance(1) // 10s: bucket 0 has left
	m := b.Metrics()
	assert.Equal(t, 2, m.Calls)
	assert.Zero(t, m.Failures)
	clk.Advance(time.Second) // 11s: bucket 1 has left too
	assert.Zero(t, b.Metrics().Calls)

	calls(b, 1, fail) // bucket 11 reuses bucket 1's slot
	m = b.Metrics()
	assert.Equal(t, 1, m.Calls)
	assert.Equal(t, 1, m.Failures)
}

func TestCountWindowEvicts(t *testing.T) {
	b, _ := newBreaker(t, circuit.WithCountWindow(4), circuit.WithConsecutiveFailures(0),
		circuit.WithFailureRate(0.75, 4))
	calls(b, 2, fail)
	calls(b, 4, succeed) // the two failures are evicted
	m := b.Metrics()
	assert.Equal(t, 4, m.Calls)
	assert.Zero(t, m.Failures)
	calls(b, 2, fail)
	m = b.Metrics()
	assert.Equal(t, 4, m.Calls)
	assert.Equal(t, 2, m.Failures)
	assert.Equal(t, circuit.Closed, m.State)
	calls(b, 1, fail) // 3 of the last 4
	assert.Equal(t, circuit.Open, b.State())
}

func TestMetricsAfterKnownSequence(t *testing.T) {
	b, clk := newBreaker(t, circuit.WithConsecutiveFailures(4), circuit.WithFailureRate(0.9, 100),
		circuit.WithSlowCalls(time.Second, 1),
		circuit.WithExclude(func(err error) bool { return errors.Is(err, errInvalid) }))
	calls(b, 5, succeed)
	calls(b, 1, slowBy(clk, 2*time.Second, nil))
	calls(b, 2, func(context.Context) (int, error) { return 0, errInvalid })
	calls(b, 3, fail)
	m := b.Metrics()
	assert.Equal(t, circuit.Metrics{
		State: circuit.Closed, Calls: 9, Successes: 6, Failures: 3, SlowCalls: 1, Excluded: 2,
		FailureRate: 3.0 / 9, SlowCallRate: 1.0 / 9, ConsecutiveFailures: 3, MinCalls: 100,
		Totals: m.Totals, // held in TestTotalsAreExactUnderConcurrency
	}, m)

	calls(b, 1, fail)
	calls(b, 2, succeed)
	m = b.Metrics()
	assert.Equal(t, circuit.Open, m.State)
	assert.Equal(t, uint64(2), m.Rejected)
	assert.Equal(t, uint64(1), m.Trips)
	assert.Equal(t, 10, m.Calls, "rejected calls are not counted in the window")
}

func TestTransitionsInOrderWithReasons(t *testing.T) {
	var rec recorder
	b, clk := newBreaker(t, circuit.WithName("payments"), circuit.WithConsecutiveFailures(2),
		circuit.WithOpenTimeout(time.Minute), circuit.WithOnStateChange(rec.Hook))
	calls(b, 2, fail)
	clk.Advance(time.Minute)
	calls(b, 1, fail) // trial fails: open again
	clk.Advance(time.Minute)
	calls(b, 1, succeed) // trial succeeds: closed
	b.ForceOpen()
	b.ForceOpen() // no change, no transition
	b.Disable()
	b.Reset()
	b.Reset() // Closed to Closed: the window is emptied, but the state does not change

	type tr struct {
		from, to circuit.State
		at       time.Duration
		reason   string
	}
	want := []tr{
		{circuit.Closed, circuit.Open, 0, "2 consecutive failures"},
		{circuit.Open, circuit.HalfOpen, time.Minute, "open timeout ended"},
		{circuit.HalfOpen, circuit.Open, time.Minute, "trial call failed"},
		{circuit.Open, circuit.HalfOpen, 2 * time.Minute, "open timeout ended"},
		{circuit.HalfOpen, circuit.Closed, 2 * time.Minute, "1 trial call succeeded"},
		{circuit.Closed, circuit.ForcedOpen, 2 * time.Minute, "forced open"},
		{circuit.ForcedOpen, circuit.Disabled, 2 * time.Minute, "disabled"},
		{circuit.Disabled, circuit.Closed, 2 * time.Minute, "reset"},
	}
	got := rec.Get()
	require.Len(t, got, len(want))
	for i, w := range want {
		assert.Equal(t, circuit.Transition{Name: "payments", From: w.from, To: w.to, At: epoch.Add(w.at), Reason: w.reason}, got[i], "transition %d", i)
	}
}

func TestHookMayReadAndChangeState(t *testing.T) {
	var seen []circuit.State
	var b *circuit.Breaker[int]
	b, _ = newBreaker(t, circuit.WithConsecutiveFailures(1), circuit.WithOnStateChange(func(tr circuit.Transition) {
		seen = append(seen, b.State())
		_ = b.Metrics()
		if tr.To == circuit.Open {
			b.Reset() // changing the state from the hook must not deadlock
		}
	}))
	calls(b, 1, fail)
	assert.Equal(t, circuit.Closed, b.State())
	assert.Equal(t, []circuit.State{circuit.Open, circuit.Closed}, seen,
		"the Reset made in the first hook is delivered after it returns")
}

func TestForcedOpenAndDisabled(t *testing.T) {
	b, clk := newBreaker(t, circuit.WithConsecutiveFailures(1))
	b.ForceOpen()
	clk.Advance(time.Hour)
	_, err := b.Execute(context.Background(), succeed)
	require.ErrorIs(t, err, circuit.ErrOpen)
	_, ok := circuit.RetryAfter(err)
	assert.False(t, ok, "forced open has no end")
	assert.Equal(t, circuit.ForcedOpen, b.State())

	b.Disable()
	require.ErrorIs(t, calls(b, 3, fail), errBoom)
	m := b.Metrics()
	assert.Equal(t, circuit.Disabled, m.State)
	assert.Equal(t, 3, m.Failures, "disabled still counts")

	b.Reset()
	m = b.Metrics()
	assert.Equal(t, circuit.Closed, m.State)
	assert.Zero(t, m.Calls)
}

func TestLateOutcomeOfOldRoundIsDropped(t *testing.T) {
	b, _ := newBreaker(t, circuit.WithConsecutiveFailures(2))
	done, err := b.Allow(context.Background())
	require.NoError(t, err)
	b.Reset() // a new round begins while the call is in flight
	done(errBoom)
	m := b.Metrics()
	assert.Zero(t, m.Calls, "the outcome belongs to the round before the reset")
	assert.Zero(t, m.ConsecutiveFailures)
}

func TestInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  circuit.Option
		want string
	}{
		{"negative consecutive failures", circuit.WithConsecutiveFailures(-1), "WithConsecutiveFailures: n -1 is negative"},
		{"failure rate above 1", circuit.WithFailureRate(1.5, 10), "WithFailureRate: rate 1.5 outside (0, 1]"},
		{"negative failure rate", circuit.WithFailureRate(-0.1, 10), "WithFailureRate: rate -0.1 outside (0, 1]"},
		{"zero min calls", circuit.WithFailureRate(0.5, 0), "WithFailureRate: minCalls 0 is below 1"},
		{"zero buckets", circuit.WithWindow(time.Second, 0), "WithWindow: buckets 0 outside [1, 65536]"},
		{"zero window", circuit.WithWindow(0, 10), "WithWindow: length 0s is not positive"},
		{"buckets too short", circuit.WithWindow(time.Millisecond, 10), "WithWindow: length 1ms over 10 buckets makes buckets shorter than 1ms"},
		{"zero count window", circuit.WithCountWindow(0), "WithCountWindow: size 0 outside [1, 16777216]"},
		{"zero slow threshold", circuit.WithSlowCalls(0, 0.5), "WithSlowCalls: threshold 0s is not positive"},
		{"slow rate above 1", circuit.WithSlowCalls(time.Second, 2), "WithSlowCalls: rate 2 outside (0, 1]"},
		{"zero open timeout", circuit.WithOpenTimeout(0), "WithOpenTimeout: timeout 0s is not positive"},
		{"nil open backoff", circuit.WithOpenBackoff(nil), "WithOpenBackoff: backoff is nil"},
		{"bad exponential backoff", circuit.WithOpenBackoff(circuit.ExponentialBackoff(time.Second, time.Minute, 1.5)), "ExponentialBackoff: jitter 1.5 outside [0, 1]"},
		{"zero trials", circuit.WithHalfOpenTrials(0), "WithHalfOpenTrials: n 0 outside [1, 65535]"},
		{"zero success threshold", circuit.WithSuccessThreshold(0), "WithSuccessThreshold: threshold 0 is below 1"},
		{"success threshold above trials", circuit.WithSuccessThreshold(2), "WithSuccessThreshold: threshold 2 above the 1 half-open trials"},
		{"nil exclude", circuit.WithExclude(nil), "WithExclude: predicate is nil"},
		{"nil is-failure", circuit.WithIsFailure(nil), "WithIsFailure: predicate is nil"},
		{"nil hook", circuit.WithOnStateChange(nil), "WithOnStateChange: function is nil"},
		{"nil clock", circuit.WithClock(nil), "WithClock: clock is nil"},
		{"zero hung after", circuit.WithHungCalls(0, 3), "WithHungCalls: after 0s is not positive"},
		{"zero hung calls", circuit.WithHungCalls(time.Second, 0), "WithHungCalls: n 0 is below 1"},
		{"zero call timeout", circuit.WithCallTimeout(0), "WithCallTimeout: timeout 0s is not positive"},
		{"zero bulkhead", circuit.WithBulkhead(0, 0), "WithBulkhead: maxConcurrent 0 is below 1"},
		{"negative bulkhead wait", circuit.WithBulkhead(1, -time.Second), "WithBulkhead: maxWait -1s is negative"},
		{"nil store", circuit.WithStore(nil, time.Second), "WithStore: store is nil"},
		{"zero quorum", circuit.WithQuorum(0), "WithQuorum: n 0 is below 1"},
		{"nil option", nil, "Option: option 0 is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := circuit.New[int](tt.opt)
			assert.Nil(t, b)
			require.ErrorIs(t, err, circuit.ErrInvalidOption)
			assert.Contains(t, err.Error(), "circuit: invalid option "+tt.want)
			assert.PanicsWithError(t, err.Error(), func() { circuit.MustNew[int](tt.opt) })
			_, err = circuit.NewGroup[string, int](tt.opt)
			assert.ErrorIs(t, err, circuit.ErrInvalidOption)
		})
	}
}

func TestInvalidOptionCombinations(t *testing.T) {
	tests := []struct {
		name string
		opts []circuit.Option
		want string
	}{
		{"no trip rule left", []circuit.Option{circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0, 0)}, "no trip rule left on"},
		{"both window kinds", []circuit.Option{circuit.WithWindow(time.Minute, 6), circuit.WithCountWindow(10)}, "both WithWindow and WithCountWindow"},
		{"threshold above trials in either order", []circuit.Option{circuit.WithSuccessThreshold(4), circuit.WithHalfOpenTrials(3)}, "threshold 4 above the 3 half-open trials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := circuit.New[int](tt.opts...)
			require.ErrorIs(t, err, circuit.ErrInvalidOption)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	_, err := circuit.New[int](circuit.WithFailureRate(2, 1), circuit.WithHalfOpenTrials(-1))
	assert.ErrorContains(t, err, "WithFailureRate")
	assert.ErrorContains(t, err, "WithHalfOpenTrials", "every bad option is reported, not just the first")
}

func TestDefaults(t *testing.T) {
	b := circuit.MustNew[int](circuit.WithName("x"))
	assert.Equal(t, "x", b.Name())
	assert.Equal(t, circuit.Closed, b.State())
	require.ErrorIs(t, calls(b, 4, fail), errBoom)
	assert.Equal(t, circuit.Closed, b.State(), "default: 5 consecutive failures")
	calls(b, 1, fail)
	assert.Equal(t, circuit.Open, b.State())
	_, err := b.Execute(context.Background(), succeed)
	left, ok := circuit.RetryAfter(err)
	assert.True(t, ok)
	assert.InDelta(t, float64(circuit.DefaultOpenTimeout), float64(left), float64(time.Second))
	assert.NoError(t, b.Close())
}

// hintErr asks for a minimum open time, as circuithttp's error for a 429 does.
type hintErr time.Duration

func (e hintErr) Error() string             { return "slow down" }
func (e hintErr) RetryAfter() time.Duration { return time.Duration(e) }

func TestRetryAfterHintKeepsTripOpen(t *testing.T) {
	b, clk := newBreaker(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Second))
	_, err := b.Execute(context.Background(), func(context.Context) (int, error) {
		return 0, fmt.Errorf("wrapped: %w", errors.Join(errBoom, hintErr(time.Minute)))
	})
	require.Error(t, err)
	clk.Advance(59 * time.Second)
	assert.Equal(t, circuit.Open, b.State(), "open at least as long as the error asked")
	clk.Advance(time.Second)
	assert.Equal(t, circuit.HalfOpen, b.State())

	huge, clk2 := newBreaker(t, circuit.WithConsecutiveFailures(1))
	_, _ = huge.Execute(context.Background(), func(context.Context) (int, error) { return 0, hintErr(math.MaxInt64) })
	clk2.Advance(1000 * time.Hour)
	assert.Equal(t, circuit.Open, huge.State(), "a huge hint saturates instead of overflowing")
}
