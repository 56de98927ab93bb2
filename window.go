package circuit

import (
	"math"
	"sync/atomic"
	"time"
)

// outcome is how a completed call counts.
type outcome uint8

const (
	success  outcome = iota // counted, the dependency did its job
	failure                 // counted, the dependency failed
	excluded                // not counted: excluded by WithExclude, or its caller gave up
	slowSlot                // index of the slow-call counter in a bucket, not an outcome
)

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
		bump(&b.c[slowSlot], uint32(e))
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

func (w *timeWindow) counts(now int64) counts {
	e := w.epoch(now)
	if e-w.last.Load() > w.mask {
		return counts{} // nothing recorded for longer than the ring spans
	}
	cur := uint32(e)
	var sum [4]int
	buckets := w.buckets()
	for i := range buckets {
		for k := range sum {
			v := buckets[i].c[k].Load()
			if cur-uint32(v>>32) < uint32(w.n) {
				sum[k] += int(uint32(v))
			}
		}
	}
	return counts{successes: sum[success], failures: sum[failure], excluded: sum[excluded], slow: sum[slowSlot]}
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

type countRing struct {
	gen   uint64        // the round that made it
	pos   atomic.Uint64 // slots written so far; the next goes to pos % size
	_     [56]byte      // pos is written by every call, the totals not
	slots []atomic.Uint32
	// Totals of the slots' contents, kept by adding the difference between
	// the code a recorder swapped in and the one it swapped out. Under
	// contention a total may dip below its true value for an instant; readers
	// clamp at zero, and the sum is exact once the recorders are done.
	calls, failures, slow, excluded atomic.Int64
}

// Slot codes: 0 = empty, else codeCall plus flags.
const (
	codeCall    = 1
	codeFailure = 2
	codeSlow    = 4
)

func newCountWindow(size int) *countWindow {
	w := &countWindow{size: size}
	w.reset(0)
	return w
}

func (w *countWindow) reset(gen uint64) {
	w.ring.Store(&countRing{gen: gen, slots: make([]atomic.Uint32, w.size)})
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
	i := (r.pos.Add(1) - 1) % uint64(len(r.slots))
	old := r.slots[i].Swap(code)
	if old == code {
		return // steady state: the total does not change
	}
	if old == 0 {
		r.calls.Add(1)
	}
	if d := int64(code&codeFailure)/codeFailure - int64(old&codeFailure)/codeFailure; d != 0 {
		r.failures.Add(d)
	}
	if d := int64(code&codeSlow)/codeSlow - int64(old&codeSlow)/codeSlow; d != 0 {
		r.slow.Add(d)
	}
}

func (w *countWindow) counts(int64) counts {
	r := w.ring.Load()
	calls := clamp(r.calls.Load())
	failures := min(clamp(r.failures.Load()), calls)
	return counts{
		successes: calls - failures,
		failures:  failures,
		slow:      min(clamp(r.slow.Load()), calls),
		excluded:  clamp(r.excluded.Load()),
	}
}

func clamp(v int64) int {
	if v < 0 {
		return 0
	}
	return int(v)
}

// streak counts the failures since the last success (Metrics'
// ConsecutiveFailures and the consecutive-failures rule). Like a window it
// belongs to the round that last reset it: the word packs that round's
// generation (high 32 bits) with the count, and a late outcome from an
// earlier round changes nothing.
type streak struct {
	v atomic.Uint64
}

// fail counts a failure of a call admitted in round gen and returns the new
// count, or 0 if the call came from before the last reset.
func (s *streak) fail(gen uint64) int64 {
	for {
		v := s.v.Load()
		if genBefore(gen, v>>32) {
			return 0
		}
		if s.v.CompareAndSwap(v, v+1) {
			return int64(uint32(v + 1))
		}
	}
}

// succeed ends the streak, unless the call came from before the last reset.
// A run of successes only reads the word, leaving its cache line shared.
func (s *streak) succeed(gen uint64) {
	for {
		v := s.v.Load()
		if uint32(v) == 0 || genBefore(gen, v>>32) {
			return
		}
		if s.v.CompareAndSwap(v, v>>32<<32) {
			return
		}
	}
}

func (s *streak) reset(gen uint64) { s.v.Store(gen << 32) }

func (s *streak) count() int { return int(uint32(s.v.Load())) }

// hungTracker counts one round's calls in flight by the period they started
// in, so that "how many have been in flight longer than after" is a sum over
// a few slots, not a scan of calls (WithHungCalls). Each slot packs the start
// period (epoch, high 40 bits, compared modulo 2^40) with the number of calls
// of that period still in flight (low 24 bits). The ring spans two after
// lengths; a slot reused for a later period first moves its calls to older,
// which counts calls older than the ring: hung by any measure.
type hungTracker struct {
	gen   uint64 // the round it counts the calls of
	width int64  // after/8, at least 1ns: hung calls are seen within after+width
	slots [hungSlots]atomic.Uint64
	older atomic.Int64
}

const (
	hungSlots     = 16
	hungCountBits = 24
	hungCountMask = 1<<hungCountBits - 1
)

func newHungTracker(after int64, gen uint64) *hungTracker {
	return &hungTracker{gen: gen & genMask, width: max(after/(hungSlots/2), 1)}
}

// epochDiff is a - b for 40-bit epochs, as a signed number.
func epochDiff(a, b uint64) int64 { return int64((a-b)<<hungCountBits) >> hungCountBits }

func (t *hungTracker) start(now int64) {
	e := uint64(max(now, 0) / t.width)
	s := &t.slots[e%hungSlots]
	for {
		v := s.Load()
		switch d := epochDiff(v>>hungCountBits, e); {
		case d == 0:
			if s.CompareAndSwap(v, v+1) {
				return
			}
		case d < 0: // the slot holds an older period: move its calls to older
			if s.CompareAndSwap(v, e<<hungCountBits|1) {
				t.older.Add(int64(v & hungCountMask))
				return
			}
		default: // this call's period is already gone from the ring
			t.older.Add(1)
			return
		}
	}
}

// end counts out a call that started at start, and reports whether it had
// outlived the ring (its slot was reused: it started more than two after
// lengths ago).
func (t *hungTracker) end(start int64) bool {
	e := uint64(max(start, 0) / t.width)
	s := &t.slots[e%hungSlots]
	for {
		v := s.Load()
		if epochDiff(v>>hungCountBits, e) != 0 {
			t.older.Add(-1) // its slot was reused, and its count moved to older
			return true
		}
		if s.CompareAndSwap(v, v-1) {
			return false
		}
	}
}

// count returns how many calls have been in flight longer than after at now,
// counting whole slots: a call is counted once its slot's period is entirely
// more than after ago.
func (t *hungTracker) count(now, after int64) int64 {
	n := t.older.Load()
	if now-after < 0 {
		return max(n, 0)
	}
	cutoff := uint64((now - after) / t.width) // slots before this period are hung
	for i := range t.slots {
		v := t.slots[i].Load()
		if epochDiff(cutoff, v>>hungCountBits) > 0 {
			n += int64(v & hungCountMask)
		}
	}
	return max(n, 0)
}
