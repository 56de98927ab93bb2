package circuit

import (
	"context"
	"fmt"
	"time"
)

// outcome is how a completed call counts.
type outcome uint8

const (
	success  outcome = iota // counted, the dependency did its job
	failure                 // counted, the dependency failed
	excluded                // not counted: excluded by WithExclude, or its caller gave up
	// turnedAway is a call the breaker rejected: it never ran. Execute
	// reports it to Retry; it is never recorded.
	turnedAway outcome = 0xff
)

// classify says how a completed call counts (DESIGN rule 1) and what error the
// caller gets: fn's, or one wrapping context.DeadlineExceeded when timedOut.
// cause is the error of a failure that may ask for a minimum open time
// (see retryHint: asked only if the failure trips the breaker, not on every
// failure, where its type assertions were 4% of a failure's time).
func (c *core) classify(ctx context.Context, timedOut bool, err error) (o outcome, _ error, cause error) {
	if err == nil && !timedOut && ctx.Done() == nil {
		return success, nil, nil
	}
	if ctx.Done() != nil {
		switch ctx.Err() {
		case context.Canceled:
			return excluded, err, nil // the caller gave up: says nothing of the dependency
		case context.DeadlineExceeded:
			return failure, err, nil
		}
	}
	if timedOut {
		return failure, c.timeoutError(err), nil
	}
	if err == nil {
		return success, nil, nil
	}
	if c.cfg.exclude != nil && c.cfg.exclude(err) {
		return excluded, err, nil
	}
	if c.cfg.isFailure != nil && !c.cfg.isFailure(err) {
		return success, err, nil
	}
	return failure, err, err
}

func (c *core) timeoutError(err error) error {
	switch {
	case err == nil:
		return fmt.Errorf("circuit: call ran past its %v timeout: %w", c.cfg.callTimeout, context.DeadlineExceeded)
	case isDeadline(err):
		return err
	}
	return fmt.Errorf("circuit: call ran past its %v timeout: %w: %w", c.cfg.callTimeout, context.DeadlineExceeded, err)
}

// complete counts the outcome of an admitted call: the one outcome path of
// Execute, Allow and Group, but for a bare breaker's Closed success
// (countSuccess). A plain breaker's Closed success is one clock read and,
// nearly always, one atomic add, no lock, and nothing written that other
// callers read but the bucket's counter.
func (c *core) complete(p *permit, o outcome, cause error) {
	c.completeAt(p, o, cause, lazyNow{clk: &c.clk})
}

// completeAt is complete with the clock reading at the call's end given, or
// read when first needed (now).
func (c *core) completeAt(p *permit, o outcome, cause error, now lazyNow) {
	w := p.w
	if o != success || !c.plain || w.state() != Closed || word(c.word.Load()) != w {
		// Not that path, or the breaker has left the round w since admission.
		c.completeSlow(p, o, cause, now)
		return
	}
	if tw := c.tw; tw != nil {
		tw.record(now.get(), success, false, w.gen())
	} else {
		c.cw.record(0, success, false, w.gen())
	}
	c.consecutive.succeed(w.gen())
	if c.throttle != nil {
		c.throttleSaw(success, &now)
	}
}

// countSuccess is completeAt for a success of a bare breaker's call
// admitted in Closed round w (see run): with a time window and its tick
// (see window_tick.go), a load of the latest period recorded and, nearly
// always, one atomic add to its counter, with no clock read and no call in
// between. Once the tick has marked that period over, or without a tick,
// complete reads the clock to find where the success goes.
func (c *core) countSuccess(w word) {
	tw := c.tw
	if tw == nil {
		c.complete(&permit{w: w}, success, nil)
		return
	}
	r, lp := tw.ring.Load(), tw.last.Load()
	if lp&placeOver != 0 || word(c.word.Load()) != w || genBefore(w.gen(), r.gen) {
		c.complete(&permit{w: w}, success, nil) // the clock's path, or a late outcome
		return
	}
	// record's add, written out: a call level here costs as much as the add.
	streak := c.consecutive.v.Load()
	p := &r.c[lp&placeSlot] // the success counter of last's period
	if v := p.Add(1); v>>32 != uint64(uint32(lp>>placeBits)) {
		addStray(p, v, uint32(lp>>placeBits), &tw.gone[success])
	}
	if uint32(streak) != 0 {
		c.consecutive.succeed(w.gen())
	}
}

