package circuit

import "context"

// run admits fn, runs it and counts its outcome: the one call path of
// Execute, ExecuteWithFallback, Retry and Group.
//
// A bare breaker's Closed call (see core.bare) takes a path of its own:
// admission is one load, and a success is counted by countSuccess. Each call
// level or spilled variable on it costs about as much as the counting, so
// the rest (admission in other states, the call timeout, observers) is kept
// out of this function's frame, in runSlow.
func run[T any](b *Breaker[T], ctx context.Context, fn func(context.Context) (T, error)) (v T, o outcome, err error) {
	c := b.core()
	if fn == nil {
		panic("circuit: Execute with a nil fn")
	}
	w := word(c.word.Load())
	if !c.bare || w.state() != Closed {
		if c.bare && w.state() == Open { // fail fast: no frame of runSlow's
			now, ok := c.clk.mono()
			if !ok {
				now = c.clk.extNow()
			}
			if err := c.rejectOpen(w, now); err != nil {
				return v, turnedAway, err
			}
		}
		return runSlow(c, ctx, fn)
	}
	// call's guard, written out: a call level here costs as much as the
	// counting.
	finished := false
	defer func() {
		if !finished {
			c.complete(&permit{w: w}, failure, nil)
		}
	}()
	v, err = fn(ctx)
	finished = true
	if err == nil && ctx.Done() == nil {
		c.countSuccess(w) // no deadline can end the call: a success
		return v, success, nil
	}
	o, err, cause := c.classify(ctx, false, err)
	c.completeAt(&permit{w: w}, o, cause, lazyNow{clk: &c.clk})
	return v, o, err
}

// call calls fn, and counts a panic in it as a failure of the call admitted
// with p before the panic goes on.
func call[T any](c *core, ctx context.Context, fn func(context.Context) (T, error), p permit) (v T, err error) {
	finished := false
	defer func() {
		if !finished {
			c.complete(&p, failure, nil)
		}
	}()
	v, err = fn(ctx)
	finished = true
	return v, err
}

// runSlow is run for every breaker and state but a bare one's Closed. With
// observers it reads the clock when fn returns, for the outcome and the
// observers both.
func runSlow[T any](c *core, ctx context.Context, fn func(context.Context) (T, error)) (v T, o outcome, err error) {
	observed := c.cfg.observers != nil
	var mark uint64
	now, start := lazyNow{clk: &c.clk}, int64(0)
	if observed {
		mark, start = c.notify.mark(), c.clk.now()
	}
	o = turnedAway
	if p, admitErr := c.admit(ctx); admitErr != nil {
		err = admitErr
	} else {
		var cause error
		v, o, cause, err = runAdmitted(c, ctx, fn, p)
		if observed {
			now.set(c.clk.now())
		}
		c.completeAt(&p, o, cause, now)
	}
	if observed {
		c.observe(ctx, start, now.t, mark, o, err)
	}
	return v, o, err
}

// runAdmitted calls fn, admitted with p, under WithCallTimeout's deadline if
// there is one, and says how its outcome counts.
func runAdmitted[T any](c *core, ctx context.Context, fn func(context.Context) (T, error), p permit) (v T, o outcome, cause, err error) {
	callCtx, cancel := ctx, context.CancelFunc(nil)
	if !c.plain && c.cfg.callTimeout > 0 {
		callCtx, cancel = context.WithTimeout(ctx, c.cfg.callTimeout)
		defer cancel()
	}
	v, err = call(c, callCtx, fn, p)
	if err != nil || cancel != nil || ctx.Done() != nil {
		timedOut := cancel != nil && callCtx.Err() == context.DeadlineExceeded
		o, err, cause = c.classify(ctx, timedOut, err)
	} // else o is success: a nil error from a call no deadline can end
	return v, o, cause, err
}
