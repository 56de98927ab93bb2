package circuit_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
)

// stuck admits n calls through b and leaves them in flight; it returns their
// done functions.
func stuck(t *testing.T, b *circuit.Breaker[int], n int) []func(error) {
	t.Helper()
	dones := make([]func(error), n)
	for i := range dones {
		done, err := b.Allow(context.Background())
		require.NoError(t, err)
		dones[i] = done
	}
	return dones
}

func TestHungCallsTrip(t *testing.T) {
	const after = 200 * time.Millisecond
	t.Run("n-1 stuck calls do not trip", func(t *testing.T) {
		b, clk := newBreaker(t, circuit.WithHungCalls(after, 3))
		stuck(t, b, 2)
		clk.Advance(time.Hour)
		assert.Equal(t, circuit.Closed, b.State())
		assert.Equal(t, 2, b.Metrics().Hung)
		require.NoError(t, calls(b, 1, succeed))
	})
	t.Run("the n-th trips when the state is read", func(t *testing.T) {
		var rec recorder
		b, clk := newBreaker(t, circuit.WithHungCalls(after, 3), circuit.WithOnStateChange(rec.Hook))
		stuck(t, b, 3)
		clk.Advance(after)
		assert.Equal(t, circuit.Closed, b.State(), "in flight for exactly after is not longer than after")
		clk.Advance(after / 4) // whole slots of after/8 are past the cut
		assert.Equal(t, circuit.Open, b.State())
		ts := rec.Get()
		require.Len(t, ts, 1)
		assert.Equal(t, "3 calls in flight for more than 200ms", ts[0].Reason)
	})
	t.Run("the n-th trips when a call is admitted", func(t *testing.T) {
		b, clk := newBreaker(t, circuit.WithHungCalls(after, 3))
		stuck(t, b, 3)
		clk.Advance(time.Second)
		called := false
		_, err := b.Execute(context.Background(), func(context.Context) (int, error) { called = true; return 1, nil })
		require.ErrorIs(t, err, circuit.ErrOpen)
		assert.False(t, called, "the arriving call is rejected, not sent to the hanging dependency")
	})
	t.Run("calls that return in time do not count", func(t *testing.T) {
		b, clk := newBreaker(t, circuit.WithHungCalls(after, 2))
		dones := stuck(t, b, 3)
		clk.Advance(after / 2)
		dones[0](nil)
		dones[1](nil)
		clk.Advance(time.Second)
		m := b.Metrics()
		assert.Equal(t, circuit.Closed, m.State)
		assert.Equal(t, 1, m.Hung)
		assert.Equal(t, 1, m.InFlight)
	})
	t.Run("stuck calls finishing after the trip do not count", func(t *testing.T) {
		b, clk := newBreaker(t, circuit.WithHungCalls(after, 2), circuit.WithOpenTimeout(time.Minute))
		dones := stuck(t, b, 2)
		clk.Advance(time.Second)
		require.Equal(t, circuit.Open, b.State())
		for _, done := range dones {
			done(errBoom)
		}
		m := b.Metrics()
		assert.Zero(t, m.Failures, "outcomes of the round before the trip are dropped")
		assert.Zero(t, m.InFlight)
		assert.Equal(t, uint64(1), m.Trips)
		clk.Advance(time.Minute)
		require.NoError(t, calls(b, 1, succeed))
		assert.Equal(t, circuit.Closed, b.State())
	})
	t.Run("a stuck half-open trial reopens", func(t *testing.T) {
		var rec recorder
		b, clk := newBreaker(t, circuit.WithHungCalls(after, 5), circuit.WithConsecutiveFailures(1),
			circuit.WithOpenTimeout(time.Minute), circuit.WithOnStateChange(rec.Hook))
		calls(b, 1, fail)
		clk.Advance(time.Minute)
		done := stuck(t, b, 1)[0]
		clk.Advance(time.Second)
		assert.Equal(t, circuit.Open, b.State(), "one trial hung is enough in half-open")
		done(nil)
		assert.Equal(t, circuit.Open, b.State(), "its late success belongs to the old round")
		ts := rec.Get()
		require.Len(t, ts, 3)
		assert.Equal(t, "trial call in flight for more than 200ms", ts[2].Reason)
	})
}

