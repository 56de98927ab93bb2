package circuit

import (
	"math"
	"sync/atomic"
	"time"
)

// slowCounter is the index of a bucket's slow-call counter; its other
// counters are indexed by outcome (success, failure, excluded).
const slowCounter = 3

// counts is what a window holds at one moment.
type counts struct {
	successes, failures, slow, excluded int
}

func (c counts) calls() int { return c.successes + c.failures }

func (c *counts) add(o counts) {
	c.successes += o.successes
	c.failures += o.failures
	c.slow += o.slow
	c.excluded += o.excluded
}

// window is what the breaker needs of its rolling window. Both kinds record
// without locks; counts may run a few nanoseconds behind concurrent records
// but never loses one. The breaker's hot path switches on the concrete type
// so that recording costs no interface call.
//
// A window belongs to the Closed round that last emptied it (reset) and to
// the rounds after it; record drops the outcome of a call admitted in a round
// before that, so that a call still in flight across a close or Reset cannot
// leak into the fresh window.
type window interface {
	record(now int64, o outcome, slow bool, gen uint64)
	counts(now int64) counts
	reset(gen uint64)
}

// timeWindow is a ring of buckets, each covering width nanoseconds of the
// breaker's clock. A bucket is reused for a later period when the ring wraps.
//
// Each counter packs the bucket period (epoch) it counts for into its high
// 32 bits and the count into its low 32 bits, so that one atomic word says
// both "which period" and "how many": a recorder that finds a counter from an
// older period restarts it with a CAS from the stale word to (epoch, 1), and a
// reader adds only the counters whose epoch lies inside the window. Nothing is
// lost at a period's turn and no lock is needed. A bucket counts at most 2^32-1
// outcomes of a kind per period.
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
	mask int64
	// last is the latest epoch recorded, written only when a new period
	// begins. A record more than a ring's span after it finds every counter
	// stale and starts a fresh ring: the 32-bit epochs in the counters wrap
	// after 2^32 periods (50 days of 1ms buckets), and an idle breaker must
	// not mistake a counter that old for a current one.
	last atomic.Int64
}

// timeRing is a ring of a power of two >= n buckets, so that the slot of an
// epoch is a mask, not a division; slots past the window read as empty.
type timeRing struct {
	gen     uint64 // the round that made it
	buckets []bucket
}

type bucket struct {
	c [4]atomic.Uint64 // success, failure, excluded, slow: epoch<<32 | count
}

// newTimeWindow returns a window of length nanoseconds in buckets, for a
// clock whose zero is base.
func newTimeWindow(length int64, buckets int, base time.Time) *timeWindow {
	width := length / int64(buckets)
	unix := base.UnixNano()
	phase := ((unix % width) + width) % width
	ring := 1
	for ring < buckets {
		ring <<= 1
	}
	w := &timeWindow{width: width, inv: 1 / float64(width), n: int64(buckets), phase: phase,
		unixEpoch0: (unix - phase) / width, mask: int64(ring - 1)}
	w.reset(0)
	return w
}

// buckets returns the current ring's buckets.
func (w *timeWindow) buckets() []bucket { return w.ring.Load().buckets }

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

func (w *timeWindow) record(now int64, o outcome, slow bool, gen uint64) {
	r := w.ring.Load()
	if genBefore(gen, r.gen) {
		return // admitted before the window was emptied
	}
	e := w.epoch(now)
	if l := w.last.Load(); e > l {
		if e-l > w.mask {
			fresh := &timeRing{gen: r.gen, buckets: make([]bucket, w.mask+1)}
			if w.ring.CompareAndSwap(r, fresh) {
				r = fresh
			} else if r = w.ring.Load(); genBefore(gen, r.gen) {
				return // another recorder started it, or a reset came between
			}
		}
		for l < e && !w.last.CompareAndSwap(l, e) {
			l = w.last.Load()
		}
	}
	b := &r.buckets[e&w.mask]
	bump(&b.c[o], uint32(e))
	if slow {
		bump(&b.c[slowCounter], uint32(e))
	}
}

