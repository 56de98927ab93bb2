package benchmarks

import (
	"context"
	"runtime"
	"testing"

	"github.com/afex/hystrix-go/hystrix"
	"github.com/eapache/go-resiliency/breaker"
	"github.com/seed33933975/circuit"
	"github.com/sony/gobreaker/v2"
)

// The workloads that DESIGN.md's targets name and the peers have no
// counterpart of (Metrics, Allow and done, the memory of a breaker), and the
// failure path under RunParallel: an outage is when every caller fails at
// once.

// BenchmarkFailureRecordingParallel: FailureRecording from GOMAXPROCS
// goroutines sharing one breaker. Every library's loop calls through one
// func value (parallel): an indirect call, a nanosecond or two, against a
// failure path of a hundred or more.
func BenchmarkFailureRecordingParallel(b *testing.B) {
	b.Run(libCircuit, func(b *testing.B) {
		br := circuit.MustNew[int](circuit.WithConsecutiveFailures(huge), circuit.WithFailureRate(defRate, huge))
		ctx := context.Background()
		parallel(b, func() error { _, err := br.Execute(ctx, failFn); return err }, errBoom)
	})
	b.Run(libGobreaker, func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[int](gobreakerSettings(huge, huge))
		parallel(b, func() error { _, err := cb.Execute(failGet); return err }, errBoom)
	})
	b.Run(libFailsafe, func(b *testing.B) {
		ex := failsafeRate(huge)
		parallel(b, func() error { _, err := ex.Get(failGet); return err }, errBoom)
	})
	b.Run(libHystrix, func(b *testing.B) {
		parallel(b, func() error { return hystrix.Do(hyFailures, failRun, nil) }, errBoom)
	})
	b.Run(libRubyist, func(b *testing.B) {
		cb := rubyistBreaker(huge, huge)
		parallel(b, func() error { return cb.Call(failRun, 0) }, errBoom)
	})
	b.Run(libResiliency, func(b *testing.B) {
		br := breaker.New(huge, 1, defOpen)
		parallel(b, func() error { return br.Run(failRun) }, errBoom)
	})
}

// parallel runs call under RunParallel, checking one call before and after
// as the loops of loops_test.go do.
func parallel(b *testing.B, call func() error, want error) {
	check(b, call, want)
	start(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = call()
		}
	})
	b.StopTimer()
	check(b, call, want)
}

// BenchmarkMetrics: a Metrics snapshot of a breaker with default options and
// a hundred calls in its window.
func BenchmarkMetrics(b *testing.B) {
	b.Run(libCircuit, func(b *testing.B) {
		br := circuit.MustNew[int]()
		ctx := context.Background()
		for range 100 {
			_, _ = br.Execute(ctx, okFn)
		}
		start(b)
		for range b.N {
			_ = br.Metrics()
		}
	})
}

// BenchmarkAllowDone: the two-step form, Allow then done(nil), default
// options.
func BenchmarkAllowDone(b *testing.B) {
	b.Run(libCircuit, func(b *testing.B) {
		br := circuit.MustNew[int]()
		ctx := context.Background()
		start(b)
		for range b.N {
			done, err := br.Allow(ctx)
			if err != nil {
				b.Fatal(err)
			}
			done(nil)
		}
	})
}

// BenchmarkMemoryPerBreaker reports the heap bytes one breaker with default
// options takes, as the metric B/breaker.
func BenchmarkMemoryPerBreaker(b *testing.B) {
	b.Run(libCircuit, func(b *testing.B) {
		const n = 1000
		keep := make([]*circuit.Breaker[int], n)
		var before, after runtime.MemStats
		b.ReportAllocs()
		for range b.N {
			runtime.GC()
			runtime.ReadMemStats(&before)
			for j := range keep {
				keep[j] = circuit.MustNew[int]()
			}
			runtime.ReadMemStats(&after)
		}
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/breaker")
		runtime.KeepAlive(keep)
	})
}
