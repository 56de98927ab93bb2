package floor

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The floor under Allow and done. DESIGN.md makes done idempotent (rule 8:
// only its first call counts) and allows Allow one allocation. A func value
// cannot change what it holds, so the flag that says "called" lives in a
// second object; with one allocation, that object is reused, from a pool,
// and a sequence number tells a done whether the object is still its own.
// That is the least such an Allow can do: what FloorFuncAlloc leaves out.

// allowRec is what a done function holds besides its sequence number.
type allowRec struct {
	ctx context.Context
	seq atomic.Uint64
}

var allowRecs sync.Pool

// floorAllow admits a call as floorExecute does and returns its done
// function: one allocation, the func value.
//
//go:noinline
func floorAllow(ctx context.Context) (func(error), error) {
	if floorState.Load() != 0 {
		return nil, errFloor
	}
	a, _ := allowRecs.Get().(*allowRec)
	if a == nil {
		a = new(allowRec)
	}
	a.ctx = ctx
	rec, seq := a, a.seq.Load()
	return func(err error) {
		if !rec.seq.CompareAndSwap(seq, seq+1) {
			return // called before
		}
		ctx := rec.ctx
		rec.ctx = nil
		allowRecs.Put(rec)
		if err == nil && ctx.Done() == nil {
			floorCtr.n.Add(int64(time.Since(floorBase)))
		}
	}, nil
}

// AllowDone is the floor under AllowDone: Allow, then done(nil), with done
// idempotent on one allocation.
func AllowDone(b *testing.B) {
	b.ReportAllocs()
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		done, err := floorAllow(ctx)
		if err != nil {
			b.Fatal(err)
		}
		done(nil)
	}
}
