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
// twice. It reads the kinds counts reads (no slow counters without a slow
// rule).
func (w *timeWindow) figures(now int64) (n, total counts) {
	var sum [4]int64
	for _, k := range w.all {
		sum[k] = w.gone[k].Load()
	}
	var ring [4]int64
	n, _ = w.readKinds(now, w.all, nil, &ring)
	for _, k := range w.all {
		sum[k] += ring[k]
	}
	return n, counts{successes: int(sum[success]), failures: int(sum[failure]),
		excluded: int(sum[excluded]), slow: int(sum[slowCounter])}
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
