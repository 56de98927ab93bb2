package circuit

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// timeWindow is a ring of buckets, each covering width nanoseconds of the
// breaker's clock. A bucket is reused for a later period when the ring wraps.
//
// Each counter packs the bucket period (epoch) it counts for into its high
// 32 bits and the count into its low 32 bits, so that one atomic word says
// both "which period" and "how many": a recorder that finds a counter from an
// older period restarts it with a CAS from the stale word to (epoch, 1), and a
// reader adds only the counters that name a period of the window. Nothing is
// lost at a period's turn and no lock is needed. A bucket counts at most
// 2^32-1 outcomes of a kind per period.
type timeWindow struct {
	width int64   // bucket length in nanoseconds, > 0
	inv   float64 // 1/width, to find a bucket without a division
	n     int64   // number of buckets in the window
	// phase aligns bucket edges with multiples of width in Unix time, so that
	// the buckets of replicas sharing a Store line up: local epoch e is Unix
	// epoch e + unixEpoch0.
	phase      int64
	unixEpoch0 int64
	// ring holds the buckets; reset replaces it (see countWindow.ring).
	ring atomic.Pointer[timeRing]
	size int64 // the ring's length: n and spareSlots
	// all is the counter kinds counts reads: without a slow-call rule no
	// slow counter ever counts, and reading them would cost Metrics a
	// quarter of its time. Set before the window is used.
	all []int
	// gone holds, by counter kind, the counts no longer in the ring: added to
	// when a counter is restarted for a later period (after the restart, so
	// that a reader of gone then the ring errs low, never high) and when a
	// ring is replaced. With the ring, it makes the totals (see totals).
	gone [4]atomic.Int64
	// last is the place (see placeBits) of the latest epoch recorded: raised
	// by CAS by the recorder that begins a period, before that recorder
	// counts (read relies on that order); read by every record, to find its
	// bucket and its slot in one load. A record freshRingAfter periods or
	// more after it starts a fresh ring: the 32-bit epochs in the counters
	// wrap after 2^32 periods (50 days of 1ms buckets), and an idle breaker
	// must not mistake a counter that old for a current one. Shorter gaps leave the ring in place, its stale counters
	// restarted one by one as records reach them, so that a record racing
	// with the gap's end still counts in the totals (a replaced ring is
	// retired once, and a record that lands on it after that is lost to them).
	// The tick marks its period over (placeOver) by CAS, and a record that
	// finds a marked period still running takes the mark off by CAS; nothing
	// else but a raise changes it (see window_tick.go).
	last atomic.Int64
	// mark is what a raise of last ORs into the place: placeOver without a
	// tick, so that no success takes last's period without the clock; 0
	// with one. Set before the window is used, as is base, the monotonic
	// clock's zero, which the tick reads.
	mark int64
	base time.Time
	// tick is the timer that marks last's period over: made when first set,
	// then set again after each raise of last and by itself (see
	// window_tick.go). tickMu guards it.
	tickMu sync.Mutex
	tick   *time.Timer
}

// timeRing is a ring of n+spareSlots buckets; slots past the window read as
// empty. Period e's slot is e mod the ring's length: last carries its slot
// (see placeBits), so that the hot paths find a bucket with no division. A
// bucket is one slot of each of its four counter arrays (success, failure,
// excluded, slow): a read takes one kind at a time, along an array.
type timeRing struct {
	gen uint64 // the round that made it
	// c holds epoch<<32 | count, the ring's slots of each kind in turn:
	// added to and restarted by recorders, summed by readers (see read for
	// the order of their loads and why it is enough).
	c []atomic.Uint64
	// late counts the records into a period before last: added to by them
	// before they count, read by failure checks (see older). est caches
	// older's figures: hi, late, successes, failures, slow calls. seq locks
	// it: odd while one failure check writes est, so that one that finds it
	// even and unchanged around its loads of est read one writer's figures.
	late atomic.Int64
	seq  atomic.Uint64
	est  [5]atomic.Int64
}

// spareSlots is how many slots a ring has beside the window's buckets: a read
// of the window stands while recorders move on by up to that many periods
// (see read). Every slot costs Metrics a pass over its counters, for the
// totals, which is why the ring is not a power of two found with a mask.
const spareSlots = 2

