package circuit_test

// Hammer and stress tests: many goroutines against one breaker, meant for
// -race. Time is a fake clock that a controller goroutine moves while the
// workers call, so every test is about interleavings, not about sleeping.
// Each test states the invariant it holds:
//
//   - no outcome is lost: in Closed and Disabled the window's counts equal
//     the calls performed;
//   - half-open admits at most `trials` calls per round, concurrent or in
//     total, and no call reaches fn while Open before the timeout;
//   - OnStateChange runs exactly once per change, in order;
//   - the bulkhead never lets more than its cap in flight;
//   - many goroutines failing at once trip the breaker exactly once.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
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

const hmWorkers = 64

var (
	hmStart       = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	hmErrFail     = errors.New("hammer: dependency failed")
	hmErrExcluded = errors.New("hammer: excluded")
)

func hmExclude(err error) bool { return errors.Is(err, hmErrExcluded) }

// hmRecorder collects transitions; check, if set, runs inside the hook.
type hmRecorder struct {
	sharetest.Transitions
	check func(circuit.Transition)
}

func (r *hmRecorder) Hook(t circuit.Transition) {
	if r.check != nil {
		r.check(t)
	}
	r.Transitions.Hook(t)
}

// hmChain checks that ts is one unbroken sequence of changes from Closed:
// each From is the previous To and no transition repeats a state. A change
// reported twice, or not at all, breaks the chain.
func hmChain(t *testing.T, ts []circuit.Transition) {
	t.Helper()
	prev := circuit.Closed
	for i, tr := range ts {
		if !assert.Equal(t, prev, tr.From, "transition %d (%v→%v %q) does not start where the last ended", i, tr.From, tr.To, tr.Reason) ||
			!assert.NotEqual(t, tr.From, tr.To, "transition %d reports no change", i) {
			return
		}
		prev = tr.To
	}
}

func hmCountTo(ts []circuit.Transition, to circuit.State) (n uint64) {
	for _, tr := range ts {
		if tr.To == to {
			n++
		}
	}
	return n
}

// hmRun starts n workers running fn(worker index) and returns a wait
// function.
func hmRun(n int, fn func(i int)) (wait func()) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i)
		}()
	}
	return wg.Wait
}

// hmDriveClock advances clk by step until stop is called or it has moved
// limit in all, yielding between steps, and returns stop.
func hmDriveClock(clk *circuittest.Clock, step, limit time.Duration) (stop func()) {
	var done atomic.Bool
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for moved := time.Duration(0); !done.Load(); runtime.Gosched() {
			if moved < limit {
				clk.Advance(step)
				moved += step
			}
		}
	}()
	return func() {
		done.Store(true)
		<-finished
	}
}

// hmWaitFor polls cond until it holds; it fails the test after 20s.
func hmWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// Open bugs the hammer tests found. While a bug is open its test logs what it
// saw and skips; set the constant to false when the core is fixed, and the
// test holds the fix in place.
const (
	// An outcome that passes complete's generation check just before a close
	// (or a Reset) and records just after it lands in the new round's empty
	// window and failure streak: a late half-open trial shows up as a call in
	// the fresh Closed window, and a late failure leaves ConsecutiveFailures
	// at 1, so that the next failure trips a WithConsecutiveFailures(2)
	// breaker.
	hmBugLateOutcomeLeaks = false
	// Rule 6 under concurrency: a goroutine that causes a change while another
	// goroutine is running the hook hands its transition to that goroutine
	// and returns before the hook has seen it.
	hmBugHookHandOver = false
)

func hmCalls(short, long int) int {
	if testing.Short() {
		return short
	}
	return long
}