// bump counts one outcome of period epoch in counter p.
func bump(p *atomic.Uint64, epoch uint32) {
	for {
		v := p.Load()
		switch d := int32(uint32(v>>32) - epoch); {
		case uint32(v) == 0:
			// Empty, whatever period it names: take it (below).
		case d == 0:
			// If a recorder of a later period restarts the counter between the
			// Load and this Add, the outcome counts in that later period:
			// late, never lost. That needs this goroutine to stall for a whole
			// window length.
			p.Add(1)
			return
		case d > 0 && d < 1<<24:
			// The counter already counts a later period: this outcome, a
			// window length old, has left the window. (A counter "later" by
			// more than 2^24 periods is one that wrapped around 2^32 while
			// its slot lay idle: stale, and restarted below.)
			return
		}
		if p.CompareAndSwap(v, uint64(epoch)<<32|1) {
			return
		}
	}
}

// readOrder is the order in which the window's counters are read: every
// bucket's slow counter, then every failure counter, then the successes and
// the excluded. See counts for why.
var readOrder = [4]int{slowCounter, int(failure), int(success), int(excluded)}

// counts returns the window's figures at now.
func (w *timeWindow) counts(now int64) counts {
	n, _ := w.read(now, nil)
	return n
}

// slotCounts is one ring slot's counters as read, if it counts a period in
// the window: age periods before the window's latest.
type slotCounts struct {
	age uint32
	n   [4]int64
}

// read returns the window's figures at now and the latest period of the
// window it read (hi). If slots is not nil (the ring's length), it also
// fills it with each slot's counters: the sharer's view of the same read.
//
// The counters are read one at a time while recorders add to them, so the
// figures are not those of one instant; the order makes them err only
// towards not tripping. Within a read, every counter that lies in the window
// only grows (a restart with a later period is ruled out below), and an
// outcome's slow counter is bumped after its outcome counter. Slow counts
// read first are at most those of the instant the failures are read; those
// at most those of the instant the successes are read. So there is an
// instant, during the read, at which the window held at least the reported
// failures and slow calls among exactly the reported calls: when the
// successes passed the reported figure, every counter read earlier had
// reached its reported value. A rule that the reported figures trip held at
// that instant. Go's atomics are sequentially consistent, which is all the
// argument needs.
//
// The window read ends at the latest period anyone recorded in (hi), so that
// a reader whose clock lags a recorder's sees the same buckets. A recorder
// more than the ring's spare slots ahead of hi could restart a bucket inside
// the window during the read, breaking the growth the argument needs: last
// tells, since a recorder raises it before it bumps; the read then starts
// again from the new hi.
func (w *timeWindow) read(now int64, slots []slotCounts) (counts, int64) {
	cur := w.epoch(now)
	for range 3 {
		l := w.last.Load()
		hi := max(cur, l)
		if hi-l > w.mask {
			return counts{}, hi // nothing recorded for longer than the ring spans
		}
		sum := w.sum(w.buckets(), uint32(hi), slots)
		if w.last.Load()-hi <= w.mask+1-w.n {
			return counts{successes: sum[success], failures: sum[failure],
				excluded: sum[excluded], slow: sum[slowCounter]}, hi
		}
		clear(slots)
	}
	return counts{}, cur // the clock ran ahead by buckets during each read: trip on nothing
}

// sum adds up, in readOrder, the counters of buckets that count one of the n
// periods up to hi, and fills slots if it is not nil.
func (w *timeWindow) sum(buckets []bucket, hi uint32, slots []slotCounts) (sum [4]int) {
	for _, k := range readOrder {
		for i := range buckets {
			n, age, ok := w.live(buckets[i].c[k].Load(), hi)
			if !ok {
				continue
			}
			sum[k] += int(n)
			if slots != nil && n != 0 {
				slots[i].age, slots[i].n[k] = age, int64(n)
			}
		}
	}
	return sum
}

// live decodes counter word v for a window whose latest period is hi: its
// count, and its age in periods, if it counts a period inside the window.
// It is the one place the packed counters are decoded.
func (w *timeWindow) live(v uint64, hi uint32) (n uint32, age uint32, ok bool) {
	age = hi - uint32(v>>32)
	return uint32(v), age, age < uint32(w.n)
}

