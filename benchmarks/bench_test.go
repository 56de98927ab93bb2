// Side-by-side benchmarks of circuit against peer circuit-breaker libraries,
// same workloads, each peer configured as close to ours as its API allows.
//
// Run all of them and print a Markdown table (median ns/op over the counts,
// B/op, allocs/op, ratio peer/ours, ratio to the machine's floor) and
// DESIGN.md's targets held against the same run, from the repository root:
//
//	go -C benchmarks run ./cmd/benchtable -count 5
//
// (BENCH_COUNT=5 does the same as -count 5; the default is 1.) Plain
// `go test -run '^$' -bench . -benchmem` in this directory runs them too.
//
// Sub-benchmark names are <Workload>/<library>; the table's ratio column
// divides each peer's ns/op by the circuit row of the same workload. The
// machine's floors (floor_test.go) are Benchmark<Floor>, with no library;
// the workloads only circuit has (Metrics, Allow and done, memory) and the
// failure path under RunParallel are in targets_test.go, the loops in
// loops_test.go.
//
// Every fn is a package-level func, so no benchmark allocates a closure of
// its own: whatever B/op and allocs/op show is the library's.
//
// This module uses no goleak: nothing of ours starts goroutines here, but
// hystrix-go starts two goroutines per call plus a metrics goroutine per
// command, and go-resiliency leaves one sleeping goroutine per trip; neither
// is a leak this module could or should assert on.
package benchmarks

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/afex/hystrix-go/hystrix"
	"github.com/cenk/backoff"
	"github.com/eapache/go-resiliency/breaker"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	rubyist "github.com/rubyist/circuitbreaker"
	"github.com/seed33933975/circuit"
	"github.com/sony/gobreaker/v2"
)

// Library names, used as sub-benchmark names; ours must stay "circuit":
// cmd/benchtable takes it as the baseline of the ratio column.
const (
	libCircuit    = "circuit"
	libGobreaker  = "gobreaker"
	libFailsafe   = "failsafe-go"
	libHystrix    = "hystrix-go"
	libRubyist    = "rubyist"
	libResiliency = "go-resiliency"
)

// huge stands for "never reached" in thresholds: no benchmark makes this many
// calls (at ≥ 1 ns/op a 1 s benchtime is at most 1e9), and it fits every
// peer's counter type (gobreaker counts in uint32).
const huge = 1 << 30

// Our defaults, spelled out so the peers can copy them: trip on 5 consecutive
// failures, or on a failure rate ≥ 50% over ≥ 20 calls in a 30 s window of
// 10 buckets; stay open 60 s; one half-open trial, which closes on success.
const (
	defConsecutive = 5
	defRate        = 0.5
	defMinCalls    = 20
	defWindow      = 30 * time.Second
	defBuckets     = 10
	defOpen        = 60 * time.Second
)

var errBoom = errors.New("boom")

// The workload functions, one per calling convention.
func okFn(context.Context) (int, error)   { return 1, nil }
func failFn(context.Context) (int, error) { return 0, errBoom }
func okGet() (int, error)                 { return 1, nil }
func failGet() (int, error)               { return 0, errBoom }
func okRun() error                        { return nil }
func failRun() error                      { return errBoom }

// Hystrix command names; hystrix-go keeps its circuits in global state, so
// each workload gets its own command, configured once in TestMain.
const (
	hyClosed      = "closed"
	hyOpen        = "open"
	hyConsecutive = "consecutive"
	hyFailures    = "failures"
)