// TestHammerNoLostOutcomes: with 64 goroutines calling at once and the clock
// moving under them, every outcome performed in Closed or Disabled is in the
// window (rule 11: no outcome is lost under contention).
func TestHammerNoLostOutcomes(t *testing.T) {
	perWorker := hmCalls(50, 300)
	for _, disabled := range []bool{false, true} {
		for _, count := range []bool{false, true} {
			for _, allow := range []bool{false, true} {
				name := fmt.Sprintf("disabled=%v/countWindow=%v/allow=%v", disabled, count, allow)
				t.Run(name, func(t *testing.T) {
					clk := circuittest.NewClock(hmStart)
					opts := []circuit.Option{circuit.WithClock(clk), circuit.WithExclude(hmExclude)}
					if count {
						opts = append(opts, circuit.WithCountWindow(1<<20))
					} else {
						opts = append(opts, circuit.WithWindow(time.Hour, 60))
					}
					if !disabled {
						// Rules that cannot fire, so that the breaker stays Closed.
						opts = append(opts, circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(1, math.MaxInt32))
					}
					b, err := circuit.New[int](opts...)
					require.NoError(t, err)
					if disabled {
						b.Disable()
					}
					var successes, failures, excluded atomic.Int64
					stop := hmDriveClock(clk, 10*time.Millisecond, 30*time.Minute)
					hmRun(hmWorkers, func(w int) {
						rng := rand.New(rand.NewPCG(uint64(w), 1))
						canceled, cancel := context.WithCancel(context.Background())
						cancel()
						for i := 0; i < perWorker; i++ {
							ctx, err := context.Background(), error(nil)
							switch rng.IntN(4) {
							case 0:
								successes.Add(1)
							case 1:
								failures.Add(1)
								err = hmErrFail
							case 2:
								excluded.Add(1)
								err = fmt.Errorf("bad request: %w", hmErrExcluded)
							case 3:
								excluded.Add(1) // the caller gave up: ignored, counted as excluded
								ctx = canceled
							}
							if allow {
								done, aerr := b.Allow(ctx)
								if !assert.NoError(t, aerr) {
									return
								}
								done(err)
								done(hmErrFail) // only the first done counts
								continue
							}
							_, eerr := b.Execute(ctx, func(context.Context) (int, error) { return 1, err })
							if !assert.Equal(t, err, eerr) {
								return
							}
						}
					})()
					stop()
					m := b.Metrics()
					want := circuit.Closed
					if disabled {
						want = circuit.Disabled
					}
					assert.Equal(t, want, m.State)
					assert.Equal(t, int(successes.Load()), m.Successes, "successes")
					assert.Equal(t, int(failures.Load()), m.Failures, "failures")
					assert.Equal(t, int(excluded.Load()), m.Excluded, "excluded")
					assert.Equal(t, hmWorkers*perWorker, m.Calls+m.Excluded, "every call performed is counted")
					assert.Zero(t, m.Trips)
					assert.Zero(t, m.Rejected)
				})
			}
		}
	}
}

// TestHammerCountWindowWraps: when the ring of the count window wraps many
// times under contention, it holds exactly its size once the recorders are
// done.
func TestHammerCountWindowWraps(t *testing.T) {
	for _, size := range []int{1, 7, 64, 1000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			b := circuit.MustNew[int](circuit.WithCountWindow(size), circuit.WithSlowCalls(time.Hour, 1))
			b.Disable()
			perWorker := hmCalls(50, 200)
			var slowCalls atomic.Int64
			hmRun(hmWorkers, func(w int) {
				for i := 0; i < perWorker; i++ {
					err := error(nil)
					if (w+i)%3 == 0 {
						err = hmErrFail
					}
					b.Execute(context.Background(), func(context.Context) (int, error) { return 0, err })
				}
			})()
			m := b.Metrics()
			assert.Equal(t, size, m.Calls)
			assert.Equal(t, size, m.Successes+m.Failures)
			assert.Zero(t, m.SlowCalls)
			assert.Zero(t, slowCalls.Load())

			// All failures now: the whole ring turns over to failures.
			hmRun(hmWorkers, func(int) {
				for i := 0; i < perWorker; i++ {
					b.Execute(context.Background(), func(context.Context) (int, error) { return 0, hmErrFail })
				}
			})()
			m = b.Metrics()
			assert.Equal(t, size, m.Calls)
			assert.Equal(t, size, m.Failures)
			assert.Equal(t, 1.0, m.FailureRate)
		})
	}
}