// completeSlow is every other completion: it frees what the call held,
// records its outcome in its own round, and applies what the outcome means
// in the state the breaker is in.
func (c *core) completeSlow(p *permit, o outcome, cause error, now lazyNow) {
	at, slow := c.release(p, o, &now)
	w := word(c.word.Load())
	if !w.sameRound(p.w) {
		return // a late outcome of a round that is over
	}
	st := w.state()
	if st != Closed && st != Disabled && st != HalfOpen {
		return
	}
	gen := p.w.gen()
	if c.tw != nil {
		c.tw.record(at, o, slow, gen)
	} else {
		c.cw.record(at, o, slow, gen)
	}
	if c.throttle != nil && st == Closed && o != excluded {
		c.throttleSaw(o, &now)
	}
	var streak int64
	switch o {
	case success:
		c.consecutive.succeed(gen)
		if !slow {
			if st == HalfOpen {
				c.trialSucceeded(w, &now)
			}
			return
		}
	case failure:
		streak = c.consecutive.fail(gen)
	case excluded:
		if st == HalfOpen {
			c.giveBack(w)
		}
		return
	}
	c.afterBadCall(w, p, o, slow, streak, cause, &now)
}

// release takes the call out of the in-flight trackers and frees its bulkhead
// slot, and returns when its outcome counts in a time window (at) and whether
// it was slow.
func (c *core) release(p *permit, o outcome, now *lazyNow) (at int64, slow bool) {
	// Out of the in-flight count before the bulkhead slot is free, so that
	// InFlight never shows more than the bulkhead's cap.
	long := false // the call outlived its hung tracker's ring (2 × after)
	if c.trackInflight() {
		c.inflight.Add(-1)
		if p.hung != nil {
			long = p.hung.end(p.start)
		}
	}
	if p.bulk {
		c.bulk.release()
	}
	// at is when the outcome counts in a time window: now. But a call that
	// WithHungCalls tracks has its start read already, and, unless it ran
	// past twice after, started within that of now; its start then serves,
	// and saves the second clock read (without a slow-call rule, which needs
	// the end). It is a bucket early at most when after is a bucket long.
	if c.tw == nil && c.cfg.slowThreshold == 0 {
		return 0, false
	}
	if p.hung != nil && c.cfg.slowThreshold == 0 && !long {
		return p.start, false
	}
	at = c.windowNow(now) // the tick runs only without a slow-call rule (on a bare breaker)
	return at, c.cfg.slowThreshold > 0 && o != excluded && at-p.start >= int64(c.cfg.slowThreshold)
}

// afterBadCall applies the trip rules of the state in w after a failure or a
// slow call: in Closed the rules; in HalfOpen the failed trial reopens it.
func (c *core) afterBadCall(w word, p *permit, o outcome, slow bool, streak int64, cause error, now *lazyNow) {
	switch w.state() {
	case Closed:
		c.checkTrip(w, now, o, slow, streak, cause)
	case HalfOpen:
		reason := "trial call failed"
		if o != failure {
			reason = fmt.Sprintf("trial call slow (%v >= %v)", time.Duration(now.get()-p.start), c.cfg.slowThreshold)
		}
		c.move(change{from: w, to: Open, reason: reason, at: now.get(), minOpen: retryHint(cause)})
	}
}

// checkTrip applies the trip rules of Closed after a failure or slow call.
// It reads the clock only if a rule needs it: a count window without a store
// needs it only to trip.
func (c *core) checkTrip(w word, now *lazyNow, o outcome, slow bool, streak int64, cause error) {
	cfg := c.cfg
	if o == failure && cfg.consecutive > 0 && streak >= int64(cfg.consecutive) {
		c.move(change{from: w, to: Open, reason: plural(int(streak), "consecutive failure"), at: now.get(), minOpen: retryHint(cause)})
		return
	}
	// Every rule is checked after a failure or a slow call (rule 2): a slow
	// success can bring the failure rate to its threshold as surely as a
	// failure, by adding to the calls that meet minCalls.
	if cfg.rate > 0 || cfg.slowThreshold > 0 {
		c.rateCheck(w, now, cause)
	}
}

