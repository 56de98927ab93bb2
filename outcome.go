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
// hint is a minimum open time asked for by the error (see retryHint).
func (c *core) classify(ctx context.Context, timedOut bool, err error) (o outcome, _ error, hint int64) {
	if err == nil && !timedOut && ctx.Done() == nil {
		return success, nil, 0
	}
	if ctx.Done() != nil {
		switch ctx.Err() {
		case context.Canceled:
			return excluded, err, 0 // the caller gave up: says nothing of the dependency
		case context.DeadlineExceeded:
			return failure, err, 0
		}
	}
	if timedOut {
		return failure, c.timeoutError(err), 0
	}
	if err == nil {
		return success, nil, 0
	}
	if c.cfg.exclude != nil && c.cfg.exclude(err) {
		return excluded, err, 0
	}
	if c.cfg.isFailure != nil && !c.cfg.isFailure(err) {
		return success, err, 0
	}
	return failure, err, retryHint(err)
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

// complete counts the outcome of an admitted call. It is the one outcome path
// of Execute, Allow and Group.
func (c *core) complete(p *permit, o outcome, hint int64) {
	if o == success && c.plain && p.w.state() == Closed && c.succeeded(p.w) {
		if c.throttle != nil {
			c.throttleSaw(success, &lazyNow{clk: &c.clk})
		}
		return
	}
	c.completeSlow(p, o, hint)
}

// succeeded is the Closed success path of a plain breaker: at most one clock
// read and one or two uncontended atomic adds, no lock. It reports false,
// counting nothing, when the breaker has left the round w since admission.
func (c *core) succeeded(w word) bool {
	if word(c.word.Load()) != w {
		return false
	}
	if tw := c.tw; tw != nil {
		tw.record(c.clk.now(), success, false, w.gen())
	} else {
		c.cw.record(0, success, false, w.gen())
	}
	c.consecutive.succeed(w.gen())
	return true
}

// completeSlow is every other completion: it frees what the call held,
// records its outcome in its own round, and applies what the outcome means
// in the state the breaker is in.
func (c *core) completeSlow(p *permit, o outcome, hint int64) {
	now := lazyNow{clk: &c.clk}
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
	if st == Closed && o != excluded {
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
	c.afterBadCall(w, p, o, slow, streak, hint, now.get())
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
	at = now.get()
	return at, c.cfg.slowThreshold > 0 && o != excluded && at-p.start >= int64(c.cfg.slowThreshold)
}

// afterBadCall applies the trip rules of the state in w after a failure or a
// slow call: in Closed the rules; in HalfOpen the failed trial reopens it.
func (c *core) afterBadCall(w word, p *permit, o outcome, slow bool, streak, hint, now int64) {
	switch w.state() {
	case Closed:
		c.checkTrip(w, now, o, slow, streak, hint)
	case HalfOpen:
		reason := "trial call failed"
		if o != failure {
			reason = fmt.Sprintf("trial call slow (%v >= %v)", time.Duration(now-p.start), c.cfg.slowThreshold)
		}
		c.move(change{from: w, to: Open, reason: reason, at: now, minOpen: hint})
	}
}

// checkTrip applies the trip rules of Closed after a failure or slow call.
func (c *core) checkTrip(w word, now int64, o outcome, slow bool, streak, hint int64) {
	cfg := c.cfg
	if o == failure && cfg.consecutive > 0 && streak >= int64(cfg.consecutive) {
		c.move(change{from: w, to: Open, reason: plural(int(streak), "consecutive failure"), at: now, minOpen: hint})
		return
	}
	// Every rule is checked after a failure or a slow call (rule 2): a slow
	// success can bring the failure rate to its threshold as surely as a
	// failure, by adding to the calls that meet minCalls.
	if cfg.rate > 0 || cfg.slowThreshold > 0 {
		c.checkRates(w, now, hint)
	}
}

// checkRates applies the failure-rate and slow-call-rate rules to the window
// (with a store, the cluster's window) at now.
func (c *core) checkRates(w word, now, hint int64) {
	cfg := c.cfg
	n := c.win.rates(now, cfg.slowThreshold > 0)
	cluster := false
	if c.peer != nil {
		o := c.peer.others(now) // with a store the rules see the whole cluster's window
		cluster = o.calls() > 0
		n.add(o)
	}
	calls := n.calls()
	if calls < cfg.minCalls || calls == 0 {
		return
	}
	ch := change{from: w, to: Open, at: now, minOpen: hint, cluster: cluster}
	if r := float64(n.failures) / float64(calls); cfg.rate > 0 && r >= cfg.rate {
		ch.reason = fmt.Sprintf("failure rate %s >= %s over %s", percent(r), percent(cfg.rate), plural(calls, "call"))
	} else if r := float64(n.slow) / float64(calls); cfg.slowThreshold > 0 && r >= cfg.slowRate {
		ch.reason = fmt.Sprintf("slow-call rate %s >= %s over %s (slow: >= %v)",
			percent(r), percent(cfg.slowRate), plural(calls, "call"), cfg.slowThreshold)
	} else {
		return
	}
	if cluster {
		ch.reason += " across replicas"
	}
	c.move(ch)
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