// TestHammerHalfOpenRounds drives a breaker through many open and half-open
// rounds with 64 callers at each step:
//   - while Open, before the timeout, no call reaches fn and every caller
//     gets ErrOpen with a RetryAfter inside the open period;
//   - in a half-open round exactly `trials` calls are admitted, the rest get
//     ErrTooManyRequests, and no more are admitted in that round even after
//     some trials have succeeded;
//   - each round ends with exactly one transition out of HalfOpen, and a
//     close leaves an empty window and no failure streak.
func TestHammerHalfOpenRounds(t *testing.T) {
	rounds := hmCalls(5, 60)
	for _, tc := range []struct{ trials, successes int }{{1, 1}, {3, 3}, {3, 1}, {5, 2}, {8, 8}} {
		t.Run(fmt.Sprintf("trials=%d/successes=%d", tc.trials, tc.successes), func(t *testing.T) {
			hmHalfOpenRounds(t, tc.trials, tc.successes, rounds)
		})
	}
}

func hmHalfOpenRounds(t *testing.T, trials, successes, rounds int) {
	const timeout = time.Second
	clk := circuittest.NewClock(hmStart)
	var rec hmRecorder
	b := circuit.MustNew[int](circuit.WithClock(clk), circuit.WithConsecutiveFailures(1), circuit.WithFailureRate(0, 0),
		circuit.WithOpenTimeout(timeout), circuit.WithHalfOpenTrials(trials), circuit.WithSuccessThreshold(successes),
		circuit.WithOnStateChange(rec.Hook))
	fail := func(context.Context) (int, error) { return 0, hmErrFail }
	rng := rand.New(rand.NewPCG(uint64(trials), uint64(successes)))

	for round := 0; round < rounds; round++ {
		if b.State() == circuit.Closed {
			_, err := b.Execute(context.Background(), fail)
			require.ErrorIs(t, err, hmErrFail)
		}
		require.Equal(t, circuit.Open, b.State(), "round %d: a failure trips WithConsecutiveFailures(1)", round)
		ts := rec.Get()
		require.NotEmpty(t, ts)
		require.Equal(t, circuit.Open, ts[len(ts)-1].To)
		until := ts[len(ts)-1].At.Add(timeout)

		// Open: the controller walks the clock up to 1ns before the end while
		// the workers hammer.
		var reached atomic.Int64
		var stop atomic.Bool
		wait := hmRun(hmWorkers, func(int) {
			for !stop.Load() {
				_, err := b.Execute(context.Background(), func(context.Context) (int, error) {
					reached.Add(1)
					return 1, nil
				})
				if !assert.ErrorIs(t, err, circuit.ErrOpen) {
					return
				}
				d, ok := circuit.RetryAfter(err)
				if !assert.True(t, ok) || !assert.True(t, d > 0 && d <= timeout, "RetryAfter %v outside (0, %v]", d, timeout) {
					return
				}
				runtime.Gosched() // leave the controller a share of the CPUs
			}
		})
		last := until.Add(-1)
		for i := 10; i > 0; i-- {
			clk.Advance(last.Sub(clk.Now()) / time.Duration(i))
			require.Equal(t, circuit.Open, b.State())
			runtime.Gosched()
		}
		require.Equal(t, last, clk.Now())
		time.Sleep(time.Millisecond) // let the workers hammer the last nanosecond
		stop.Store(true)
		wait()
		require.Zero(t, reached.Load(), "a call reached fn while Open, before the timeout")

		// Half-open: 64 callers at once; the trials block until released.
		clk.Advance(1)
		if rng.IntN(2) == 0 {
			require.Equal(t, circuit.HalfOpen, b.State()) // else the callers notice the timeout
		}
		gates := make([]chan error, trials)
		for i := range gates {
			gates[i] = make(chan error, 1)
		}
		var entered, inFn, maxInFn, tooMany, finished atomic.Int64
		trial := func(context.Context) (int, error) {
			// In fn before it counts as entered, so that a controller that
			// sees it entered sees it in fn.
			n := inFn.Add(1)
			defer inFn.Add(-1)
			for m := maxInFn.Load(); n > m && !maxInFn.CompareAndSwap(m, n); m = maxInFn.Load() {
			}
			i := entered.Add(1) - 1
			if i >= int64(trials) {
				return 0, fmt.Errorf("hammer: trial %d admitted in a round of %d", i+1, trials)
			}
			return 0, <-gates[i]
		}
		call := func(int) {
			_, err := b.Execute(context.Background(), trial)
			if errors.Is(err, circuit.ErrTooManyRequests) {
				tooMany.Add(1)
				return
			}
			finished.Add(1)
		}
		waitTrials := hmRun(hmWorkers, call)
		hmWaitFor(t, "every caller is admitted or rejected", func() bool { return entered.Load()+tooMany.Load() == hmWorkers })
		require.Equal(t, int64(trials), entered.Load(), "admitted in one round")
		require.Equal(t, int64(hmWorkers-trials), tooMany.Load())
		require.Equal(t, int64(trials), maxInFn.Load())

		// A second wave while the trials are in flight: nobody gets in.
		hmRun(hmWorkers, call)()
		require.Equal(t, int64(trials), entered.Load())
		require.Equal(t, int64(2*hmWorkers-trials), tooMany.Load())

		before := len(rec.Get())
		closes := rng.IntN(3) != 0
		if successes == trials {
			// All but the last succeed one by one: still half-open, still full.
			for i := 0; i < trials-1; i++ {
				gates[i] <- nil
				hmWaitFor(t, "the trial returns", func() bool { return finished.Load() == int64(i+1) })
				require.Equal(t, circuit.HalfOpen, b.State())
				hmRun(hmWorkers, call)()
				require.Equal(t, int64(trials), entered.Load(), "admitted in one round, after %d successes", i+1)
			}
			if closes {
				gates[trials-1] <- nil
			} else {
				gates[trials-1] <- hmErrFail
			}
		} else {
			// Fewer successes close it: release every trial at once, failures
			// mixed in, and let them race.
			for i := range gates {
				if !closes && rng.IntN(2) == 0 {
					gates[i] <- hmErrFail
				} else {
					gates[i] <- nil
				}
			}
		}
		waitTrials()

		ts = rec.Get()[before:]
		out := 0
		for _, tr := range ts {
			if tr.From == circuit.HalfOpen {
				out++
			}
		}
		require.Equal(t, 1, out, "transitions out of half-open in one round: %v", ts)
		m := b.Metrics()
		switch m.State {
		case circuit.Closed:
			if hmBugLateOutcomeLeaks && (m.Calls != 0 || m.ConsecutiveFailures != 0) {
				t.Logf("round %d: open bug hmBugLateOutcomeLeaks: %d calls, streak %d after the close", round, m.Calls, m.ConsecutiveFailures)
				b.Reset() // start the next round clean
				break
			}
			assert.Zero(t, m.Calls, "a close empties the window; late trials of the round are dropped")
			assert.Zero(t, m.ConsecutiveFailures, "a close clears the failure streak")
		case circuit.Open:
			if successes == trials {
				require.False(t, closes)
			}
		default:
			t.Fatalf("state %v after the round", m.State)
		}
	}
	ts := rec.Get()
	hmChain(t, ts)
	assert.Equal(t, hmCountTo(ts, circuit.Open), b.Metrics().Trips)
}