// TestMain configures hystrix-go's global commands once. hystrix-go cannot
// turn its call timeout off (it arms a timer per call in a goroutine of its
// own), so it keeps its default 1 s, far above any call here;
// MaxConcurrentRequests is high so that RunParallel, and the goroutines that
// still hold a ticket after Do has returned, are never refused. Its rolling
// window is fixed at 10 s and it has no consecutive-failures rule: only
// "error percent ≥ threshold over ≥ volume requests".
func TestMain(m *testing.M) {
	const maxConc = 10000
	hystrix.Configure(map[string]hystrix.CommandConfig{
		// Our defaults: 50% over ≥ 20 calls, open 60 s.
		hyClosed: {
			MaxConcurrentRequests:  maxConc,
			RequestVolumeThreshold: defMinCalls,
			ErrorPercentThreshold:  int(defRate * 100),
			SleepWindow:            int(defOpen / time.Millisecond),
		},
		// Trips on the first failure, stays open an hour.
		hyOpen: {
			MaxConcurrentRequests:  maxConc,
			RequestVolumeThreshold: 1,
			ErrorPercentThreshold:  1,
			SleepWindow:            int(time.Hour / time.Millisecond),
		},
		// Nearest to "5 in a row": 100% failures over ≥ 5 requests.
		hyConsecutive: {
			MaxConcurrentRequests:  maxConc,
			RequestVolumeThreshold: defConsecutive,
			ErrorPercentThreshold:  100,
			SleepWindow:            int(defOpen / time.Millisecond),
		},
		// Records every failure, never reaches the volume to trip.
		hyFailures: {
			MaxConcurrentRequests:  maxConc,
			RequestVolumeThreshold: huge,
			ErrorPercentThreshold:  int(defRate * 100),
			SleepWindow:            int(defOpen / time.Millisecond),
		},
	})
	os.Exit(m.Run())
}

// ---------------------------------------------------------------------------
// Peer configurations, per workload.

// gobreakerSettings mirrors our defaults: a rolling 30 s window of 3 s
// buckets, ReadyToTrip on either of our two rules, 60 s open, one half-open
// request. consecutive and minCalls replace the thresholds (huge: never).
func gobreakerSettings(consecutive, minCalls uint32) gobreaker.Settings {
	return gobreaker.Settings{
		MaxRequests:  1,
		Interval:     defWindow,
		BucketPeriod: defWindow / defBuckets,
		Timeout:      defOpen,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= consecutive ||
				(c.Requests >= minCalls && float64(c.TotalFailures) >= defRate*float64(c.Requests))
		},
	}
}

// failsafeRate mirrors our failure-rate rule (failsafe-go's time-based
// thresholding uses 10 buckets, like ours); it cannot combine it with a
// consecutive-failures rule, so the rate rule alone stands for our defaults.
// The executor is built once and reused: failsafe.Get(fn, cb) would build
// one per call.
func failsafeRate(minCalls uint) failsafe.Executor[int] {
	cb := circuitbreaker.NewBuilder[int]().
		WithFailureRateThreshold(defRate, minCalls, defWindow).
		WithSuccessThreshold(1).
		WithDelay(defOpen).
		Build()
	return failsafe.With[int](cb)
}

// rubyistBreaker mirrors our defaults: a 30 s window of 10 buckets, a
// ShouldTrip that applies both of our rules (it runs only on failures), and a
// constant 60 s backoff instead of the default exponential one.
func rubyistBreaker(consecutive, minCalls int64) *rubyist.Breaker {
	cons := rubyist.ConsecutiveTripFunc(consecutive)
	rate := rubyist.RateTripFunc(defRate, minCalls)
	return rubyist.NewBreakerWithOptions(&rubyist.Options{
		BackOff:       &backoff.ConstantBackOff{Interval: defOpen},
		ShouldTrip:    func(b *rubyist.Breaker) bool { return cons(b) || rate(b) },
		WindowTime:    defWindow,
		WindowBuckets: defBuckets,
	})
}

// go-resiliency's breaker has only a consecutive-failures rule (errors with no
// error-free gap of the timeout between them), and one duration for both that
// gap and the open period: New(5, 1, 60s) is our consecutive rule and open
// timeout, one success closes it. It has no rate rule.

// ---------------------------------------------------------------------------
// Workloads.

