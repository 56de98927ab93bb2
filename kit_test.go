package circuit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
)

func TestCallTimeout(t *testing.T) {
	b, _ := newBreaker(t, circuit.WithCallTimeout(20*time.Millisecond), circuit.WithConsecutiveFailures(1),
		circuit.WithIsFailure(func(error) bool { return false }))
	_, err := b.Execute(context.Background(), func(ctx context.Context) (int, error) {
		_, ok := ctx.Deadline()
		assert.True(t, ok, "fn gets a deadline")
		<-ctx.Done()
		return 0, nil // even a nil error is a failure once the timeout has passed
	})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "20ms timeout")
	assert.Equal(t, circuit.Open, b.State(), "overrunning the call timeout is a failure whatever the predicates say")
}

func TestCallTimeoutKeepsCallerCancelIgnored(t *testing.T) {
	b, _ := newBreaker(t, circuit.WithCallTimeout(time.Hour), circuit.WithConsecutiveFailures(1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.Execute(ctx, func(ctx context.Context) (int, error) { return 0, ctx.Err() })
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, circuit.Closed, b.State())
	assert.Equal(t, 1, b.Metrics().Excluded)
}

func TestAllowCallTimeout(t *testing.T) {
	b, clk := newBreaker(t, circuit.WithCallTimeout(time.Second), circuit.WithConsecutiveFailures(1))
	done, err := b.Allow(context.Background())
	require.NoError(t, err)
	clk.Advance(time.Second)
	done(nil)
	assert.Equal(t, circuit.Open, b.State(), "a done after the call timeout is a failure")
}

func TestBulkheadCapsCallsInFlight(t *testing.T) {
	const limit = 4
	b, _ := newBreaker(t, circuit.WithBulkhead(limit, time.Minute), circuit.WithConsecutiveFailures(0),
		circuit.WithFailureRate(1, 1<<20))
	var inFlight, peak atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				_, err := b.Execute(context.Background(), func(context.Context) (int, error) {
					n := inFlight.Add(1)
					for {
						p := peak.Load()
						if n <= p || peak.CompareAndSwap(p, n) {
							break
						}
					}
					assert.LessOrEqual(t, int(b.Metrics().InFlight), limit)
					inFlight.Add(-1)
					return 1, nil
				})
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, peak.Load(), int32(limit))
	m := b.Metrics()
	assert.Equal(t, 64*20, m.Calls, "every waiter got a slot in the end")
	assert.Zero(t, m.InFlight)
}

func TestBulkheadRejects(t *testing.T) {
	hold := func(b *circuit.Breaker[int]) func(error) {
		done, err := b.Allow(context.Background())
		require.NoError(t, err)
		return done
	}
	t.Run("at once with no wait", func(t *testing.T) {
		b, _ := newBreaker(t, circuit.WithBulkhead(1, 0))
		done := hold(b)
		defer done(nil)
		_, err := b.Execute(context.Background(), succeed)
		require.ErrorIs(t, err, circuit.ErrBulkheadFull)
		_, ok := circuit.RetryAfter(err)
		assert.False(t, ok)
		m := b.Metrics()
		assert.Equal(t, uint64(1), m.Rejected)
		assert.Zero(t, m.Failures, "a bulkhead rejection is not a failure of the dependency")
	})
	t.Run("after its wait time", func(t *testing.T) {
		b, _ := newBreaker(t, circuit.WithBulkhead(1, 10*time.Millisecond))
		done := hold(b)
		defer done(nil)
		_, err := b.Execute(context.Background(), succeed)
		require.ErrorIs(t, err, circuit.ErrBulkheadFull)
	})
	t.Run("when the caller's context ends", func(t *testing.T) {
		b, _ := newBreaker(t, circuit.WithBulkhead(1, time.Hour))
		done := hold(b)
		defer done(nil)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		go func() {
			_, err := b.Execute(ctx, succeed)
			errc <- err
		}()
		cancel()
		err := <-errc
		require.ErrorIs(t, err, circuit.ErrBulkheadFull)
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("a released slot wakes a waiter", func(t *testing.T) {
		b, _ := newBreaker(t, circuit.WithBulkhead(1, time.Hour))
		done := hold(b)
		errc := make(chan error)
		go func() {
			_, err := b.Execute(context.Background(), succeed)
			errc <- err
		}()
		done(nil)
		require.NoError(t, <-errc)
	})
}

func TestBackoffs(t *testing.T) {
	assert.Equal(t, 3*time.Second, circuit.ConstantBackoff(3*time.Second)(7))

	exp := circuit.ExponentialBackoff(100*time.Millisecond, time.Second, 0)
	var got []time.Duration
	for k := 1; k <= 6; k++ {
		got = append(got, exp(k))
	}
	assert.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
		800 * time.Millisecond, time.Second, time.Second}, got)
	assert.Equal(t, time.Second, exp(1000), "no overflow for large attempts")

	jit := circuit.ExponentialBackoff(100*time.Millisecond, time.Second, 0.5)
	var lo, hi bool
	for i := 0; i < 10000; i++ {
		d := jit(2) // step 200ms: within [100ms, 300ms]
		require.GreaterOrEqual(t, d, 100*time.Millisecond)
		require.LessOrEqual(t, d, 300*time.Millisecond)
		lo = lo || d < 150*time.Millisecond
		hi = hi || d > 250*time.Millisecond
		d = jit(10) // step 1s (capped): jitter never goes above max
		require.GreaterOrEqual(t, d, 500*time.Millisecond)
		require.LessOrEqual(t, d, time.Second)
	}
	assert.True(t, lo && hi, "jitter spreads over both sides of the step")

	full := circuit.ExponentialBackoff(time.Second, time.Second, 1)
	for i := 0; i < 10000; i++ {
		d := full(1)
		require.GreaterOrEqual(t, d, time.Duration(0), "never below zero")
		require.LessOrEqual(t, d, time.Second)
	}
}

