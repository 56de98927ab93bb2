package benchmarks

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed33933975/circuit"
)

// The machine's floor, measured in the same run as the workloads so that the
// targets (DESIGN.md, Performance targets) are ratios that hold on any
// machine. The same floors are in the core's bench_test.go; cmd/benchtable
// divides each workload by its floor (the "× floor" column) and holds the
// targets against them.

var (
	floorBase = time.Now() // has a monotonic reading, as the breaker's clock base
	floorSink func(error)
	floorN    int64
	// floorCtr is the floors' one counter, on a cache line of its own as a
	// breaker's bucket counter would be.
	floorCtr struct {
		_ [64]byte
		n atomic.Int64
		_ [56]byte
	}
	floorState atomic.Uint64 // the floors' state word: 0 admits
)

// BenchmarkFloorClock is one monotonic clock read: time.Since of a time with
// a monotonic reading, as the breaker's default clock reads it.
func BenchmarkFloorClock(b *testing.B) {
	for range b.N {
		floorN += int64(time.Since(floorBase))
	}
}

// BenchmarkFloorAtomic is one uncontended atomic add: the least a breaker
// without a time window can do per call.
func BenchmarkFloorAtomic(b *testing.B) {
	for range b.N {
		floorCtr.n.Add(1)
	}
}

// BenchmarkFloorClockAtomic is a clock read plus one atomic add that depends
// on it, as a bucket counter's address depends on the time: the least any
// breaker with a time window can do per call.
func BenchmarkFloorClockAtomic(b *testing.B) {
	for range b.N {
		floorCtr.n.Add(int64(time.Since(floorBase)))
	}
}

// BenchmarkFloorClockAtomicParallel is FloorClockAtomic under RunParallel, on
// one shared counter.
func BenchmarkFloorClockAtomicParallel(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			floorCtr.n.Add(int64(time.Since(floorBase)))
		}
	})
}

// floorExecute is the least an Execute can do around fn before counting:
// load a state word to admit the call, guard against a panic in fn (which
// must still be counted), call fn through its func value, and look at ctx to
// tell a caller's cancellation from the call's own outcome. It then counts
// the call as FloorAtomic (clock false) or FloorClockAtomic does.
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

// BenchmarkFloorExecute is the floor under ClosedSuccess through Execute:
// FloorClockAtomic in Execute's shape.
func BenchmarkFloorExecute(b *testing.B) {
	ctx := context.Background()
	for range b.N {
		_, _ = floorExecute(ctx, okFn, true)
	}
}

// BenchmarkFloorExecuteAtomic is the floor under ConsecutiveOnly: one atomic
// add in Execute's shape, no clock.
func BenchmarkFloorExecuteAtomic(b *testing.B) {
	ctx := context.Background()
	for range b.N {
		_, _ = floorExecute(ctx, okFn, false)
	}
}

// BenchmarkFloorFuncAlloc is one func value that escapes, holding what a done
// function holds: three words. A done must be a value of its own per call,
// for its second call to do nothing: with FloorClockAtomic, the floor under
// Allow and done.
func BenchmarkFloorFuncAlloc(b *testing.B) {
	b.ReportAllocs()
	ctx := context.Background()
	for i := range b.N {
		n := int64(i)
		floorSink = func(error) { floorN += n + int64(len(ctx.Value(n).(string))) }
	}
}