// reset empties the window for round gen by replacing its ring.
func (w *timeWindow) reset(gen uint64) {
	w.ring.Store(&timeRing{gen: gen, buckets: make([]bucket, w.mask+1)})
}

// countWindow holds the last size counted outcomes. Excluded calls do not
// enter it; it counts them since its last reset.
type countWindow struct {
	size int
	// ring is replaced, not cleared, on reset: a recorder racing with the
	// reset then updates the old ring and its totals together, and the new
	// ring's totals always match its slots.
	ring atomic.Pointer[countRing]
}

// countRing is one round's slots and their totals.
//
// The totals are kept so that a reader errs only towards not tripping (see
// counts): failures and slow calls never read above what the slots hold, and
// calls never below. A recorder adds a failure or slow flag to the totals
// after its slot holds it, and takes one out before its slot stops holding
// it; calls are the positions handed out, which run ahead of the slots
// filled. Failures and slow calls share one word, so that one load reads
// both at one instant.
type countRing struct {
	gen uint64        // the round that made it
	pos atomic.Uint64 // positions handed out; the next goes to pos % size
	_   [56]byte      // pos is written by every call, the rest less often
	// bad packs the failures (low 32 bits) and slow calls (high 32 bits) in
	// the slots, each offset by badBias so that a count that dips below zero
	// for an instant (a flag taken out before another recorder has added
	// it) borrows nothing from its neighbour.
	bad      atomic.Uint64
	excluded atomic.Int64
	slots    []atomic.Uint32
}

// Slot codes: 0 = empty, else codeCall plus flags.
const (
	codeCall    = 1
	codeFailure = 2
	codeSlow    = 4

	badBias     = 1 << 31
	oneFailure  = 1
	oneSlowCall = 1 << 32
)

func newCountWindow(size int) *countWindow {
	w := &countWindow{size: size}
	w.reset(0)
	return w
}

func (w *countWindow) reset(gen uint64) {
	r := &countRing{gen: gen, slots: make([]atomic.Uint32, w.size)}
	r.bad.Store(badBias<<32 | badBias)
	w.ring.Store(r)
}

func (w *countWindow) record(_ int64, o outcome, slow bool, gen uint64) {
	r := w.ring.Load()
	if genBefore(gen, r.gen) {
		return // admitted before the window was emptied
	}
	if o == excluded {
		r.excluded.Add(1)
		return
	}
	code := uint32(codeCall)
	if o == failure {
		code |= codeFailure
	}
	if slow {
		code |= codeSlow
	}
	slot := &r.slots[(r.pos.Add(1)-1)%uint64(len(r.slots))]
	for {
		old := slot.Load()
		if old == code {
			return // steady state: neither the slot nor the totals change
		}
		out := badOf(old) // taken out before the slot stops holding them
		if out != 0 {
			r.bad.Add(-out)
		}
		if slot.CompareAndSwap(old, code) {
			if in := badOf(code); in != 0 {
				r.bad.Add(in) // added once the slot holds them
			}
			return
		}
		if out != 0 {
			r.bad.Add(out)
		}
	}
}

// badOf is what a slot code adds to countRing.bad.
func badOf(code uint32) uint64 {
	var v uint64
	if code&codeFailure != 0 {
		v += oneFailure
	}
	if code&codeSlow != 0 {
		v += oneSlowCall
	}
	return v
}

// counts reads the failures and slow calls at one instant, then the calls:
// failures and slow calls at most, and calls at least, what the slots held at
// that instant, so the rates err low (see countRing).
func (w *countWindow) counts(int64) counts {
	r := w.ring.Load()
	bad := r.bad.Load()
	calls := int(min(r.pos.Load(), uint64(w.size)))
	failures := min(clamp(int64(uint32(bad))-badBias), calls)
	return counts{
		successes: calls - failures,
		failures:  failures,
		slow:      min(clamp(int64(bad>>32)-badBias), calls),
		excluded:  clamp(r.excluded.Load()),
	}
}

func clamp(v int64) int {
	if v < 0 {
		return 0
	}
	return int(v)
}