// BenchmarkClosedSuccess: a closed breaker with default options, fn succeeds.
func BenchmarkClosedSuccess(b *testing.B) {
	b.Run(libCircuit, func(b *testing.B) {
		benchCircuit(b, circuit.MustNew[int](), okFn, nil)
	})
	b.Run(libGobreaker, func(b *testing.B) {
		benchGobreaker(b, gobreaker.NewCircuitBreaker[int](gobreakerSettings(defConsecutive, defMinCalls)), okGet, nil)
	})
	b.Run(libFailsafe, func(b *testing.B) {
		benchFailsafe(b, failsafeRate(defMinCalls), okGet, nil)
	})
	b.Run(libHystrix, func(b *testing.B) {
		benchHystrix(b, hyClosed, okRun, nil)
	})
	b.Run(libRubyist, func(b *testing.B) {
		benchRubyist(b, rubyistBreaker(defConsecutive, defMinCalls), okRun, nil)
	})
	b.Run(libResiliency, func(b *testing.B) {
		benchResiliency(b, breaker.New(defConsecutive, 1, defOpen), okRun, nil)
	})
}

// BenchmarkClosedSuccessParallel: ClosedSuccess from GOMAXPROCS goroutines
// sharing one breaker. The loops are written out per library (no shared
// closure) so that no library pays an extra indirect call.
func BenchmarkClosedSuccessParallel(b *testing.B) {
	b.Run(libCircuit, func(b *testing.B) {
		br := circuit.MustNew[int]()
		ctx := context.Background()
		check(b, func() error { _, err := br.Execute(ctx, okFn); return err }, nil)
		start(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = br.Execute(ctx, okFn)
			}
		})
	})
	b.Run(libGobreaker, func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[int](gobreakerSettings(defConsecutive, defMinCalls))
		check(b, func() error { _, err := cb.Execute(okGet); return err }, nil)
		start(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = cb.Execute(okGet)
			}
		})
	})
	b.Run(libFailsafe, func(b *testing.B) {
		ex := failsafeRate(defMinCalls)
		check(b, func() error { _, err := ex.Get(okGet); return err }, nil)
		start(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = ex.Get(okGet)
			}
		})
	})
	b.Run(libHystrix, func(b *testing.B) {
		check(b, func() error { return hystrix.Do(hyClosed, okRun, nil) }, nil)
		start(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = hystrix.Do(hyClosed, okRun, nil)
			}
		})
	})
	b.Run(libRubyist, func(b *testing.B) {
		cb := rubyistBreaker(defConsecutive, defMinCalls)
		check(b, func() error { return cb.Call(okRun, 0) }, nil)
		start(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = cb.Call(okRun, 0)
			}
		})
	})
	b.Run(libResiliency, func(b *testing.B) {
		br := breaker.New(defConsecutive, 1, defOpen)
		check(b, func() error { return br.Run(okRun) }, nil)
		start(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = br.Run(okRun)
			}
		})
	})
}

// BenchmarkOpenRejection: a breaker tripped by one failure, open for an hour;
// every call is rejected without running fn. Each is tripped by a real failure
// (not forced open), so the path measured is the ordinary Open rejection.
func BenchmarkOpenRejection(b *testing.B) {
	b.Run(libCircuit, func(b *testing.B) {
		br := circuit.MustNew[int](circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Hour))
		_, _ = br.Execute(context.Background(), failFn)
		benchCircuit(b, br, okFn, circuit.ErrOpen)
	})
	b.Run(libGobreaker, func(b *testing.B) {
		st := gobreakerSettings(1, defMinCalls)
		st.Timeout = time.Hour
		cb := gobreaker.NewCircuitBreaker[int](st)
		_, _ = cb.Execute(failGet)
		benchGobreaker(b, cb, okGet, gobreaker.ErrOpenState)
	})
	b.Run(libFailsafe, func(b *testing.B) {
		// Count-based: opens on 1 failure out of the last 1.
		cb := circuitbreaker.NewBuilder[int]().WithFailureThreshold(1).WithDelay(time.Hour).Build()
		ex := failsafe.With[int](cb)
		_, _ = ex.Get(failGet)
		benchFailsafe(b, ex, okGet, circuitbreaker.ErrOpen)
	})
	b.Run(libHystrix, func(b *testing.B) {
		tripHystrix(b, hyOpen)
		benchHystrix(b, hyOpen, okRun, hystrix.ErrCircuitOpen)
	})
	b.Run(libRubyist, func(b *testing.B) {
		cb := rubyist.NewBreakerWithOptions(&rubyist.Options{
			BackOff:    &backoff.ConstantBackOff{Interval: time.Hour},
			ShouldTrip: rubyist.ConsecutiveTripFunc(1),
		})
		_ = cb.Call(failRun, 0)
		benchRubyist(b, cb, okRun, rubyist.ErrBreakerOpen)
	})
	b.Run(libResiliency, func(b *testing.B) {
		br := breaker.New(1, 1, time.Hour) // leaves a goroutine asleep for the hour
		_ = br.Run(failRun)
		benchResiliency(b, br, okRun, breaker.ErrBreakerOpen)
	})
}

