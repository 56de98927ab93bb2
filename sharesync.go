package circuit

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// run is the sync goroutine: a sync every tick, or at once after a trip. A
// sync that decides to publish a trip is followed by another at once.
func (s *sharer) run() {
	defer close(s.done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
		for i := 0; i < 2 && s.ctx.Err() == nil; i++ {
			if !s.sync() {
				break
			}
		}
	}
}

// sync makes one Sync and applies its view. It reports whether it has a trip
// to publish at once.
func (s *sharer) sync() (again bool) {
	now := s.clk.now()
	r, read, fresh := s.report(now)
	ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
	v, err := s.store.Sync(ctx, r)
	cancel()
	if err != nil {
		if s.ctx.Err() == nil { // not canceled by close
			s.fail(err)
		}
		return false
	}
	if s.since.IsZero() {
		s.since = time.Now()
	}
	if fresh {
		s.commit(read, now)
	}
	s.setView(v)
	s.healthy.Store(true) // after the view, so that others() never reads a stale one
	s.mu.Lock()
	if s.publish == r.Trip {
		s.publish = nil
	}
	if s.closedRound == r.Closed {
		s.closedRound = 0
	}
	s.mu.Unlock()
	return s.apply(v, r)
}

// report makes the Report of a sync at now, and returns the window as read
// for it (fresh: not raced by a reset, so its deltas may be committed).
func (s *sharer) report(now int64) (r Report, read []epochCounts, fresh bool) {
	r = Report{
		Name:    s.name,
		Replica: s.replica,
		Now:     s.clk.at(now),
		Width:   time.Duration(s.tw.width),
		Buckets: int(s.tw.n),
		Lease:   s.leaseFor(),
		TTL:     s.ttl,
	}
	if read, fresh = s.deltas(now); fresh {
		r.Deltas = s.diff(read)
	}
	w := s.c.current()
	s.mu.Lock()
	if s.publishOver(w) {
		s.publish = nil
	}
	r.Trip, r.Closed = s.publish, s.closedRound
	follow, followGen, own := s.follow, s.followGen, s.ownGen
	s.mu.Unlock()

	if until, ok := s.c.openPeriodOf(w); ok && w.gen() == own && until > now {
		r.OpenUntil = s.clk.at(until)
	}
	// Ask for the probe lease while following a trip and either calls come
	// (and are rejected) or a trial is out; give it up otherwise, so that an
	// idle replica does not hold the cluster's half-open round.
	rejected := s.c.rejections()
	if follow != 0 && s.inRound(w, followGen) &&
		(rejected != s.lastRejected || (w.state() == HalfOpen && w.admitted() > 0)) {
		r.Probes, r.Round = s.trials, follow
	}
	s.lastRejected = rejected
	return r, read, fresh
}

// publishOver reports whether the trip waiting to be published belongs to
// a round that w shows over. tripped sets publish before the breaker's word
// shows the new round, so a w read just before is older than publishGen:
// the trip is kept then. Called under mu.
func (s *sharer) publishOver(w word) bool {
	return s.publish != nil && genBefore(s.publishGen, w.gen())
}

func (s *sharer) fail(err error) {
	s.errs.Add(1)
	s.healthy.Store(false)
	s.since = time.Time{} // the store may come back empty: count the replicas anew
	if fn := s.onError; fn != nil {
		fn(fmt.Errorf("%s: store sync: %w", breakerLabel(s.name), err))
	}
}

// inRound reports whether w is the Open round gen or the half-open round
// after it.
func (s *sharer) inRound(w word, gen uint64) bool {
	return (w.state() == Open && w.gen() == gen) || (w.state() == HalfOpen && w.gen() == (gen+1)&genMask)
}

// epochCounts are one bucket's counters read at a sync.
type epochCounts struct {
	epoch int64 // Unix epoch
	n     [4]int64
}

