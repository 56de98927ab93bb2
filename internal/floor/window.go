package floor

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// The floors under the targets that hold a breaker's whole call against one
// clock read (DESIGN.md, Performance targets): the least each of Execute's
// paths can do with the time window DESIGN.md's architecture notes describe
// (a ring of buckets, each counter holding its bucket's epoch beside its
// count), and nothing a breaker does besides: no round to check, no streak,
// no state to move. What a breaker costs above these is its own.

// floorBuckets is the default window's bucket count (WithWindow's default,
// 10), floorKinds the counter kinds a read sums without a slow-call rule
// (successes, failures, excluded), and floorWidth the default bucket length.
const (
	floorBuckets = 10
	floorKinds   = 3
	floorSlots   = 16 // a power of two: a slot is a mask, the cheapest way to find one
	floorWidth   = int64(3 * time.Second)
)

// floorWindow is that window: counters hold epoch<<32 | count, kind by
// kind, and last is the latest epoch recorded. One recorder only, so a
// bucket's restart needs no CAS.
type floorWindow struct {
	last atomic.Int64
	_    [56]byte
	c    [floorKinds * floorSlots]atomic.Uint64
}

// floorWin is the window of the floors that hold no breaker of their own.
var floorWin floorWindow

// record counts one success at clock reading now, as a time window must:
// find now's bucket from the latest epoch recorded (a multiply, not a
// division), add one to its counter, and look at the epoch the add
// returned, restarting a counter left from an older period.
func (w *floorWindow) record(now int64) {
	l := w.last.Load()
	if uint64(now-l*floorWidth) >= uint64(floorWidth) {
		l = now / floorWidth
		w.last.Store(l)
	}
	p := &w.c[l&(floorSlots-1)]
	if v := p.Add(1); v>>32 != uint64(uint32(l)) {
		p.Store(uint64(l)<<32 | 1)
	}
}

// ExecuteWindow is the floor under ClosedSuccess with its time window:
// FloorExecute, its add landing in the bucket of the clock's reading.
func ExecuteWindow(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		_, _ = floorExecute(ctx, ok, countWindow)
	}
}

// errFloor is the rejection floorReject returns: one value made before, as
// a breaker's open round makes one.
var errFloor = errors.New("floor: open")

// floorUntil is when floorReject's open period ends: an hour after the
// floors' clock base, as the benchmarks' WithOpenTimeout(time.Hour).
var floorUntil = int64(time.Hour)

// floorReject is the least a timed open rejection can do: load the state
// word, read the clock to see that the open period lasts, count the
// rejection (every rejection is counted) and return an error made before.
//
//go:noinline
func floorReject[T any](ctx context.Context, fn func(context.Context) (T, error)) (v T, err error) {
	if floorState.Load() == 0 {
		if now := int64(time.Since(floorBase)); now < floorUntil {
			floorCtr.n.Add(1)
			return v, errFloor
		}
	}
	return fn(ctx)
}

// Reject is the floor under OpenRejection: a counted timed rejection in
// Execute's shape.
func Reject(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		if _, err := floorReject(ctx, ok); err == nil {
			b.Fatal("floorReject admitted a call")
		}
	}
}

// floorRead is the least a Metrics of the default window can read: the
// clock, to find the window's buckets, and each kind's counter of each of
// them, decoded (a counter counts only if it names its bucket's period).
//
//go:noinline
func floorRead() (n [floorKinds]uint64) {
	now, hi := int64(time.Since(floorBase)), floorWin.last.Load()
	if uint64(now-hi*floorWidth) >= uint64(floorWidth) {
		hi = now / floorWidth
	}
	for k := range floorKinds {
		c := floorWin.c[k*floorSlots : (k+1)*floorSlots]
		for e := hi - floorBuckets + 1; e <= hi; e++ {
			if v := c[e&(floorSlots-1)].Load(); v>>32 == uint64(uint32(e)) {
				n[k] += uint64(uint32(v))
			}
		}
	}
	return n
}

// Read is the floor under Metrics: the clock and the window's counters.
func Read(b *testing.B) {
	for range 100 {
		floorWin.record(int64(time.Since(floorBase)))
	}
	for i := 0; i < b.N; i++ {
		floorN += int64(floorRead()[0])
	}
}