// BenchmarkConsecutiveOnly: the cheapest useful configuration, the
// consecutive-failures rule alone, on the success path. Ours counts into a
// 100-call count window with the rate rule off; each peer uses its simplest
// consecutive-failure breaker (go-resiliency's is the reference).
func BenchmarkConsecutiveOnly(b *testing.B) {
	b.Run(libCircuit, func(b *testing.B) {
		br := circuit.MustNew[int](circuit.WithCountWindow(100), circuit.WithFailureRate(0, 0),
			circuit.WithConsecutiveFailures(defConsecutive))
		benchCircuit(b, br, okFn, nil)
	})
	b.Run(libGobreaker, func(b *testing.B) {
		// Its default: no window (counts cleared only on state changes);
		// ReadyToTrip on 5 consecutive failures.
		cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{
			Timeout:     defOpen,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= defConsecutive },
		})
		benchGobreaker(b, cb, okGet, nil)
	})
	b.Run(libFailsafe, func(b *testing.B) {
		// Count-based: 5 failures out of the last 5 executions.
		cb := circuitbreaker.NewBuilder[int]().WithFailureThreshold(defConsecutive).WithDelay(defOpen).Build()
		benchFailsafe(b, failsafe.With[int](cb), okGet, nil)
	})
	b.Run(libHystrix, func(b *testing.B) {
		benchHystrix(b, hyConsecutive, okRun, nil)
	})
	b.Run(libRubyist, func(b *testing.B) {
		// NewConsecutiveBreaker(5), with a constant 60 s backoff.
		cb := rubyist.NewBreakerWithOptions(&rubyist.Options{
			BackOff:    &backoff.ConstantBackOff{Interval: defOpen},
			ShouldTrip: rubyist.ConsecutiveTripFunc(defConsecutive),
		})
		benchRubyist(b, cb, okRun, nil)
	})
	b.Run(libResiliency, func(b *testing.B) {
		benchResiliency(b, breaker.New(defConsecutive, 1, defOpen), okRun, nil)
	})
}

// BenchmarkFailureRecording: every call fails and is recorded, but the
// thresholds are out of reach so the breaker stays closed: the cost of
// counting a failure and evaluating the trip rules.
func BenchmarkFailureRecording(b *testing.B) {
	b.Run(libCircuit, func(b *testing.B) {
		// Default time window, both rules on, thresholds never reached.
		br := circuit.MustNew[int](circuit.WithConsecutiveFailures(huge), circuit.WithFailureRate(defRate, huge))
		benchCircuit(b, br, failFn, errBoom)
	})
	b.Run(libGobreaker, func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[int](gobreakerSettings(huge, huge))
		benchGobreaker(b, cb, failGet, errBoom)
	})
	b.Run(libFailsafe, func(b *testing.B) {
		benchFailsafe(b, failsafeRate(huge), failGet, errBoom)
	})
	b.Run(libHystrix, func(b *testing.B) {
		benchHystrix(b, hyFailures, failRun, errBoom)
	})
	b.Run(libRubyist, func(b *testing.B) {
		benchRubyist(b, rubyistBreaker(huge, huge), failRun, errBoom)
	})
	b.Run(libResiliency, func(b *testing.B) {
		benchResiliency(b, breaker.New(huge, 1, defOpen), failRun, errBoom)
	})
}
