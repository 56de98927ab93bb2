package circuit

import "sync/atomic"

// Reading a time window: the trip rules' figures, Metrics' counts and the
// sharer's slots, taken while recorders add to the counters, in an order
// that errs only towards not tripping (see read).

// Counter kinds in the order a read takes them (see read), the excluded
// last: the trip rules read none, nor slow counters without a slow-call rule.
var (
	readAll     = []int{slowCounter, int(failure), int(success), int(excluded)}
	readRates   = readAll[:3]
	readFails   = readAll[1:3]
	readNotSlow = readAll[1:]
)

// counts returns the window's figures at now, of every kind it counts.
func (w *timeWindow) counts(now int64) counts {
	n, _ := w.readKinds(now, w.all, nil)
	return n
}

// rates returns what the trip rules read at now: failures and successes, and
// slow calls if slow.
func (w *timeWindow) rates(now int64, slow bool) counts {
	kinds := readFails
	if slow {
		kinds = readRates
	}
	n, _ := w.readKinds(now, kinds, nil)
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
// again from the new hi. The same bound keeps addStray's stray adds out of
// every read that stands: a stray lands on a counter of a period a ring's
// length or more before last, so before the window of any such hi.
func (w *timeWindow) read(now int64, slots []slotCounts) (counts, int64) {
	return w.readKinds(now, readAll, slots)
}

// readKinds is read of the counter kinds given, in their order.
// (figures, for Metrics, is the same read written out with the totals.)
func (w *timeWindow) readKinds(now int64, kinds []int, slots []slotCounts) (counts, int64) {
	cur := w.latest(now)
	for range 3 {
		lp := w.last.Load()
		l := lp >> placeBits
		hi := max(cur, l)
		if w.idle(hi, l) {
			return counts{}, hi
		}
		n := w.sum(w.ring.Load(), hi-w.n+1, hi, lp, kinds, slots)
		if w.held(hi) {
			return n, hi
		}
		clear(slots)
	}
	return counts{}, cur // the clock ran ahead by buckets during each read: trip on nothing
}

// latest is the period a read at now would end at if no recorder were
// ahead of it: the latest recorded, when now lies in it, else now's.
func (w *timeWindow) latest(now int64) int64 {
	if cur := w.lastEpoch(); w.in(now, cur) {
		return cur
	}
	return w.epoch(now)
}

// idle reports that a read ending at hi, with last at l, finds nothing in
// the window: nothing was recorded for longer than the ring spans.
func (w *timeWindow) idle(hi, l int64) bool { return hi-l >= w.size }

// held reports that a read of the window ending at hi stands: no recorder
// went far enough past hi, during the read, to restart a bucket inside it.
func (w *timeWindow) held(hi int64) bool { return w.lastEpoch()-hi <= w.size-w.n }

// sum adds up, kind by kind in the order given, the counters of periods lo
// to hi (at most the ring's length), and fills slots if it is not nil. p is
// the place of a period less than a ring's length from lo, to find lo's slot
// by. Period e can only be in slot e mod the ring's length, and a counter
// counts e only if it names e exactly.
func (w *timeWindow) sum(r *timeRing, lo, hi, p int64, kinds []int, slots []slotCounts) counts {
	lo = max(lo, 0) // no period before 0 is ever recorded
	s0 := w.slotNear(lo, p)
	var s [4]int
	for _, k := range kinds {
		if k &= 3; slots != nil {
			s[k] = w.sumSlots(w.kind(r, k), k, s0, lo, hi, slots)
		} else {
			s[k] = int(sumKind(w.kind(r, k), s0, lo, hi))
		}
	}
	return counts{successes: s[success], failures: s[failure], excluded: s[excluded], slow: s[slowCounter]}
}

// sumSlots is sumKind for the sharer, filling each slot's counts of kind k.
func (w *timeWindow) sumSlots(c []atomic.Uint64, k int, s, lo, hi int64, slots []slotCounts) (t int) {
	for e := lo; e <= hi; e++ {
		if n := count(c[s].Load(), uint32(e)); n != 0 {
			t += int(n)
			slots[s].age, slots[s].n[k] = uint32(hi-e), int64(n)
		}
		if s++; s == int64(len(c)) {
			s = 0
		}
	}
	return t
}

// sumKind adds up the counters c of periods lo to hi, from slot s, lo's.
// Not inlined: in a loop of its own every value stays in a register. It
// decodes the counters as count does, by arithmetic: v - ep, where ep is
// e<<32, is the count when v names period e, and 2^32 or more otherwise.
//
//go:noinline
func sumKind(c []atomic.Uint64, s, lo, hi int64) (t uint64) {
	for e, ep := lo, uint64(lo)<<32; e <= hi; e, ep = e+1, ep+1<<32 {
		if n := c[s].Load() - ep; n < 1<<32 {
			t += n
		}
		if s++; s == int64(len(c)) {
			s = 0
		}
	}
	return t
}

// count decodes counter word v: its count if it counts period e, else 0. It
// and sumKind are the places the packed counters are read.
func count(v uint64, e uint32) uint32 {
	if uint32(v>>32) != e {
		return 0
	}
	return uint32(v)
}
