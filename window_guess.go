package circuit

import "sync/atomic"

// The failure check's cheap estimate of a time window's rates: it rules
// most trips out without a full read.

// guess estimates rates for a failure check to rule a trip out, and reports
// false if it has no estimate. Sequentially it equals rates: see older. Under
// concurrency it may miss a record in flight; a trip it rules out then errs
// towards not tripping, and one it does not rule out is checked on rates.
func (w *timeWindow) guess(now int64, slow bool) (counts, bool) {
	r, p := w.ring.Load(), w.last.Load()
	hi := p >> placeBits
	if !w.in(now, hi) {
		if hi++; !w.in(now, hi) {
			return counts{}, false // idle for periods, or a lagging clock: rare
		}
	}
	var n counts
	if w.n > 2 {
		n = w.older(r, hi, p)
	}
	s := w.slotNear(hi, p)
	if !slow {
		n.slow = 0
	} else {
		n.slow += w.lastTwo(w.kind(r, slowCounter), hi, s)
	}
	n.failures += w.lastTwo(w.kind(r, int(failure)), hi, s)
	n.successes += w.lastTwo(w.kind(r, int(success)), hi, s)
	return n, true
}

// older returns the sums of the periods of the window ending at hi before
// its last two, which move only when a record lands among them: one must
// come after last has passed it, so it is late, and counted in late. So the
// sums are made once for each hi, and again after a late record; they are
// kept in est under a sequence lock (seq odd while one failure check writes
// them), so that no reader takes sums made for another hi. A record in
// flight across a period's turn may still be missed, for that period at
// most: it needs its recorder to stall between loading last and its add.
// p is the place last held, to find slots by.
func (w *timeWindow) older(r *timeRing, hi, p int64) counts {
	late, seq := r.late.Load(), r.seq.Load()
	if seq&1 == 0 && r.est[0].Load() == hi && r.est[1].Load() == late {
		n := counts{successes: int(r.est[2].Load()), failures: int(r.est[3].Load()), slow: int(r.est[4].Load())}
		if r.seq.Load() == seq {
			return n
		}
	}
	n := w.sum(r, hi-w.n+1, hi-2, p, readRates, nil) // slow counters too, so that one sum serves every caller
	if seq&1 == 0 && r.seq.CompareAndSwap(seq, seq+1) {
		for i, v := range [...]int64{hi, late, int64(n.successes), int64(n.failures), int64(n.slow)} {
			r.est[i].Store(v)
		}
		r.seq.Store(seq + 2)
	}
	return n
}

// lastTwo adds up the counters c of the window's last two periods up to hi,
// whose slot is s.
func (w *timeWindow) lastTwo(c []atomic.Uint64, hi, s int64) int {
	t := count(c[s].Load(), uint32(hi))
	if w.n > 1 && hi > 0 {
		if s == 0 {
			s = w.size
		}
		t += count(c[s-1].Load(), uint32(hi-1))
	}
	return int(t)
}
