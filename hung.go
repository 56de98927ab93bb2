package circuit

import (
	"fmt"
	"sync/atomic"
)

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
//
// It never counts a call twice, so a torn read cannot trip the hung rule:
// calls only move from a slot to older (start takes them out of the slot by
// CAS, then adds them to older), and older is read before the slots, so a
// call moved during the read is in neither. An end that finds its slot reused
// takes the call out of older, perhaps before start has added it: older may
// dip for an instant, never rise.
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

// hungTrip trips the breaker in w (Closed or HalfOpen) if the round has too
// many hung calls, and reports whether w is over: it tripped the breaker, or
// a change came first.
func (c *core) hungTrip(w word, now *lazyNow) bool {
	tr := c.hung.Load()
	if tr.gen != w.gen() {
		// A change is under way: it stores the next round's tracker before
		// the word. Counting w's calls in that empty tracker would admit a
		// call into a round that hung calls are ending; look again.
		return true
	}
	n := int64(c.cfg.hungCalls)
	if w.state() == HalfOpen {
		n = 1
	}
	// All calls in flight, of this round or older ones: a cheap bound before
	// the slots are summed.
	if c.inflight.Load() < n {
		return false
	}
	hung := tr.count(now.get(), int64(c.cfg.hungAfter))
	if hung < n {
		return false
	}
	reason := fmt.Sprintf("%s in flight for more than %v", plural(int(hung), "call"), c.cfg.hungAfter)
	if w.state() == HalfOpen {
		reason = fmt.Sprintf("trial call in flight for more than %v", c.cfg.hungAfter)
	}
	c.move(change{from: w, to: Open, reason: reason, at: now.get()})
	return true
}