func TestInvalidBackoffs(t *testing.T) {
	tests := []struct {
		name string
		b    circuit.Backoff
		want string
	}{
		{"jitter above 1", circuit.ExponentialBackoff(time.Second, time.Minute, 1.5), "ExponentialBackoff: jitter 1.5 outside [0, 1]"},
		{"negative jitter", circuit.ExponentialBackoff(time.Second, time.Minute, -0.1), "ExponentialBackoff: jitter -0.1 outside [0, 1]"},
		{"zero initial", circuit.ExponentialBackoff(0, time.Minute, 0), "ExponentialBackoff: initial 0s is not positive"},
		{"max below initial", circuit.ExponentialBackoff(time.Minute, time.Second, 0), "ExponentialBackoff: max 1s is below initial 1m0s"},
		{"negative constant", circuit.ConstantBackoff(-time.Second), "ConstantBackoff: d -1s is negative"},
		{"negative result", func(int) time.Duration { return -1 }, "backoff gave -1ns for attempt 1"},
		{"panicking backoff", func(int) time.Duration { panic("no") }, "backoff panicked for attempt 1: no"},
		{"nil", nil, "backoff is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := circuit.New[int](circuit.WithOpenBackoff(tt.b))
			require.ErrorIs(t, err, circuit.ErrInvalidOption)
			assert.Contains(t, err.Error(), tt.want)

			b, _ := newBreaker(t)
			called := false
			_, err = circuit.Retry(context.Background(), b, circuit.RetryPolicy{Attempts: 3, Backoff: tt.b},
				func(context.Context) (int, error) { called = true; return 0, nil })
			require.ErrorIs(t, err, circuit.ErrInvalidOption)
			assert.Contains(t, err.Error(), tt.want)
			assert.False(t, called)
		})
	}
}

func TestOpenBackoffAcrossTrips(t *testing.T) {
	b, clk := newBreaker(t, circuit.WithConsecutiveFailures(1),
		circuit.WithOpenBackoff(circuit.ExponentialBackoff(time.Second, 4*time.Second, 0)))
	openFor := func() time.Duration {
		_, err := b.Execute(context.Background(), succeed)
		d, ok := circuit.RetryAfter(err)
		require.True(t, ok, "expected an open rejection, got %v", err)
		return d
	}
	calls(b, 1, fail)
	var got []time.Duration
	for i := 0; i < 4; i++ {
		d := openFor()
		got = append(got, d)
		clk.Advance(d)
		calls(b, 1, fail) // the trial fails: the next trip in a row
	}
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}, got)

	clk.Advance(openFor())
	require.NoError(t, calls(b, 1, succeed)) // the trial succeeds: closed, backoff restarts
	require.Equal(t, circuit.Closed, b.State())
	calls(b, 1, fail)
	assert.Equal(t, time.Second, openFor())
}

func TestOpenTimeoutAndBackoffLastWins(t *testing.T) {
	b, _ := newBreaker(t, circuit.WithConsecutiveFailures(1),
		circuit.WithOpenBackoff(circuit.ConstantBackoff(time.Hour)), circuit.WithOpenTimeout(time.Second))
	_, err := b.Execute(context.Background(), fail)
	require.ErrorIs(t, err, errBoom)
	_, err = b.Execute(context.Background(), succeed)
	d, _ := circuit.RetryAfter(err)
	assert.Equal(t, time.Second, d)
}