// TestStressCloseLeavesEmptyWindow: trials that race with the one that
// closes the breaker belong to the round that ended; none may be counted in
// the new round (rule 4: a close leaves an empty window; the architecture's
// generation check: late outcomes "are dropped, not miscounted").
func TestStressCloseLeavesEmptyWindow(t *testing.T) {
	const trials = 8
	clk := circuittest.NewClock(hmStart)
	b := circuit.MustNew[int](circuit.WithClock(clk), circuit.WithConsecutiveFailures(2),
		circuit.WithOpenTimeout(time.Second), circuit.WithHalfOpenTrials(trials), circuit.WithSuccessThreshold(1))
	fail := func(context.Context) (int, error) { return 0, hmErrFail }
	iterations := hmCalls(50, 500)
	leaks, streaks, first := 0, 0, ""
	for it := 0; it < iterations; it++ {
		b.Reset()
		b.Execute(context.Background(), fail)
		b.Execute(context.Background(), fail)
		require.Equal(t, circuit.Open, b.State())
		clk.Advance(time.Second)
		gate := make(chan struct{})
		var entered atomic.Int64
		wait := hmRun(trials, func(w int) {
			b.Execute(context.Background(), func(context.Context) (int, error) {
				entered.Add(1)
				<-gate
				if w == 0 {
					return 1, nil // the one success closes it
				}
				return 0, hmErrFail // its racing failures belong to the round that ended
			})
		})
		hmWaitFor(t, "every trial is admitted", func() bool { return entered.Load() == trials })
		close(gate)
		wait()
		if m := b.Metrics(); m.State == circuit.Closed && (m.Calls != 0 || m.ConsecutiveFailures != 0) {
			leaks++
			if m.ConsecutiveFailures != 0 {
				streaks++
			}
			if first == "" {
				first = fmt.Sprintf("iteration %d: %d calls (%d failures), streak %d", it, m.Calls, m.Failures, m.ConsecutiveFailures)
			}
			if !hmBugLateOutcomeLeaks {
				t.Fatalf("iteration %d: after the close the window holds %d calls (%d failures), streak %d",
					it, m.Calls, m.Failures, m.ConsecutiveFailures)
			}
		}
	}
	if leaks > 0 {
		t.Skipf("open bug hmBugLateOutcomeLeaks: in %d of %d closes a racing trial was counted in the new round "+
			"(%d left a failure streak); first: %s", leaks, iterations, streaks, first)
	}
}