// deltas reads the window's live buckets at now. fresh is false when a
// window reset raced with the reading: nothing is pushed then.
//
// The live counters of one slot all count the same period: slot i holds
// periods congruent to i modulo the ring's size, which is at least the
// window's number of buckets, so only one of those lies in the window.
func (s *sharer) deltas(now int64) (read []epochCounts, fresh bool) {
	if r := s.resets.Load(); r != s.seenResets {
		clear(s.pushed) // the window restarted from zero
		s.seenResets = r
	}
	// The window's own read, so that what is pushed errs as counts does.
	slots := make([]slotCounts, len(s.tw.buckets()))
	_, hi := s.tw.read(now, slots)
	for _, sl := range slots {
		if sl.n != [4]int64{} {
			read = append(read, epochCounts{epoch: hi - int64(sl.age) + s.tw.unixEpoch0, n: sl.n})
		}
	}
	if s.resets.Load() != s.seenResets {
		return nil, false
	}
	slices.SortFunc(read, func(a, b epochCounts) int { return cmp.Compare(a.epoch, b.epoch) })
	return read, true
}

// diff returns what read holds beyond what was pushed.
func (s *sharer) diff(read []epochCounts) []Bucket {
	var out []Bucket
	for _, e := range read {
		p := s.pushed[e.epoch]
		var d [4]int64
		for k := range d {
			d[k] = max(e.n[k]-p[k], 0)
		}
		if d != [4]int64{} {
			out = append(out, Bucket{Epoch: e.epoch, Successes: d[success], Failures: d[failure],
				Slow: d[slowCounter], Excluded: d[excluded]})
		}
	}
	return out
}

// commit records read as pushed, and forgets epochs that left the window.
func (s *sharer) commit(read []epochCounts, now int64) {
	for _, e := range read {
		p := s.pushed[e.epoch]
		for k := range p {
			p[k] = max(p[k], e.n[k])
		}
		s.pushed[e.epoch] = p
	}
	tw := s.tw
	lo := tw.epoch(now) + tw.unixEpoch0 - tw.n + 1
	for e := range s.pushed {
		if e < lo {
			delete(s.pushed, e)
		}
	}
}

// setView keeps the other replicas' part of v for others().
func (s *sharer) setView(v View) {
	others := make([]Bucket, 0, len(v.Buckets))
	for _, b := range v.Buckets {
		p := s.pushed[b.Epoch]
		o := Bucket{
			Epoch:     b.Epoch,
			Successes: max(b.Successes-p[success], 0),
			Failures:  max(b.Failures-p[failure], 0),
			Slow:      max(b.Slow-p[slowCounter], 0),
			Excluded:  max(b.Excluded-p[excluded], 0),
		}
		if o.Successes|o.Failures|o.Slow|o.Excluded != 0 {
			others = append(others, o)
		}
	}
	s.view.Store(&sharedView{others: others})
}

// apply acts on the view v that answered report r, and reports whether a
// trip is now waiting to be published.
func (s *sharer) apply(v View, r Report) (again bool) {
	s.c.state() // first make the Open → HalfOpen transition an ended period is due
	now := s.clk.now()
	w := s.c.current()
	follow, followGen, applied := s.unfollowIfLeft(w)
	if v.Trip == nil && follow == 0 {
		s.mu.Lock()
		if s.publish == nil && s.follow == 0 {
			s.lease.Store(0) // no trip to wait for: its own rounds are its own
		}
		s.mu.Unlock()
	}
	switch t := v.Trip; {
	case t == nil && follow != 0:
		// The trip it follows has ended: its trials succeeded elsewhere (or
		// the store forgot it).
		s.c.closeByCluster(w, now)
	case t != nil && t.Round == follow:
		s.takeLease(v, r, follow, followGen)
	case t != nil && t.Round != applied:
		switch w.state() {
		case Closed, HalfOpen:
			s.open(w, t, now)
		case Open:
			s.adopt(w, t)
		}
	}
	s.spreadOnQuorum(v, r, w, now)
	s.c.recheck(s.c.current(), now)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publish != nil
}

