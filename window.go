package circuit

import (
	"math"
	"math/bits"
	"sync/atomic"
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

// window is what the breaker needs of its rolling window: the time window
// (window_time.go, read in window_read.go) or the count window (below). Both
// kinds record without locks; counts may run a few nanoseconds behind
// concurrent records but never loses one. The breaker's hot path switches on the concrete type
// so that recording costs no interface call.
//
// A window belongs to the Closed round that last emptied it (reset) and to
// the rounds after it; record drops the outcome of a call admitted in a round
// before that, so that a call still in flight across a close or Reset cannot
// leak into the fresh window.
type window interface {
	record(now int64, o outcome, slow bool, gen uint64)
	counts(now int64) counts
	// rates is counts for the trip rules: no excluded calls, and slow calls
	// only if slow. guess is a cheap estimate of it, if the window has one.
	rates(now int64, slow bool) counts
	guess(now int64, slow bool) (counts, bool)
	reset(gen uint64)
	// figures returns counts(now) and the totals: the outcomes counted
	// since the window was made, resets and all. Read while others record,
	// the totals may run behind them, never ahead.
	figures(now int64) (n, total counts)
}

// countWindow holds the last size counted outcomes. Excluded calls do not
// enter it; it counts them since its last reset.
type countWindow struct {
	size int
	// ring is replaced, not cleared, on reset: a recorder racing with the
	// reset then updates the old ring and its totals together, and the new
	// ring's totals always match its slots.
	ring atomic.Pointer[countRing]
	// gone holds the totals of the rings replaced, by counter kind (the
	// outcomes and slowCounter); added to by reset.
	gone [4]atomic.Int64
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
	gen   uint64 // the round that made it
	recip uint64 // math.MaxUint64 / size, for slot
	slots []atomic.Uint32
	_     pad
	// pos counts the positions handed out; the next goes to pos % size.
	// Added to by every record: on a line of its own, as the fields above are
	// read by every record and the ones below written less often.
	pos atomic.Uint64
	_   pad
	// bad packs the failures (low 32 bits) and slow calls (high 32 bits) in
	// the slots, each offset by badBias so that a count that dips below zero
	// for an instant (a flag taken out before another recorder has added
	// it) borrows nothing from its neighbour.
	bad      atomic.Uint64
	excluded atomic.Int64
	// failed and slowed count the failures and slow calls recorded in the
	// ring, for the totals: added to on those paths only, before pos, so
	// that a reader of pos then of them never counts a success too many.
	failed, slowed atomic.Int64
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
	r := &countRing{gen: gen, recip: math.MaxUint64 / uint64(w.size), slots: make([]atomic.Uint32, w.size)}
	r.bad.Store(badBias<<32 | badBias)
	if old := w.ring.Swap(r); old != nil {
		n := old.totals()
		w.gone[success].Add(int64(n.successes))
		w.gone[failure].Add(int64(n.failures))
		w.gone[excluded].Add(int64(n.excluded))
		w.gone[slowCounter].Add(int64(n.slow))
	}
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
		r.failed.Add(1)
	}
	if slow {
		code |= codeSlow
		r.slowed.Add(1)
	}
	slot := r.slot(r.pos.Add(1) - 1)
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

// slot returns the slot of position p, p % size, without a division (which
// would cost more than the rest of a record): the high word of p*recip is
// p/size or at most two less, never more.
func (r *countRing) slot(p uint64) *atomic.Uint32 {
	n := uint64(len(r.slots))
	q, _ := bits.Mul64(p, r.recip)
	i := p - q*n
	for i >= n {
		i -= n
	}
	return &r.slots[i]
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

func (w *countWindow) rates(now int64, _ bool) counts { return w.counts(now) }

// guess has nothing cheaper to offer than rates.
func (w *countWindow) guess(int64, bool) (counts, bool) { return counts{}, false }

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
