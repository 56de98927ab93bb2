// Package floor measures the machine's floor beside the breaker's benchmarks
// (the core's and the benchmarks module's both run these), so that the
// performance targets are ratios that hold on any machine. A breaker with a
// time window must read the clock once per call and count the outcome with
// at least one atomic add; nothing does less. Each function is a benchmark's
// body.
package floor

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed33933975/circuit"
)

func ok(context.Context) (int, error) { return 1, nil }

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

// Clock is one monotonic clock read: time.Since of a time with
// a monotonic reading, as the breaker's default clock reads it.
func Clock(b *testing.B) {
	for i := 0; i < b.N; i++ {
		floorN += int64(time.Since(floorBase))
	}
}

// Atomic is one uncontended atomic add: the least a breaker
// without a time window (count window, consecutive failures) can do per call.
func Atomic(b *testing.B) {
	for i := 0; i < b.N; i++ {
		floorCtr.n.Add(1)
	}
}

// ClockAtomic is a clock read plus one atomic add that depends
// on it, as a bucket counter's address depends on the time: the least any
// breaker with a time window can do per call.
func ClockAtomic(b *testing.B) {
	for i := 0; i < b.N; i++ {
		floorCtr.n.Add(int64(time.Since(floorBase)))
	}
}

// ClockAtomicParallel is FloorClockAtomic under RunParallel, on
// one shared counter: the least a time window can do when every goroutine
// counts into the same bucket.
func ClockAtomicParallel(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			floorCtr.n.Add(int64(time.Since(floorBase)))
		}
	})
}

// floorState is the floors' state word: 0 admits.
var floorState atomic.Uint64

// how a floorExecute counts its call.
const (
	countAdd    = iota // one atomic add
	countClock         // a clock read, and an add that depends on it
	countWindow        // a clock read, and an add in the time window's bucket
)

// floorExecute is the least an Execute can do around fn, before any
// counting: load a state word to admit the call, guard against a panic in
// fn (which must still be counted), call fn through its func value, and look
// at ctx to tell a caller's cancellation from the call's own outcome. Then
// it counts the call as FloorAtomic (countAdd), FloorClockAtomic
// (countClock) or a time window (countWindow) does.
func floorExecute[T any](ctx context.Context, fn func(context.Context) (T, error), how int) (v T, err error) {
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
	switch how {
	case countAdd:
		floorCtr.n.Add(1)
	case countClock:
		floorCtr.n.Add(int64(time.Since(floorBase)))
	default:
		floorWin.record(int64(time.Since(floorBase)))
	}
	return v, err
}

// Execute is the floor under ClosedSuccess: what any breaker
// offering Execute with a time window does per call, doing no more.
func Execute(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		_, _ = floorExecute(ctx, ok, countClock)
	}
}

// ExecuteAtomic is the floor under ClosedSuccessCountWindow and
// ClosedSuccessConsecutiveOnly: Execute's shape and one atomic add, no clock.
func ExecuteAtomic(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		_, _ = floorExecute(ctx, ok, countAdd)
	}
}

// FuncAlloc is one func value that escapes, holding what a done
// function holds: three words. A done function must be a value of its own
// per call, for its second call to do nothing: the floor under Allow/done is
// FloorClockAtomic plus this.
func FuncAlloc(b *testing.B) {
	b.ReportAllocs()
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		n := int64(i)
		floorSink = func(error) { floorN += n + int64(len(ctx.Value(n).(string))) }
	}
}
