package circuit_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
)

var errTotals = errors.New("boom")

// Each goroutine makes calls of known outcomes: i%4 == 0 fails, 1 is
// excluded, 2 and 3 succeed (2 moving the clock a second on, so that buckets
// and whole windows roll by while others record).
func hammerKnownOutcomes(t *testing.T, b *circuit.Breaker[int], clk *circuittest.Clock, goroutines, calls int) {
	t.Helper()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				_, _ = b.Execute(context.Background(), func(context.Context) (int, error) {
					switch i % 4 {
					case 0:
						return 0, errTotals
					case 1:
						return 0, errInvalid
					case 2:
						clk.Advance(time.Second)
					}
					if g == 0 && i%1000 == 999 {
						clk.Advance(time.Minute) // whole windows roll by
					}
					return 1, nil
				})
			}
		}()
	}
	wg.Wait()
}

func TestTotalsAreExactUnderConcurrency(t *testing.T) {
	const goroutines, calls = 64, 10_000
	for name, window := range map[string]circuit.Option{
		"time window":  circuit.WithWindow(10*time.Second, 10),
		"count window": circuit.WithCountWindow(100),
	} {
		t.Run(name, func(t *testing.T) {
			clk := circuittest.NewClock(time.Unix(0, 0))
			b, err := circuit.New[int](window, circuit.WithClock(clk), circuit.WithConsecutiveFailures(0),
				circuit.WithFailureRate(1, 1_000_000),
				circuit.WithExclude(func(err error) bool { return errors.Is(err, errInvalid) }))
			require.NoError(t, err)
			var last circuit.Totals
			done := make(chan struct{})
			go func() { // a scraper: totals never fall
				defer close(done)
				for range 2000 {
					tot := b.Metrics().Totals
					assert.GreaterOrEqual(t, tot.Successes, last.Successes)
					assert.GreaterOrEqual(t, tot.Failures, last.Failures)
					last = tot
				}
			}()
			hammerKnownOutcomes(t, b, clk, goroutines, calls)
			<-done
			n := uint64(goroutines * calls / 4)
			assert.Equal(t, circuit.Totals{Successes: 2 * n, Failures: n, Excluded: n}, b.Metrics().Totals)
		})
	}
}

func TestTotalsOutliveResetsAndTrips(t *testing.T) {
	clk := circuittest.NewClock(time.Unix(0, 0))
	b := circuit.MustNew[int](circuit.WithClock(clk), circuit.WithConsecutiveFailures(2), circuit.WithOpenTimeout(time.Second))
	fail := func(context.Context) (int, error) { return 0, errTotals }
	ok := func(context.Context) (int, error) { return 1, nil }
	_, _ = b.Execute(context.Background(), ok)
	_, _ = b.Execute(context.Background(), fail)
	_, _ = b.Execute(context.Background(), fail) // trips
	_, _ = b.Execute(context.Background(), ok)   // rejected: not a call
	clk.Advance(time.Second)
	_, _ = b.Execute(context.Background(), ok) // the trial closes it, emptying the window
	b.Reset()
	_, _ = b.Execute(context.Background(), ok)
	m := b.Metrics()
	assert.Equal(t, circuit.Totals{Successes: 3, Failures: 2}, m.Totals)
	assert.Equal(t, 1, m.Calls, "the window holds only what came after the reset")
	assert.Equal(t, uint64(1), m.Rejected)
}

func TestTotalsKeepWhatAnIdleWindowNoLongerShows(t *testing.T) {
	// Past the window, then past the whole ring; each on a breaker read for
	// the first time then, so that no total shown before can stand in.
	for _, idle := range []time.Duration{5 * time.Second, 15 * time.Second, time.Hour} {
		clk := circuittest.NewClock(time.Unix(0, 0))
		b := circuit.MustNew[int](circuit.WithClock(clk), circuit.WithWindow(10*time.Second, 10))
		for range 3 {
			_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 1, nil })
		}
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errTotals })
		clk.Advance(idle)
		m := b.Metrics()
		assert.Equal(t, circuit.Totals{Successes: 3, Failures: 1}, m.Totals, "after %v idle", idle)
		if idle > 10*time.Second {
			assert.Zero(t, m.Calls, "the window has emptied")
		}
	}
}