// TestHammerHalfOpenConcurrency: excluded trials give their permits back, so
// a round can go on for ever; the calls in fn at once never exceed trials.
func TestHammerHalfOpenConcurrency(t *testing.T) {
	for _, trials := range []int{1, 2, 5} {
		t.Run(fmt.Sprint(trials), func(t *testing.T) {
			clk := circuittest.NewClock(hmStart)
			b := circuit.MustNew[int](circuit.WithClock(clk), circuit.WithConsecutiveFailures(1),
				circuit.WithOpenTimeout(time.Second), circuit.WithHalfOpenTrials(trials), circuit.WithExclude(hmExclude))
			b.Execute(context.Background(), func(context.Context) (int, error) { return 0, hmErrFail })
			clk.Advance(time.Second)
			require.Equal(t, circuit.HalfOpen, b.State())

			var inFn, maxInFn, admitted, rejected atomic.Int64
			perWorker := hmCalls(50, 300)
			canceled, cancel := context.WithCancel(context.Background())
			cancel()
			hmRun(hmWorkers, func(w int) {
				for i := 0; i < perWorker; i++ {
					ctx := context.Background()
					if (w+i)%5 == 0 {
						ctx = canceled // an ignored trial gives its permit back too
					}
					_, err := b.Execute(ctx, func(context.Context) (int, error) {
						n := inFn.Add(1)
						for m := maxInFn.Load(); n > m && !maxInFn.CompareAndSwap(m, n); m = maxInFn.Load() {
						}
						admitted.Add(1)
						runtime.Gosched()
						inFn.Add(-1)
						return 0, hmErrExcluded
					})
					if errors.Is(err, circuit.ErrTooManyRequests) {
						rejected.Add(1)
					} else if !assert.ErrorIs(t, err, hmErrExcluded) {
						return
					}
				}
			})()
			assert.LessOrEqual(t, maxInFn.Load(), int64(trials), "trial calls in flight at once")
			assert.Positive(t, admitted.Load())
			assert.Equal(t, int64(hmWorkers*perWorker), admitted.Load()+rejected.Load())
			m := b.Metrics()
			assert.Equal(t, circuit.HalfOpen, m.State, "excluded trials never move the state")
			assert.Equal(t, uint64(rejected.Load()), m.Rejected)
			assert.Equal(t, uint64(1), m.Trips)
		})
	}
}

