package circuit

import (
	"context"
	"sync/atomic"
)

// allowCall carries an Allow's permit to its done function. They are pooled
// (core.allowPool): seq tells a done function whether the allowCall is still
// its own. seq is advanced by CAS by the done that owns it, before the
// allowCall goes back to the pool, so a second call of that done finds it
// moved on and does nothing.
type allowCall struct {
	c   *core // the breaker whose pool holds it: set once, when made
	ctx context.Context
	p   permit
	seq atomic.Uint64
}

func noDone(error) {}

// allow is Breaker.Allow: admission now, the outcome when done is called.
func (c *core) allow(ctx context.Context) (func(error), error) {
	if c.cfg.observers != nil {
		return c.allowObserved(ctx)
	}
	var p permit
	if p.w = word(c.word.Load()); !c.bare || p.w.state() != Closed {
		var err error
		if p, err = c.admit(ctx); err != nil {
			return noDone, err
		}
	} // else admitted as run admits: one load
	a, _ := c.allowPool.Get().(*allowCall)
	if a == nil {
		a = &allowCall{c: c}
	}
	a.ctx, a.p = ctx, p
	call, seq := a, a.seq.Load()
	return func(err error) { // holds two words besides its code: one small allocation
		if !call.seq.CompareAndSwap(seq, seq+1) {
			return // done already called
		}
		c, ctx, p := call.c, call.ctx, call.p
		call.ctx = nil
		c.allowPool.Put(call)
		if err == nil && c.bare && ctx.Done() == nil && p.w.state() == Closed {
			c.countSuccess(p.w) // as run counts it
			return
		}
		timedOut := c.cfg.callTimeout > 0 && c.clk.now()-p.start >= int64(c.cfg.callTimeout)
		o, _, cause := c.classify(ctx, timedOut, err)
		c.complete(&p, o, cause)
	}, nil
}

// allowObserved is allow with observers: they are told of a rejection at
// once, and of an admitted call when its done is first called.
func (c *core) allowObserved(ctx context.Context) (func(error), error) {
	mark, start := c.notify.mark(), c.clk.now()
	p, err := c.admit(ctx)
	if err != nil {
		c.observe(ctx, start, 0, mark, turnedAway, err)
		return noDone, err
	}
	var once atomic.Bool
	return func(err error) {
		if !once.CompareAndSwap(false, true) {
			return // done already called
		}
		mark, end := c.notify.mark(), c.clk.now()
		timedOut := c.cfg.callTimeout > 0 && end-p.start >= int64(c.cfg.callTimeout)
		o, err, cause := c.classify(ctx, timedOut, err)
		now := lazyNow{clk: &c.clk}
		now.set(end)
		c.completeAt(&p, o, cause, now)
		c.observe(ctx, start, end, mark, o, err)
	}, nil
}