// A place is an epoch and its slot in one word, epoch<<placeBits | slot:
// last holds one, so that a record finds its period and its slot with one
// load. Places order as their epochs do, so last is raised by comparing
// places. placeSlot holds every ring's slots (maxBuckets+spareSlots), and
// placeOver above it says the period is over, or may be (see
// window_tick.go); epochs keep 45 bits: 1,000 years of 1ms buckets.
const (
	placeBits = 18
	placeOver = 1 << (placeBits - 1)
	placeSlot = placeOver - 1
)

// slotNear returns the slot of period e >= 0, given the place p of another
// period: a step from p's slot when e is less than a ring's length from it,
// as on every hot path, and a division otherwise.
func (w *timeWindow) slotNear(e, p int64) int64 {
	d := e - p>>placeBits
	if d <= -w.size || d >= w.size {
		return e % w.size
	}
	s := p&placeSlot + d
	if s < 0 {
		s += w.size
	} else if s >= w.size {
		s -= w.size
	}
	return s
}

// lastEpoch is the latest epoch recorded.
func (w *timeWindow) lastEpoch() int64 { return w.last.Load() >> placeBits }

// freshRingAfter is the gap in periods after which a record starts a fresh
// ring: far below the 2^32 at which epochs wrap, far above any ring's span.
const freshRingAfter = 1 << 30

// newTimeWindow returns a window of length nanoseconds in buckets, for a
// clock whose zero is base.
func newTimeWindow(length int64, buckets int, base time.Time) *timeWindow {
	width := length / int64(buckets)
	unix := base.UnixNano()
	phase := ((unix % width) + width) % width
	w := &timeWindow{width: width, inv: 1 / float64(width), n: int64(buckets), phase: phase,
		unixEpoch0: (unix - phase) / width, size: int64(buckets) + spareSlots, all: readAll, mark: placeOver}
	w.last.Store(placeOver) // period 0, in which the clock starts, taken as over (see window_tick.go)
	w.reset(0)
	return w
}

// buckets returns one counter of each of the current ring's buckets.
func (w *timeWindow) buckets() []atomic.Uint64 { return w.kind(w.ring.Load(), int(success)) }

// kind returns ring r's counters of kind k, one a slot.
func (w *timeWindow) kind(r *timeRing, k int) []atomic.Uint64 {
	return r.c[int64(k&3)*w.size:][:w.size]
}

// newRing returns an empty ring for round gen.
func (w *timeWindow) newRing(gen uint64) *timeRing {
	return &timeRing{gen: gen, c: make([]atomic.Uint64, 4*w.size)}
}

// epoch returns the bucket period of clock reading now: (now+phase)/width,
// by a multiplication whose rounding is corrected exactly.
func (w *timeWindow) epoch(now int64) int64 {
	// Clamp where now+phase would overflow: 292 years after New.
	x := min(max(now, 0), math.MaxInt64-w.phase) + w.phase
	e := int64(float64(x) * w.inv)
	if e*w.width > x {
		e--
	} else if (e+1)*w.width <= x {
		e++
	}
	return e
}

// in reports whether clock reading now lies in period l: how hot paths find
// now's period, nearly always the latest, with two comparisons after the
// clock read where epoch would put a division's worth of arithmetic.
func (w *timeWindow) in(now, l int64) bool { return uint64(now-(l*w.width-w.phase)) < uint64(w.width) }

// record counts an outcome at clock reading now, of a call admitted in round
// gen.
func (w *timeWindow) record(now int64, o outcome, slow bool, gen uint64) {
	r, lp := w.ring.Load(), w.last.Load()
	l := lp >> placeBits
	if slow || !w.in(now, l) || genBefore(gen, r.gen) {
		w.recordAt(r, now, o, slow, gen)
		return
	}
	// One atomic add, with no load before it: under contention a load first
	// would fetch the line twice. It lands on a counter of period l, but for
	// the rare cases of addStray.
	p := &r.c[int64(o&3)*w.size+lp&placeSlot]
	if v := p.Add(1); v>>32 != uint64(uint32(l)) {
		addStray(p, v, uint32(l), &w.gone[o&3])
	}
	if lp&placeOver != 0 && w.mark == 0 {
		w.unmark(lp) // the clock finds period l running: the window's first, or just before the tick
	}
}