// TestHammerTransitionsExactlyOnce: workers make random calls, a controller
// moves the clock and forces states, and the hook (which reads State and
// Metrics, as rule 6 allows) must see every change once, in order.
func TestHammerTransitionsExactlyOnce(t *testing.T) {
	for _, count := range []bool{false, true} {
		t.Run(fmt.Sprintf("countWindow=%v", count), func(t *testing.T) {
			clk := circuittest.NewClock(hmStart)
			var b *circuit.Breaker[int]
			var hookRuns atomic.Int64
			rec := &hmRecorder{check: func(circuit.Transition) {
				hookRuns.Add(1)
				_ = b.State()
				_ = b.Metrics()
			}}
			window := circuit.WithWindow(time.Second, 10)
			if count {
				window = circuit.WithCountWindow(20)
			}
			b = circuit.MustNew[int](circuit.WithClock(clk), window, circuit.WithConsecutiveFailures(3),
				circuit.WithFailureRate(0.5, 10), circuit.WithSlowCalls(50*time.Millisecond, 0.8),
				circuit.WithOpenTimeout(100*time.Millisecond), circuit.WithHalfOpenTrials(2),
				circuit.WithExclude(hmExclude), circuit.WithOnStateChange(rec.Hook))
			perWorker := hmCalls(100, 400)
			var done atomic.Bool
			controller := make(chan struct{})
			go func() {
				defer close(controller)
				rng := rand.New(rand.NewPCG(7, 7))
				for !done.Load() {
					switch rng.IntN(200) {
					case 0:
						b.ForceOpen()
					case 1:
						b.Disable()
					case 2, 3, 4:
						b.Reset()
					default:
						clk.Advance(time.Duration(rng.Int64N(int64(20 * time.Millisecond))))
					}
					runtime.Gosched()
				}
			}()
			hmRun(hmWorkers, func(w int) {
				rng := rand.New(rand.NewPCG(uint64(w), 2))
				for i := 0; i < perWorker; i++ {
					var err error
					switch rng.IntN(10) {
					case 0, 1, 2, 3:
						err = hmErrFail
					case 4:
						err = hmErrExcluded
					}
					slow := rng.IntN(20) == 0
					if rng.IntN(4) == 0 {
						done, aerr := b.Allow(context.Background())
						if aerr == nil {
							if slow {
								clk.Advance(50 * time.Millisecond)
							}
							done(err)
						}
						continue
					}
					b.Execute(context.Background(), func(context.Context) (int, error) {
						if slow {
							clk.Advance(50 * time.Millisecond)
						}
						return 0, err
					})
					if i%50 == 0 {
						_ = b.State()
					}
				}
			})()
			done.Store(true)
			<-controller
			_ = b.State()
			ts := rec.Get()
			require.NotEmpty(t, ts)
			hmChain(t, ts)
			assert.Equal(t, int64(len(ts)), hookRuns.Load())
			assert.Equal(t, hmCountTo(ts, circuit.Open), b.Metrics().Trips, "one transition into Open per trip")
			assert.Equal(t, ts[len(ts)-1].To, circuit.Peek(b).State, "the last transition reported is the state")
			t.Logf("%d transitions, %d trips", len(ts), b.Metrics().Trips)
		})
	}
}

