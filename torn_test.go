package circuit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/internal/sharetest"
)

// The trip rules and Metrics read a window's counters one at a time while
// other goroutines record. These tests hold that such a read never shows a
// failure or slow-call rate that the window did not have: a spurious trip
// turns a healthy dependency into an outage.

var errSkip = errors.New("excluded by the test")

// In the scenario each goroutine repeats success, failure, excluded, so no
// prefix of its calls holds more failures than successes: the window's
// failure rate never exceeds 50% (for the count window, see its size below).
const (
	tornGoroutines = 12
	tornRounds     = 60 // of success, failure, excluded per goroutine and run
	tornRuns       = 250
)

// runTornScenario runs the scenario once on a fresh breaker and returns the
// transitions it made.
func runTornScenario(t *testing.T, window circuit.Option) []circuit.Transition {
	t.Helper()
	var trips sharetest.Transitions
	b, err := circuit.New[int](window,
		circuit.WithFailureRate(0.6, 3),
		circuit.WithConsecutiveFailures(0),
		circuit.WithExclude(func(err error) bool { return errors.Is(err, errSkip) }),
		circuit.WithOnStateChange(trips.Hook))
	require.NoError(t, err)
	outcomes := [3]error{nil, errors.New("boom"), errSkip}
	var start sync.WaitGroup
	start.Add(1)
	var wg sync.WaitGroup
	for range tornGoroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			for i := range 3 * tornRounds {
				_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, outcomes[i%3] })
			}
		}()
	}
	start.Done()
	wg.Wait()
	return trips.Get()
}

func TestFailureRateBelowThresholdNeverTripsUnderConcurrency(t *testing.T) {
	for name, window := range map[string]circuit.Option{
		"time window": circuit.WithWindow(time.Minute, 10),
		// Any last-100 calls hold at most 12 more failures than successes
		// (one per goroutine): a rate of at most 56%.
		"count window": circuit.WithCountWindow(100),
	} {
		t.Run(name, func(t *testing.T) {
			for run := range tornRuns {
				trips := runTornScenario(t, window)
				require.Empty(t, trips, "run %d tripped on a failure rate that never existed", run)
			}
		})
	}
}

// readWhileRecording records with 8 goroutines, each repeating its pattern,
// while a reader checks every counts read against the invariant that held at
// every instant of the window.
func readWhileRecording(t *testing.T, record func(o int, slow bool), read func() circuit.WindowCounts,
	pattern []int, holds func(circuit.WindowCounts) bool) {
	t.Helper()
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				o := pattern[i%len(pattern)]
				record(o, o == circuit.WindowFailure)
			}
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()
	for range 20_000 {
		n := read()
		if !holds(n) {
			t.Fatalf("read %+v: figures no instant of the window had", n)
		}
	}
}

// Every failure is slow, and each recorder's failures never outnumber its
// successes: at every instant failures <= successes and slow == failures.
// A read may lag (fewer failures and slow calls, more successes), never lead.
func TestWindowReadsErrTowardsNotTripping(t *testing.T) {
	pattern := []int{circuit.WindowSuccess, circuit.WindowFailure, circuit.WindowExcluded}
	reachable := func(n circuit.WindowCounts) bool {
		return n.Failures <= n.Successes && n.Slow <= n.Failures+n.Successes
	}
	t.Run("time window", func(t *testing.T) {
		w := circuit.NewTimeWindow(time.Minute, 10, time.Now())
		readWhileRecording(t, func(o int, slow bool) { w.Record(0, o, slow) },
			func() circuit.WindowCounts { return w.Counts(0) }, pattern, reachable)
	})
	t.Run("count window", func(t *testing.T) {
		// Over the last 1000 calls the 8 recorders hold at most 8 more
		// failures than successes.
		w := circuit.NewCountWindow(1000)
		readWhileRecording(t, func(o int, slow bool) { w.Record(o, slow) },
			func() circuit.WindowCounts { return w.Counts() }, pattern,
			func(n circuit.WindowCounts) bool {
				return n.Failures <= n.Successes+8 && n.Slow <= n.Failures+n.Successes
			})
	})
}

// Metrics never shows more failures than calls, nor a rate outside [0, 1],
// however it interleaves with recorders.
func TestMetricsFiguresAreConsistentUnderConcurrency(t *testing.T) {
	for name, window := range map[string]circuit.Option{
		"time window":  circuit.WithWindow(time.Minute, 10),
		"count window": circuit.WithCountWindow(64),
	} {
		t.Run(name, func(t *testing.T) {
			b, err := circuit.New[int](window, circuit.WithConsecutiveFailures(0),
				circuit.WithFailureRate(1, 1_000_000), circuit.WithSlowCalls(time.Hour, 1))
			require.NoError(t, err)
			var stop atomic.Bool
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; !stop.Load(); i++ {
						_, _ = b.Execute(context.Background(), func(context.Context) (int, error) {
							if (i+g)%2 == 0 {
								return 0, errors.New("boom")
							}
							return 0, nil
						})
					}
				}()
			}
			for range 5_000 {
				m := b.Metrics()
				assert.LessOrEqual(t, m.Failures, m.Calls)
				assert.Equal(t, m.Calls, m.Successes+m.Failures)
				assert.LessOrEqual(t, m.SlowCalls, m.Calls)
				assert.True(t, m.FailureRate >= 0 && m.FailureRate <= 1, "failure rate %v", m.FailureRate)
			}
			stop.Store(true)
			wg.Wait()
		})
	}
}
