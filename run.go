package circuit

import "context"

// run admits fn, runs it and counts its outcome: the one call path of
// Execute, ExecuteWithFallback, Retry and Group.
//
// A bare breaker's Closed call (see core.bare) takes a path of its own:
// admission is one load, and a success is counted by countSuccess. Each call
// level or spilled variable on it costs about as much as the counting, so
// the rest (admission in other states, the call timeout, observers) is kept
// out of this function's frame, in runCounted.
func run[T any](b *Breaker[T], ctx context.Context, fn func(context.Context) (T, error)) (v T, o outcome, err error) {
	c := b.core()
	if fn == nil {
		panic("circuit: Execute with a nil fn")
	}
	w := word(c.word.Load())
	if !c.bare || w.state() != Closed {
		if c.bare {
			if err := c.failFast(w); err != nil {
				return v, turnedAway, err
			}
		}
		if c.cfg.observers != nil {
			return runObserved(c, ctx, fn)
		}
		v, o, _, err = runCounted(c, ctx, fn)
		return v, o, err
	}
	// runCounted's guard, written out: a call level here costs as much as
	// the counting.
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

// runObserved is run with observers: it reads the clock when fn returns, for
// the outcome and the observers both.
func runObserved[T any](c *core, ctx context.Context, fn func(context.Context) (T, error)) (v T, o outcome, err error) {
	mark, start := c.notify.mark(), c.clk.now()
	v, o, end, err := runCounted(c, ctx, fn)
	c.observe(ctx, start, end, mark, o, err)
	return v, o, err
}

// runCounted is run for every breaker and state but a bare one's Closed:
// admission, WithCallTimeout's deadline, the call guarded against a panic
// (counted as a failure before the panic goes on), and the outcome. With
// observers it reads the clock when fn returns (end).
func runCounted[T any](c *core, ctx context.Context, fn func(context.Context) (T, error)) (v T, o outcome, end int64, err error) {
	p, err := c.admit(ctx)
	if err != nil {
		return v, turnedAway, 0, err
	}
	callCtx, cancel := ctx, context.CancelFunc(nil)
	if !c.plain && c.cfg.callTimeout > 0 {
		callCtx, cancel = context.WithTimeout(ctx, c.cfg.callTimeout)
	}
	finished := false
	defer func() {
		if !finished {
			c.complete(&p, failure, nil)
		}
		if cancel != nil {
			cancel()
		}
	}()
	v, err = fn(callCtx)
	finished = true
	var cause error
	if err != nil || cancel != nil || ctx.Done() != nil {
		timedOut := cancel != nil && callCtx.Err() == context.DeadlineExceeded
		o, err, cause = c.classify(ctx, timedOut, err)
	} // else o is success: a nil error from a call no deadline can end
	now := lazyNow{clk: &c.clk}
	if c.cfg.observers != nil {
		now.set(c.clk.now())
	}
	c.completeAt(&p, o, cause, now)
	return v, o, now.t, err
}
