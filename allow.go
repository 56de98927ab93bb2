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
	ctx context.Context
	p   permit
	seq atomic.Uint64
}

func noDone(error) {}

// allow is Breaker.Allow: admission now, the outcome when done is called.
func (c *core) allow(ctx context.Context) (func(error), error) {
	p, err := c.admit(ctx)
	if err != nil {
		return noDone, err
	}
	a, _ := c.allowPool.Get().(*allowCall)
	if a == nil {
		a = new(allowCall)
	}
	a.ctx, a.p = ctx, p
	call, seq := a, a.seq.Load()
	return func(err error) {
		if !call.seq.CompareAndSwap(seq, seq+1) {
			return // done already called
		}
		ctx, p := call.ctx, call.p
		call.ctx = nil
		c.allowPool.Put(call)
		timedOut := c.cfg.callTimeout > 0 && c.clk.now()-p.start >= int64(c.cfg.callTimeout)
		o, _, hint := c.classify(ctx, timedOut, err)
		c.complete(&p, o, hint)
	}, nil
}