// checkRates applies the failure-rate and slow-call-rate rules to the window
// (with a store, the cluster's window) at now. The window's guess rules out
// most checks at the cost of a few loads (see timeWindow.guess); a check it
// cannot rule out reads the window in full, in the order that makes the
// figures err towards not tripping, and only those figures trip it.
func (c *core) checkRates(w word, now int64) {
	lazy := lazyNow{clk: &c.clk}
	lazy.set(now)
	c.rateCheck(w, &lazy, nil)
}

// rateCheck is checkRates with the clock read only if needed: a count window
// without a store needs it only to trip.
func (c *core) rateCheck(w word, lazy *lazyNow, cause error) {
	cfg, now := c.cfg, int64(0)
	if c.tw != nil || c.peer != nil {
		now = c.windowNow(lazy) // a trip's time, below, reads the clock
	}
	if n, ok := c.win.guess(now, cfg.slowThreshold > 0); ok {
		if c.peer != nil {
			n, _ = c.withCluster(n, now)
		}
		if f, s := c.ratesTrip(n); !f && !s {
			return
		}
	}
	n, cluster := c.withCluster(c.win.rates(now, cfg.slowThreshold > 0), now)
	var reason string
	switch f, s := c.ratesTrip(n); {
	case f:
		r := float64(n.failures) / float64(n.calls())
		reason = fmt.Sprintf("failure rate %s >= %s over %s", percent(r), percent(cfg.rate), plural(n.calls(), "call"))
	case s:
		r := float64(n.slow) / float64(n.calls())
		reason = fmt.Sprintf("slow-call rate %s >= %s over %s (slow: >= %v)",
			percent(r), percent(cfg.slowRate), plural(n.calls(), "call"), cfg.slowThreshold)
	default:
		return
	}
	if cluster {
		reason += " across replicas"
	}
	c.move(change{from: w, to: Open, reason: reason, at: lazy.get(), minOpen: retryHint(cause), cluster: cluster})
}

// withCluster adds to the window's figures n the other replicas' (with a
// store the rules see the whole cluster's window), and reports whether there
// were any.
func (c *core) withCluster(n counts, now int64) (counts, bool) {
	if c.peer == nil {
		return n, false
	}
	o := c.peer.others(now)
	n.add(o)
	return n, o.calls() > 0
}

// ratesTrip says whether the figures n trip the failure-rate rule and the
// slow-call-rate rule (rule 2).
func (c *core) ratesTrip(n counts) (failureRate, slowRate bool) {
	cfg, calls := c.cfg, float64(n.calls())
	if n.calls() < cfg.minCalls || calls == 0 {
		return false, false
	}
	return cfg.rate > 0 && float64(n.failures)/calls >= cfg.rate,
		cfg.slowThreshold > 0 && float64(n.slow)/calls >= cfg.slowRate
}

func percent(r float64) string {
	s := fmt.Sprintf("%.1f", r*100)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s + "%"
}

// trialSucceeded counts a successful trial of the half-open round in w and
// closes the breaker when enough have succeeded.
func (c *core) trialSucceeded(w word, now *lazyNow) {
	for {
		cur := word(c.word.Load())
		if !cur.sameRound(w) {
			return
		}
		next := cur + oneSuccess
		if c.word.CompareAndSwap(uint64(cur), uint64(next)) {
			// Only the success that reaches the threshold closes: later ones
			// of the same round would race it to the same transition.
			if s := next.successes(); s == c.cfg.successThreshold {
				c.move(change{from: next, to: Closed, reason: plural(s, "trial call") + " succeeded", at: now.get()})
			}
			return
		}
	}
}

// giveBack returns the trial permit of an excluded or ignored trial call.
func (c *core) giveBack(w word) {
	for {
		cur := word(c.word.Load())
		if !cur.sameRound(w) || cur.admitted() == 0 {
			return
		}
		if c.word.CompareAndSwap(uint64(cur), uint64(cur-oneAdmitted)) {
			return
		}
	}
}
