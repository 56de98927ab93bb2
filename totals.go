package circuit

import "sync/atomic"

// Metrics.Totals: every outcome since New, counted at no cost on the call
// path. A time window retires a counter's count when the counter is
// restarted for a later period or its ring is replaced; a count window keeps
// its positions and failures per ring.

// totals returns the window's totals t, never below what Metrics showed
// before.
func (c *core) totals(t counts) Totals {
	return Totals{
		Successes: c.atLeastShown(int(success), t.successes),
		Failures:  c.atLeastShown(int(failure), t.failures),
		Excluded:  c.atLeastShown(int(excluded), t.excluded),
		SlowCalls: c.atLeastShown(slowCounter, t.slow),
	}
}

// atLeastShown returns the larger of n and the total of kind k shown before,
// and keeps it as shown.
func (c *core) atLeastShown(k int, n int) uint64 {
	v := uint64(max(n, 0))
	for {
		old := c.shown[k].Load()
		if v <= old {
			return old
		}
		if c.shown[k].CompareAndSwap(old, v) {
			return v
		}
	}
}

// retire adds what ring r holds to gone, r having been replaced.
func (w *timeWindow) retire(r *timeRing) {
	for k := range w.gone {
		w.gone[k].Add(sumCounts(w.kind(r, k)))
	}
}

// sumCounts adds up the counts of counters c, whatever periods they name.
func sumCounts(c []atomic.Uint64) int64 {
	var n int64
	for i := range c {
		n += int64(uint32(c[i].Load()))
	}
	return n
}

// figures returns the window's counts at now, and the outcomes counted since
// it was made (its totals): gone, then every counter of the ring whatever its
// period, summed in the same pass as the counts. Read in that order, a count
// moving from the ring to gone is missed for an instant, never counted
// twice. It is readKinds for the kinds counts reads (no slow counters
// without a slow rule), written out for Metrics, which it is most of.
func (w *timeWindow) figures(now int64) (n, total counts) {
	slow := len(w.all) == len(readAll)
	var gone counts
	if slow {
		gone.slow = int(w.gone[slowCounter].Load())
	}
	gone.failures = int(w.gone[failure].Load())
	gone.successes = int(w.gone[success].Load())
	gone.excluded = int(w.gone[excluded].Load())
	cur := w.latest(now)
	for range 3 { // readKinds' loop (see read), its sums taken by sumAll
		l := w.lastEpoch()
		hi := max(cur, l)
		n, ring := w.sumAll(w.ring.Load(), hi-w.n+1, hi, slow)
		total = gone
		total.add(ring)
		if w.idle(hi, l) {
			return counts{}, total // the ring still holds the totals
		}
		if w.held(hi) {
			return n, total
		}
	}
	return counts{}, total // the clock ran ahead by buckets during each read
}

// sumAll is sum with totals, for figures: the window's counts of periods lo
// to hi and every counter's count, kind by kind in readAll's order.
func (w *timeWindow) sumAll(r *timeRing, lo, hi int64, slow bool) (n, all counts) {
	m := w.size
	c := r.c[:4*m]
	var t, a uint64
	if slow {
		t, a = sumKindAll(c[slowCounter*m:][:m], lo, hi)
		n.slow, all.slow = int(t), int(a)
	}
	t, a = sumKindAll(c[int64(failure)*m:][:m], lo, hi)
	n.failures, all.failures = int(t), int(a)
	t, a = sumKindAll(c[:m], lo, hi)
	n.successes, all.successes = int(t), int(a)
	t, a = sumKindAll(c[int64(excluded)*m:][:m], lo, hi)
	n.excluded, all.excluded = int(t), int(a)
	return n, all
}

// sumKindAll is sumKind that also adds up the counts of every counter of c
// (all), whatever periods they name: one pass over the ring for both, in
// slot order. Slot e mod the ring's length is the only one that ever names
// period e, so a counter counts in the window when the period it names is one
// of lo to hi.
// Not inlined, as sumKind.
//
//go:noinline
func sumKindAll(c []atomic.Uint64, lo, hi int64) (t, all uint64) {
	lo32, n := uint32(lo), uint32(hi-lo)
	for i := range c {
		v := c[i].Load()
		all += uint64(uint32(v))
		if uint32(v>>32)-lo32 <= n {
			t += uint64(uint32(v))
		}
	}
	return t, all
}

// figures returns the window's counts at now and its totals.
func (w *countWindow) figures(now int64) (n, total counts) { return w.counts(now), w.totals() }

// totals returns the outcomes counted since the window was made.
func (w *countWindow) totals() counts {
	n := counts{successes: int(w.gone[success].Load()), failures: int(w.gone[failure].Load()),
		excluded: int(w.gone[excluded].Load()), slow: int(w.gone[slowCounter].Load())}
	n.add(w.ring.Load().totals())
	return n
}

// totals returns the outcomes recorded in r: the positions handed out are
// its calls, of which failed were failures.
func (r *countRing) totals() counts {
	calls := int64(r.pos.Load())
	failed := r.failed.Load()
	return counts{successes: int(max(calls-failed, 0)), failures: int(failed),
		excluded: int(r.excluded.Load()), slow: int(r.slowed.Load())}
}