// recordAt is record of any outcome at any time: a slow call, the first of a
// new period, or one whose clock read lags another recorder's.
func (w *timeWindow) recordAt(r *timeRing, now int64, o outcome, slow bool, gen uint64) {
	if genBefore(gen, r.gen) {
		return // admitted before the window was emptied
	}
	e, lp := w.epoch(now), w.last.Load()
	s := w.slotNear(e, lp)
	if l := lp >> placeBits; e < l {
		r.late.Add(1)
	} else if e > l {
		if e-l >= freshRingAfter {
			fresh := w.newRing(r.gen)
			if w.ring.CompareAndSwap(r, fresh) {
				w.retire(r)
				r = fresh
			} else if r = w.ring.Load(); genBefore(gen, r.gen) {
				return // another recorder started it, or a reset came between
			}
		}
		for pe := e<<placeBits | s | w.mark; lp < pe; lp = w.last.Load() {
			if w.last.CompareAndSwap(lp, pe) {
				w.expire() // sets the tick for period e's end (see window_tick.go)
				break
			}
		}
	}
	bump(&w.kind(r, int(o))[s], uint32(e), &w.gone[o])
	if slow {
		bump(&w.kind(r, slowCounter)[s], uint32(e), &w.gone[slowCounter])
	}
}

// addStray handles an add of record's, of an outcome of the latest period
// (epoch), that landed on a counter of another period (v is the word after
// it). On a later period's the outcome stays (late, never lost: the clock
// ran a ring's span ahead since last was read). An empty counter, or one of
// an earlier lap of the ring, no reader sums (see read): it is restarted
// from the word that holds the stray add, which discards the add.
//
// For the totals (gone, see totals), the stray is an outcome like any: the
// restart that discards it from the stale counter keeps it as the new
// counter's 1, and retires the stale count without it. If another recorder
// restarted the counter first, it retired the stray with the stale count:
// the stray is taken back out of gone before it is counted again.
func addStray(p *atomic.Uint64, v uint64, epoch uint32, gone *atomic.Int64) {
	if d := int32(uint32(v>>32) - epoch); uint32(v) > 1 && d > 0 && d < 1<<24 {
		return
	}
	// Only a restart changes the period a counter names; until one, the
	// stray add is still in the word.
	for stale := v >> 32; !p.CompareAndSwap(v, uint64(epoch)<<32|1); {
		if v = p.Load(); v>>32 != stale {
			gone.Add(-1)
			bump(p, epoch, gone) // restarted by another recorder, the stray with it
			return
		}
	}
	gone.Add(int64(uint32(v)) - 1)
}

// bump counts one outcome of period epoch in counter p. A count it restarts
// goes to gone, and so does an outcome that has left the window (for the
// totals: it was a call all the same).
func bump(p *atomic.Uint64, epoch uint32, gone *atomic.Int64) {
	for {
		v := p.Load()
		switch d := int32(uint32(v>>32) - epoch); {
		case uint32(v) == 0:
			// Empty, whatever period it names: take it (below).
		case d == 0:
			// A restart for a later period between the Load and the Add counts
			// the outcome in that period: late, never lost. That needs this
			// goroutine to stall for a whole window length.
			p.Add(1)
			return
		case d > 0 && d < 1<<24:
			// The counter already counts a later period: this outcome, a
			// window length old, has left the window. (A counter "later" by
			// more than 2^24 periods is one that wrapped around 2^32 while
			// its slot lay idle: stale, and restarted below.)
			gone.Add(1)
			return
		}
		if p.CompareAndSwap(v, uint64(epoch)<<32|1) {
			if n := uint32(v); n != 0 {
				gone.Add(int64(n))
			}
			return
		}
	}
}

// reset empties the window for round gen by replacing its ring.
func (w *timeWindow) reset(gen uint64) {
	if old := w.ring.Swap(w.newRing(gen)); old != nil {
		w.retire(old)
	}
}