// TestHammerHookReturnsBeforeCaller: rule 6 says the hook "has returned
// before the call that caused the change returns". Here one goroutine's hook
// is still running (slowly) when another goroutine causes the next change.
func TestHammerHookReturnsBeforeCaller(t *testing.T) {
	inHook := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	rec := &hmRecorder{check: func(tr circuit.Transition) {
		if tr.To == circuit.Open {
			once.Do(func() { close(inHook) })
			select { // a hook that waits for the other caller, but not for ever
			case <-release:
			case <-time.After(200 * time.Millisecond):
			}
		}
	}}
	b := circuit.MustNew[int](circuit.WithConsecutiveFailures(1), circuit.WithOnStateChange(rec.Hook))
	tripped := make(chan struct{})
	go func() {
		defer close(tripped)
		b.Execute(context.Background(), func(context.Context) (int, error) { return 0, hmErrFail })
	}()
	select {
	case <-inHook:
	case <-tripped:
		t.Fatal("a failure did not trip WithConsecutiveFailures(1)")
	}
	b.ForceOpen()
	ts := rec.Get()
	close(release)
	<-tripped
	if hmBugHookHandOver && (len(ts) == 0 || ts[len(ts)-1].To != circuit.ForcedOpen) {
		t.Skipf("open bug hmBugHookHandOver: ForceOpen returned before its transition was delivered (delivered so far: %v)", ts)
	}
	require.NotEmpty(t, ts, "ForceOpen returned before its transition was delivered")
	assert.Equal(t, []circuit.State{circuit.Open, circuit.ForcedOpen}, []circuit.State{ts[len(ts)-1].From, ts[len(ts)-1].To})
}

// TestHammerBulkhead: the calls in flight never exceed the cap, whether
// callers wait or not, and every rejection is counted.
func TestHammerBulkhead(t *testing.T) {
	for _, tc := range []struct {
		max  int
		wait time.Duration
	}{{1, 0}, {4, 0}, {4, time.Millisecond}, {8, 50 * time.Millisecond}} {
		t.Run(fmt.Sprintf("max=%d/wait=%v", tc.max, tc.wait), func(t *testing.T) {
			b := circuit.MustNew[int](circuit.WithBulkhead(tc.max, tc.wait), circuit.WithConsecutiveFailures(0),
				circuit.WithFailureRate(1, math.MaxInt32))
			var inFn, maxInFn, admitted, full atomic.Int64
			enter := func() {
				n := inFn.Add(1)
				for m := maxInFn.Load(); n > m && !maxInFn.CompareAndSwap(m, n); m = maxInFn.Load() {
				}
				admitted.Add(1)
				runtime.Gosched()
				inFn.Add(-1)
			}
			var stop atomic.Bool
			sampler := make(chan int)
			go func() { // the figures a monitor would read meanwhile
				most := 0
				for !stop.Load() {
					most = max(most, b.Metrics().InFlight)
					runtime.Gosched()
				}
				sampler <- most
			}()
			perWorker := hmCalls(50, 200)
			hmRun(hmWorkers, func(w int) {
				for i := 0; i < perWorker; i++ {
					ctx, cancel := context.Background(), context.CancelFunc(func() {})
					if i%7 == 0 {
						ctx, cancel = context.WithTimeout(ctx, time.Duration(i%3)*time.Millisecond)
					}
					var err error
					if (w+i)%2 == 0 {
						var done func(error)
						if done, err = b.Allow(ctx); err == nil {
							enter()
							done(nil)
						}
					} else {
						_, err = b.Execute(ctx, func(context.Context) (int, error) {
							enter()
							return 1, nil
						})
					}
					cancel()
					if err != nil {
						if !assert.ErrorIs(t, err, circuit.ErrBulkheadFull) {
							return
						}
						full.Add(1)
					}
				}
			})()
			stop.Store(true)
			assert.LessOrEqual(t, <-sampler, tc.max, "Metrics().InFlight")
			assert.LessOrEqual(t, maxInFn.Load(), int64(tc.max), "calls in flight at once")
			assert.Equal(t, int64(hmWorkers*perWorker), admitted.Load()+full.Load())
			m := b.Metrics()
			assert.Equal(t, uint64(full.Load()), m.Rejected, "every bulkhead rejection is counted")
			assert.Zero(t, m.InFlight)
			// Calls whose caller's deadline had passed count as failures; the
			// rejections are not outcomes at all.
			assert.Equal(t, int(admitted.Load()), m.Calls, "bulkhead rejections are not outcomes")
			assert.Equal(t, circuit.Closed, m.State)
		})
	}
}

