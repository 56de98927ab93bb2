package circuit

import "context"

// permit is what a call admitted by the breaker carries to its completion.
type permit struct {
	w     word         // the word it was admitted under
	start int64        // clock reading at admission, if needStart
	hung  *hungTracker // the round's tracker it counts in, if any
	bulk  bool         // holds a bulkhead slot
}

// admit decides whether a call may go ahead. It is the one admission path of
// Execute, Allow and Group. A plain breaker's Closed path is one atomic load;
// an Open breaker's rejection, without a bulkhead, a clock read and the
// count of the rejection.
func (c *core) admit(ctx context.Context) (p permit, err error) {
	now := lazyNow{clk: &c.clk}
	switch p.w = word(c.word.Load()); {
	case p.w.state() == Closed && c.plain:
		if c.throttle == nil || !c.throttle.drop() {
			return p, nil
		}
		c.rejected.Add(1)
		return p, c.throttled()
	case p.w.state() == Open && c.bulk == nil:
		if err := c.rejectOpen(p.w, now.get()); err != nil {
			return p, err
		}
	}
	return c.admitSlow(ctx, &now)
}

// failFast is the rejection of a bare breaker's call (see run) that finds
// it in w, made with none of admit's frames: Open while the open period
// lasts, HalfOpen with the round's trials all taken, ForcedOpen. It returns
// nil, counting nothing, where admit must decide.
func (c *core) failFast(w word) error {
	switch w.state() {
	case Open:
		if o := c.open.Load(); o.gen == w.gen() && o.over != nil && !o.over.Load() {
			c.rejected.Add(1) // the period's timer has not fired: it lasts
			return o.err
		}
		now, ok := c.clk.mono()
		if !ok {
			now = c.clk.extNow()
		}
		return c.rejectOpen(w, now)
	case HalfOpen:
		if w.admitted() >= c.trialLimit(w) {
			c.rejected.Add(1)
			return c.halfFull
		}
	case ForcedOpen:
		c.rejected.Add(1)
		return c.forced
	}
	return nil
}

// rejectOpen counts and returns the rejection of a call that found the
// breaker Open in w, while w's open period lasts; nil once it has ended, or
// if w is over (then look again).
func (c *core) rejectOpen(w word, now int64) error {
	if o := c.open.Load(); o.gen == w.gen() && now < o.until {
		c.rejected.Add(1)
		return o.err
	}
	return nil
}

// admitSlow takes a bulkhead slot if there is one, then admits by state,
// looking again whenever the word moved on under it. now may hold a clock
// reading already taken.
func (c *core) admitSlow(ctx context.Context, now *lazyNow) (p permit, err error) {
	if c.bulk != nil {
		if err := c.bulk.acquire(ctx); err != nil {
			c.rejected.Add(1)
			return p, err
		}
		p.bulk = true
	}
	if c.needStart {
		p.start = now.get()
	}
	for {
		w := word(c.word.Load())
		var done bool
		switch w.state() {
		case Closed, Disabled:
			done, err = c.admitClosed(&p, w, now)
		case HalfOpen:
			done, err = c.admitTrial(&p, w, now)
		case Open:
			done, err = c.admitOpen(&p, w, now)
		case ForcedOpen:
			done, err = true, c.reject(&p, c.forced)
		}
		if done {
			return p, err
		}
	}
}

// admitClosed admits a call in Closed or Disabled, unless hung calls trip the
// breaker first. It reports false when w is over: look again.
func (c *core) admitClosed(p *permit, w word, now *lazyNow) (bool, error) {
	if c.cfg.hungAfter > 0 && w.state() == Closed && c.hungTrip(w, now) {
		return false, nil
	}
	if c.throttle != nil && w.state() == Closed && c.throttle.drop() {
		return true, c.reject(p, c.throttled())
	}
	p.w = w
	c.started(p)
	return true, nil
}

// admitTrial takes one of the half-open round's trial permits, or rejects the
// call when they are all taken.
func (c *core) admitTrial(p *permit, w word, now *lazyNow) (bool, error) {
	if c.cfg.hungAfter > 0 && c.hungTrip(w, now) {
		return false, nil
	}
	if w.admitted() >= c.trialLimit(w) {
		return true, c.reject(p, c.halfFull)
	}
	if !c.word.CompareAndSwap(uint64(w), uint64(w+oneAdmitted)) {
		return false, nil
	}
	p.w = w + oneAdmitted
	c.started(p)
	return true, nil
}

// admitOpen rejects the call while the open period lasts, and moves the
// breaker to HalfOpen once it has ended (then the caller looks again).
func (c *core) admitOpen(p *permit, w word, now *lazyNow) (bool, error) {
	o := c.open.Load()
	if o.gen != w.gen() {
		return false, nil // the word moved on since we loaded it
	}
	if now.get() < o.until {
		return true, c.reject(p, o.err)
	}
	c.move(change{from: w, to: HalfOpen, reason: "open timeout ended", at: o.until})
	return false, nil
}

// trialLimit is how many trials the half-open round in w may admit: with a
// store, only as many as the store granted this replica.
func (c *core) trialLimit(w word) int {
	if c.peer != nil {
		return min(c.cfg.trials, c.peer.probes(w.gen()))
	}
	return c.cfg.trials
}

// reject counts a rejection and gives back the bulkhead slot it may hold.
func (c *core) reject(p *permit, err error) error {
	if p.bulk {
		c.bulk.release()
		p.bulk = false
	}
	c.rejected.Add(1)
	return err
}

// started registers an admitted call with the in-flight trackers.
func (c *core) started(p *permit) {
	if !c.trackInflight() {
		return
	}
	c.inflight.Add(1)
	if c.cfg.hungAfter > 0 {
		p.hung = c.hung.Load()
		p.hung.start(p.start)
	}
}

// openRejection returns the error a call would be rejected with now because
// the breaker is open (Open with its period running, or ForcedOpen), or nil.
// Retry asks it after a failure, so as not to wait for a call that cannot
// pass.
func (c *core) openRejection() error {
	w := word(c.word.Load())
	switch w.state() {
	case ForcedOpen:
		return c.forced
	case Open:
		if o := c.open.Load(); o.gen == w.gen() && c.clk.now() < o.until {
			return o.err
		}
	}
	return nil
}
