package circuit_test

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed33933975/circuit"
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

// The machine's floor, measured beside the breaker's benchmarks so that the
// targets (DESIGN.md, Performance targets) are ratios that hold on any
// machine. A breaker with a time window must read the clock once per call
// and count the outcome with at least one atomic add; nothing does less.

var (
	floorBase = time.Now() // has a monotonic reading, as the breaker's clock base
	floorSink func(error)
	floorN    int64
	// floorCtr is the floors' one shared counter, on a cache line of its own
	// as a breaker's bucket counter would be in the parallel case.
	floorCtr struct {
		_ [64]byte
		n atomic.Int64
		_ [56]byte
	}
)

// BenchmarkFloorClock is one monotonic clock read: time.Since of a time with
// a monotonic reading, as the breaker's default clock reads it.
func BenchmarkFloorClock(b *testing.B) {
	for i := 0; i < b.N; i++ {
		floorN += int64(time.Since(floorBase))
	}
}

// BenchmarkFloorAtomic is one uncontended atomic add: the least a breaker
// without a time window (count window, consecutive failures) can do per call.
func BenchmarkFloorAtomic(b *testing.B) {
	for i := 0; i < b.N; i++ {
		floorCtr.n.Add(1)
	}
}

// BenchmarkFloorClockAtomic is a clock read plus one atomic add that depends
// on it, as a bucket counter's address depends on the time: the least any
// breaker with a time window can do per call.
func BenchmarkFloorClockAtomic(b *testing.B) {
	for i := 0; i < b.N; i++ {
		floorCtr.n.Add(int64(time.Since(floorBase)))
	}
}

// BenchmarkFloorClockAtomicParallel is FloorClockAtomic under RunParallel, on
// one shared counter: the least a time window can do when every goroutine
// counts into the same bucket.
func BenchmarkFloorClockAtomicParallel(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			floorCtr.n.Add(int64(time.Since(floorBase)))
		}
	})
}

// floorState is the floors' state word: 0 admits.
var floorState atomic.Uint64

// floorExecute is the least an Execute can do around fn, before any
// counting: load a state word to admit the call, guard against a panic in
// fn (which must still be counted), call fn through its func value, and look
// at ctx to tell a caller's cancellation from the call's own outcome. Then
// it counts the call as FloorAtomic (clock false) or FloorClockAtomic does.
func floorExecute[T any](ctx context.Context, fn func(context.Context) (T, error), clock bool) (v T, err error) {
	if floorState.Load() != 0 {
		return v, circuit.ErrOpen
	}
	finished := false
	defer func() {
		if !finished {
			floorCtr.n.Add(1) // fn panicked
		}
	}()
	v, err = fn(ctx)
	finished = true
	if err != nil || ctx.Done() != nil {
		return v, err // a breaker would classify the outcome here
	}
	d := int64(1)
	if clock {
		d = int64(time.Since(floorBase))
	}
	floorCtr.n.Add(d)
	return v, err
}

// BenchmarkFloorExecute is the floor under ClosedSuccess: what any breaker
// offering Execute with a time window does per call, doing no more.
func BenchmarkFloorExecute(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		_, _ = floorExecute(ctx, benchOK, true)
	}
}

// BenchmarkFloorExecuteAtomic is the floor under ClosedSuccessCountWindow and
// ClosedSuccessConsecutiveOnly: Execute's shape and one atomic add, no clock.
func BenchmarkFloorExecuteAtomic(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		_, _ = floorExecute(ctx, benchOK, false)
	}
}

// BenchmarkFloorFuncAlloc is one func value that escapes, holding what a done
// function holds: three words. A done function must be a value of its own
// per call, for its second call to do nothing: the floor under Allow/done is
// FloorClockAtomic plus this.
func BenchmarkFloorFuncAlloc(b *testing.B) {
	b.ReportAllocs()
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		n := int64(i)
		floorSink = func(error) { floorN += n + int64(len(ctx.Value(n).(string))) }
	}
}

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