func TestExecuteWithFallback(t *testing.T) {
	b, _ := newBreaker(t, circuit.WithConsecutiveFailures(1))
	var seen []error
	fallback := func(_ context.Context, err error) (int, error) {
		seen = append(seen, err)
		return 42, nil
	}
	v, err := b.ExecuteWithFallback(context.Background(), succeed, fallback)
	assert.Equal(t, 1, v)
	assert.NoError(t, err)
	v, err = b.ExecuteWithFallback(context.Background(), fail, fallback)
	assert.Equal(t, 42, v, "a failure gets the fallback")
	assert.NoError(t, err)
	v, err = b.ExecuteWithFallback(context.Background(), succeed, fallback)
	assert.Equal(t, 42, v, "a rejection gets the fallback")
	assert.NoError(t, err)
	require.Len(t, seen, 2)
	assert.ErrorIs(t, seen[0], errBoom)
	assert.ErrorIs(t, seen[1], circuit.ErrOpen)
}

func TestRetry(t *testing.T) {
	t.Run("retries counted failures then succeeds", func(t *testing.T) {
		b, _ := newBreaker(t, circuit.WithConsecutiveFailures(10))
		var n int
		var waits []int
		v, err := circuit.Retry(context.Background(), b, circuit.RetryPolicy{Attempts: 5,
			Backoff: func(k int) time.Duration { waits = append(waits, k); return 0 }},
			func(context.Context) (int, error) {
				n++
				if n < 3 {
					return 0, errBoom
				}
				return 7, nil
			})
		require.NoError(t, err)
		assert.Equal(t, 7, v)
		assert.Equal(t, 3, n)
		assert.Equal(t, []int{1, 1, 2}, waits, "one check of Backoff(1), then Backoff(k) after the k-th failure")
	})
	t.Run("gives up after Attempts", func(t *testing.T) {
		b, _ := newBreaker(t, circuit.WithConsecutiveFailures(10))
		n := 0
		_, err := circuit.Retry(context.Background(), b, circuit.RetryPolicy{Attempts: 3, Backoff: circuit.ConstantBackoff(0)},
			func(context.Context) (int, error) { n++; return 0, errBoom })
		assert.ErrorIs(t, err, errBoom)
		assert.Equal(t, 3, n)
	})
	t.Run("stops on ErrOpen without sleeping", func(t *testing.T) {
		b, _ := newBreaker(t, circuit.WithConsecutiveFailures(2))
		n, slept := 0, 0
		_, err := circuit.Retry(context.Background(), b, circuit.RetryPolicy{Attempts: 10,
			Backoff: func(int) time.Duration { slept++; return 0 }},
			func(context.Context) (int, error) { n++; return 0, errBoom })
		require.ErrorIs(t, err, circuit.ErrOpen)
		assert.ErrorIs(t, err, errBoom, "the failure that tripped it is kept")
		_, ok := circuit.RetryAfter(err)
		assert.True(t, ok, "RetryAfter reads the rejection")
		assert.Equal(t, 2, n, "the breaker tripped after two failures")
		assert.Equal(t, 1+1, slept, "the check, then one wait after the first failure; none after the trip")
	})
	t.Run("stops on an excluded or non-failure error", func(t *testing.T) {
		b, _ := newBreaker(t, circuit.WithExclude(func(err error) bool { return errors.Is(err, errInvalid) }),
			circuit.WithIsFailure(func(err error) bool { return !errors.Is(err, errNotFound) }))
		for _, e := range []error{errInvalid, errNotFound} {
			n := 0
			_, err := circuit.Retry(context.Background(), b, circuit.RetryPolicy{Attempts: 5, Backoff: circuit.ConstantBackoff(0)},
				func(context.Context) (int, error) { n++; return 0, e })
			assert.ErrorIs(t, err, e)
			assert.Equal(t, 1, n)
		}
	})
	t.Run("sleeps only while ctx lives", func(t *testing.T) {
		b, _ := newBreaker(t, circuit.WithConsecutiveFailures(10))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n := 0
		_, err := circuit.Retry(ctx, b, circuit.RetryPolicy{Attempts: 5, Backoff: circuit.ConstantBackoff(time.Hour)},
			func(context.Context) (int, error) {
				n++
				time.AfterFunc(5*time.Millisecond, cancel) // during the hour-long wait
				return 0, errBoom
			})
		assert.ErrorIs(t, err, errBoom)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 1, n)
	})
	t.Run("attempts below 1", func(t *testing.T) {
		b, _ := newBreaker(t)
		_, err := circuit.Retry(context.Background(), b, circuit.RetryPolicy{Attempts: 0, Backoff: circuit.ConstantBackoff(0)}, succeed)
		require.ErrorIs(t, err, circuit.ErrInvalidOption)
		assert.Contains(t, err.Error(), "RetryPolicy: Attempts 0 is below 1")
	})
}