// TestStressTripOnce: 64 goroutines fail at once. Whatever rule fires, the
// breaker trips exactly once (Trips == 1), the hook sees Closed→Open once,
// and every call either ran and failed or was rejected with ErrOpen.
func TestStressTripOnce(t *testing.T) {
	iterations := hmCalls(5, 40)
	for _, tc := range []struct {
		name string
		opts []circuit.Option
		slow bool
	}{
		{"consecutive failures", []circuit.Option{circuit.WithConsecutiveFailures(5)}, false},
		{"consecutive failures, count window", []circuit.Option{circuit.WithConsecutiveFailures(5), circuit.WithCountWindow(10)}, false},
		{"failure rate", []circuit.Option{circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0.5, 10)}, false},
		{"failure rate, count window", []circuit.Option{circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0.5, 10), circuit.WithCountWindow(20)}, false},
		{"slow calls", []circuit.Option{circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0, 10), circuit.WithSlowCalls(10*time.Millisecond, 0.5)}, true},
		{"every rule at once", []circuit.Option{circuit.WithConsecutiveFailures(1), circuit.WithFailureRate(0.1, 1), circuit.WithSlowCalls(time.Millisecond, 0.1)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for it := 0; it < iterations; it++ {
				clk := circuittest.NewClock(hmStart)
				var rec hmRecorder
				b := circuit.MustNew[int](append([]circuit.Option{circuit.WithClock(clk), circuit.WithOpenTimeout(time.Hour),
					circuit.WithOnStateChange(rec.Hook)}, tc.opts...)...)
				start := make(chan struct{})
				var ran, rejected atomic.Int64
				wait := hmRun(hmWorkers, func(w int) {
					<-start
					for i := 0; i < 1+w%4; i++ {
						_, err := b.Execute(context.Background(), func(context.Context) (int, error) {
							ran.Add(1)
							if tc.slow {
								clk.Advance(10 * time.Millisecond)
								return 1, nil
							}
							return 0, hmErrFail
						})
						switch {
						case errors.Is(err, circuit.ErrOpen):
							rejected.Add(1)
						case tc.slow:
							assert.NoError(t, err)
						default:
							assert.ErrorIs(t, err, hmErrFail)
						}
					}
				})
				close(start)
				wait()
				ts := rec.Get()
				m := b.Metrics()
				require.Equal(t, uint64(1), m.Trips, "iteration %d: trips", it)
				require.Len(t, ts, 1, "iteration %d: transitions %v", it, ts)
				require.Equal(t, []circuit.State{circuit.Closed, circuit.Open}, []circuit.State{ts[0].From, ts[0].To})
				require.Equal(t, circuit.Open, m.State)
				require.Equal(t, uint64(rejected.Load()), m.Rejected)
				total := int64(0)
				for w := 0; w < hmWorkers; w++ {
					total += int64(1 + w%4)
				}
				require.Equal(t, total, ran.Load()+rejected.Load())
			}
		})
	}
}