// unfollowIfLeft stops following the cluster's trip if the breaker, in w,
// left its rounds some other way (a failed trial, ForceOpen, Disable), and
// returns what it follows then.
func (s *sharer) unfollowIfLeft(w word) (follow int64, followGen uint64, applied int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	follow, followGen, applied = s.follow, s.followGen, s.applied
	if follow != 0 && !s.inRound(w, followGen) {
		// A lease word of a trip it publishes stays.
		s.follow, follow = 0, 0
		if lw := s.lease.Load(); lw>>leaseBits == (followGen+1)&genMask {
			s.lease.CompareAndSwap(lw, 0)
		}
	}
	return follow, followGen, applied
}

// takeLease keeps the probe lease that view v granted (or not) for the
// half-open round of the trip followed.
func (s *sharer) takeLease(v View, r Report, follow int64, followGen uint64) {
	grant := 0
	if r.Probes > 0 && r.Round == v.Trip.Round {
		grant = min(v.Probes, s.trials)
	}
	half := (followGen + 1) & genMask
	s.mu.Lock()
	defer s.mu.Unlock()
	// Only over the lease word of the round it followed at the start: a
	// failed trial may have published the next trip since, with a lease
	// word of its own.
	if lw := s.lease.Load(); s.follow == follow && s.followGen == followGen && lw>>leaseBits == half {
		if grant > 0 {
			s.grantUntil.Store(int64(r.Now.Sub(s.clk.base) + r.Lease))
		}
		s.lease.Store(half<<leaseBits | uint64(grant))
	}
}

// spreadOnQuorum publishes this replica's own trip when a quorum of replicas
// is open on their own evidence. The count of replicas is trusted once this
// one has synced for two periods, in which every live replica has synced too
// (with a period to spare): before, a replica that trips at start-up, or
// whose store has just come back empty, would find itself a majority of one.
func (s *sharer) spreadOnQuorum(v View, r Report, w word, now int64) {
	if v.Trip != nil || r.OpenUntil.IsZero() || v.OpenReplicas < s.quorum(v.Replicas) ||
		time.Since(s.since) < 2*s.every {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.publish == nil && s.ownGen == w.gen() {
		if until, ok := s.c.openPeriodOf(w); ok {
			s.publishTrip(w.gen(), now, until, fmt.Sprintf("%d of %d replicas open", v.OpenReplicas, v.Replicas))
		}
	}
}

// open opens the breaker, in w, on the cluster's trip t.
func (s *sharer) open(w word, t *Trip, now int64) {
	until := max(int64(t.Until.Sub(s.clk.base)), 1) // 0 would mean "compute it"
	gen := (w.gen() + 1) & genMask
	// Follow the trip before the breaker can enter it, so that the lease and
	// tripped see it from the start; undo it if the change loses a race.
	s.mu.Lock()
	prevFollow, prevGen := s.follow, s.followGen
	s.applying, s.applyGen, s.applyUntil = true, gen, until
	s.follow, s.followGen = t.Round, gen
	s.mu.Unlock()
	prevLease := s.lease.Swap(((gen + 1) & genMask) << leaseBits)

	ok := s.c.openByCluster(w, t.Reason, now, until)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.applying = false
	if ok {
		s.applied = t.Round
		return
	}
	if s.follow == t.Round && s.followGen == gen {
		s.follow, s.followGen = prevFollow, prevGen
		s.lease.CompareAndSwap(((gen+1)&genMask)<<leaseBits, prevLease)
	}
}

// adopt makes the breaker, Open in w already, follow the cluster's trip t:
// its half-open round is then the cluster's.
func (s *sharer) adopt(w word, t *Trip) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c.current().gen() != w.gen() {
		return // it moved on; the next sync looks again
	}
	s.follow, s.followGen, s.applied = t.Round, w.gen(), t.Round
	if s.publishGen == w.gen() {
		s.publish = nil // its own trip lost to t, or is t
	}
	s.lease.Store(((w.gen() + 1) & genMask) << leaseBits)
}

// quorum is how many replicas open on their own evidence open the rest.
func (s *sharer) quorum(replicas int) int {
	if s.quorumN > 0 {
		return s.quorumN
	}
	return replicas/2 + 1
}