func TestGroup(t *testing.T) {
	g, err := circuit.NewGroup[string, int](circuit.WithConsecutiveFailures(1), circuit.WithName("http"))
	require.NoError(t, err)
	defer g.Close()

	var wg sync.WaitGroup
	got := make([]*circuit.Breaker[int], 64)
	for i := range got {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			got[i] = g.Get(fmt.Sprint("host-", i%4))
		}(i)
	}
	wg.Wait()
	for i := range got {
		assert.Same(t, got[i%4], got[i], "one breaker per key under concurrent first use")
	}
	n := 0
	g.Range(func(string, *circuit.Breaker[int]) bool { n++; return true })
	assert.Equal(t, 4, n)
	assert.Equal(t, "http/host-0", g.Get("host-0").Name())

	_, err = g.Execute(context.Background(), "host-0", fail)
	require.ErrorIs(t, err, errBoom)
	_, err = g.Execute(context.Background(), "host-0", succeed)
	assert.ErrorIs(t, err, circuit.ErrOpen)
	_, err = g.Execute(context.Background(), "host-1", succeed)
	assert.NoError(t, err, "one key's failures never open another key's breaker")

	n = 0
	g.Range(func(string, *circuit.Breaker[int]) bool { n++; return false })
	assert.Equal(t, 1, n, "Range stops when fn returns false")

	plain, err := circuit.NewGroup[int, int]()
	require.NoError(t, err)
	assert.Equal(t, "7", plain.Get(7).Name())
}

// TestAllowMatchesExecute runs one script of outcomes through Execute on one
// breaker and through Allow on another, and compares them after every step.
func TestAllowMatchesExecute(t *testing.T) {
	opts := []circuit.Option{circuit.WithConsecutiveFailures(3), circuit.WithFailureRate(0.5, 4),
		circuit.WithSlowCalls(time.Second, 0.8), circuit.WithHalfOpenTrials(2), circuit.WithOpenTimeout(time.Minute),
		circuit.WithExclude(func(err error) bool { return errors.Is(err, errInvalid) })}
	var recE, recA recorder
	be, clkE := newBreaker(t, append(opts, circuit.WithOnStateChange(recE.Hook))...)
	ba, clkA := newBreaker(t, append(opts, circuit.WithOnStateChange(recA.Hook))...)

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	type step struct {
		ctx     context.Context
		err     error
		took    time.Duration
		advance time.Duration
	}
	bg := context.Background()
	script := []step{
		{bg, nil, 0, 0}, {bg, errBoom, 0, 0}, {bg, errInvalid, 0, 0}, {canceled, context.Canceled, 0, 0},
		{bg, nil, 2 * time.Second, 0}, {bg, errBoom, 0, 0}, {bg, errBoom, 0, 0}, {bg, nil, 0, 0},
		{bg, nil, 0, time.Minute}, {bg, errInvalid, 0, 0}, {bg, nil, 0, 0}, {bg, errBoom, 0, 0},
		{bg, nil, 0, time.Minute}, {bg, nil, 0, 0}, {bg, nil, 0, 0}, {bg, nil, 0, 0}, {bg, errBoom, 0, 0},
	}
	for i, s := range script {
		clkE.Advance(s.advance)
		clkA.Advance(s.advance)
		_, errE := be.Execute(s.ctx, func(context.Context) (int, error) { clkE.Advance(s.took); return 0, s.err })
		done, errA := ba.Allow(s.ctx)
		if errA == nil {
			clkA.Advance(s.took)
			done(s.err)
			done(errBoom) // a second done does nothing
			errA = s.err
		}
		assert.Equal(t, errors.Is(errE, circuit.ErrOpen), errors.Is(errA, circuit.ErrOpen), "step %d", i)
		assert.Equal(t, be.Metrics(), ba.Metrics(), "step %d", i)
	}
	assert.Equal(t, recE.Get(), recA.Get())
	assert.NotEmpty(t, recE.Get())
}
