package circuit_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/internal/floor"
)

// Run with: go test -run '^$' -bench . -benchmem -count 5 .
// The peers' figures for the same workloads: benchmarks/ (see README).

func benchOK(context.Context) (int, error)   { return 1, nil }
func benchFail(context.Context) (int, error) { return 0, errBoom }

func benchClosed(b *testing.B, opts ...circuit.Option) {
	br := circuit.MustNew[int](opts...)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = br.Execute(ctx, benchOK)
	}
}

func BenchmarkClosedSuccess(b *testing.B) { benchClosed(b) }

func BenchmarkClosedSuccessCountWindow(b *testing.B) {
	benchClosed(b, circuit.WithCountWindow(100))
}

func BenchmarkClosedSuccessConsecutiveOnly(b *testing.B) {
	benchClosed(b, circuit.WithCountWindow(100), circuit.WithFailureRate(0, 0), circuit.WithConsecutiveFailures(5))
}

func BenchmarkClosedSuccessBulkhead(b *testing.B) {
	benchClosed(b, circuit.WithBulkhead(64, 0))
}

func BenchmarkClosedSuccessHungCalls(b *testing.B) {
	benchClosed(b, circuit.WithHungCalls(time.Second, 10))
}

func BenchmarkClosedSuccessParallel(b *testing.B) {
	br := circuit.MustNew[int]()
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = br.Execute(ctx, benchOK)
		}
	})
}

func BenchmarkOpenRejection(b *testing.B) {
	br := circuit.MustNew[int](circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Hour))
	ctx := context.Background()
	_, _ = br.Execute(ctx, benchFail)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := br.Execute(ctx, benchOK); err == nil {
			b.Fatal("admitted while open")
		}
	}
}

func BenchmarkOpenRejectionParallel(b *testing.B) {
	br := circuit.MustNew[int](circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Hour))
	ctx := context.Background()
	_, _ = br.Execute(ctx, benchFail)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = br.Execute(ctx, benchOK)
		}
	})
}

func BenchmarkHalfOpenRejection(b *testing.B) {
	br := circuit.MustNew[int](circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Nanosecond))
	ctx := context.Background()
	_, _ = br.Execute(ctx, benchFail)
	done, err := br.Allow(ctx) // hold the one trial
	if err != nil {
		b.Fatal(err)
	}
	defer done(nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := br.Execute(ctx, benchOK); err == nil {
			b.Fatal("admitted past the trials")
		}
	}
}

func BenchmarkFailureRecording(b *testing.B) {
	br := circuit.MustNew[int](circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0.5, 1<<30))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = br.Execute(ctx, benchFail)
	}
}

// An outage is when every caller fails at once: the failure paths under
// RunParallel, with thresholds that never trip.

func benchFailParallel(b *testing.B, opts ...circuit.Option) {
	br := circuit.MustNew[int](opts...)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = br.Execute(ctx, benchFail)
		}
	})
	if st := br.State(); st != circuit.Closed {
		b.Fatalf("tripped: %v", st)
	}
}

func BenchmarkFailureRecordingParallel(b *testing.B) {
	benchFailParallel(b, circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0.5, 1<<30))
}

// BenchmarkFailureConsecutiveOnly: the consecutive-failures rule alone (the
// rate rule off), with a count window, every call failing.
func BenchmarkFailureConsecutiveOnly(b *testing.B) {
	br := circuit.MustNew[int](circuit.WithCountWindow(100), circuit.WithFailureRate(0, 0), circuit.WithConsecutiveFailures(1<<30))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = br.Execute(ctx, benchFail)
	}
}

func BenchmarkFailureConsecutiveOnlyParallel(b *testing.B) {
	benchFailParallel(b, circuit.WithCountWindow(100), circuit.WithFailureRate(0, 0), circuit.WithConsecutiveFailures(1<<30))
}

func BenchmarkAllowDone(b *testing.B) {
	br := circuit.MustNew[int]()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		done, err := br.Allow(ctx)
		if err != nil {
			b.Fatal(err)
		}
		done(nil)
	}
}

// The machine's floor (package internal/floor), measured beside the
// breaker's benchmarks: the targets are ratios to it.

func BenchmarkFloorClock(b *testing.B)               { floor.Clock(b) }
func BenchmarkFloorAtomic(b *testing.B)              { floor.Atomic(b) }
func BenchmarkFloorClockAtomic(b *testing.B)         { floor.ClockAtomic(b) }
func BenchmarkFloorClockAtomicParallel(b *testing.B) { floor.ClockAtomicParallel(b) }
func BenchmarkFloorExecute(b *testing.B)             { floor.Execute(b) }
func BenchmarkFloorExecuteAtomic(b *testing.B)       { floor.ExecuteAtomic(b) }
func BenchmarkFloorFuncAlloc(b *testing.B)           { floor.FuncAlloc(b) }
func BenchmarkFloorExecuteWindow(b *testing.B)       { floor.ExecuteWindow(b) }
func BenchmarkFloorExecuteRules(b *testing.B)        { floor.ExecuteRules(b) }
func BenchmarkFloorReject(b *testing.B)              { floor.Reject(b) }
func BenchmarkFloorRead(b *testing.B)                { floor.Read(b) }
func BenchmarkFloorAllowDone(b *testing.B)           { floor.AllowDone(b) }

func BenchmarkMetrics(b *testing.B) {
	br := circuit.MustNew[int]()
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		_, _ = br.Execute(ctx, benchOK)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = br.Metrics()
	}
}

func BenchmarkGroupExecute1kKeys(b *testing.B) {
	g, err := circuit.NewGroup[string, int]()
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "host-" + strconv.Itoa(i)
		g.Get(keys[i])
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = g.Execute(ctx, keys[i%len(keys)], benchOK)
	}
}

// BenchmarkMemoryPerBreaker reports the heap bytes one breaker with default
// options takes, as the custom metric B/breaker.
func BenchmarkMemoryPerBreaker(b *testing.B) {
	const n = 1000
	keep := make([]*circuit.Breaker[int], n)
	var before, after runtime.MemStats
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		runtime.GC()
		runtime.ReadMemStats(&before)
		for j := range keep {
			keep[j] = circuit.MustNew[int]()
		}
		runtime.ReadMemStats(&after)
	}
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/breaker")
	runtime.KeepAlive(keep)
}