func TestHungCallsTripOnceUnderConcurrency(t *testing.T) {
	var rec recorder
	b, clk := newBreaker(t, circuit.WithHungCalls(100*time.Millisecond, 10), circuit.WithOpenTimeout(time.Hour),
		circuit.WithOnStateChange(rec.Hook))
	dones := stuck(t, b, 32)
	clk.Advance(time.Second)
	var wg sync.WaitGroup
	var admitted atomic.Int32
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.Execute(context.Background(), succeed); err == nil {
				admitted.Add(1)
			}
			_ = b.State()
		}()
	}
	wg.Wait()
	for _, done := range dones {
		done(nil)
	}
	assert.Zero(t, admitted.Load())
	assert.Equal(t, uint64(1), b.Metrics().Trips)
	assert.Len(t, rec.Get(), 1)
}

// TestHungCallsScenario is the hanging dependency in miniature, in real time:
// a client sends 200 requests/s for 2s to a server that hangs every request,
// with a 1s client timeout. It counts the requests that reach the server with
// and without WithHungCalls(100ms, 10).
func TestHungCallsScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time scenario")
	}
	reached := func(opts ...circuit.Option) int {
		var n atomic.Int32
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			select { // hang until the client gives up or the test ends
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0}}
		defer client.CloseIdleConnections()
		b := circuit.MustNew[int](append([]circuit.Option{circuit.WithCallTimeout(time.Second)}, opts...)...)
		call := func(ctx context.Context) (int, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			if err != nil {
				return 0, err
			}
			resp, err := client.Do(req)
			if err != nil {
				return 0, err
			}
			resp.Body.Close()
			return resp.StatusCode, nil
		}
		var wg sync.WaitGroup
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
			<-tick.C
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = b.Execute(context.Background(), call)
			}()
		}
		wg.Wait()
		return int(n.Load())
	}
	without := reached()
	with := reached(circuit.WithHungCalls(100*time.Millisecond, 10))
	t.Logf("requests reaching the hanging server in 2s at 200/s: %d without WithHungCalls, %d with", without, with)
	require.Greater(t, without, 100, "without the rule the pile-up lasts until the first timeouts come back")
	assert.LessOrEqual(t, with, without/4)
}

func TestHungCallsInvalid(t *testing.T) {
	_, err := circuit.New[int](circuit.WithHungCalls(-time.Second, 1))
	assert.True(t, errors.Is(err, circuit.ErrInvalidOption))
}

// With WithHungCalls the breaker reads a call's start anyway; without a
// slow-call rule the outcome counts at that start, unless the call outlived
// the tracker's ring (two after lengths, seen by its slot being reused).
func TestHungCallsOutcomeTime(t *testing.T) {
	opts := []circuit.Option{circuit.WithHungCalls(100*time.Millisecond, 100), circuit.WithWindow(10*time.Second, 10)}
	t.Run("a call within the ring counts at its start", func(t *testing.T) {
		b, clk := newBreaker(t, opts...)
		done := stuck(t, b, 1)[0]
		clk.Advance(150 * time.Millisecond)
		done(nil)
		clk.Advance(10*time.Second - 150*time.Millisecond)
		assert.Zero(t, b.Metrics().Calls, "its start's bucket has left the window")
	})
	t.Run("a call that outlived the ring counts at its end", func(t *testing.T) {
		b, clk := newBreaker(t, opts...)
		done := stuck(t, b, 1)[0]
		clk.Advance(200 * time.Millisecond) // one ring later: the next call reuses the first's slot
		stuck(t, b, 1)
		clk.Advance(9 * time.Second)
		done(nil)
		clk.Advance(time.Second)
		assert.Equal(t, 1, b.Metrics().Calls, "counted at 9.2s, still in the window at 10.2s")
	})
}
