package circuit

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
)

// WithAdaptiveThrottle turns on client-side adaptive throttling (Google SRE,
// "Handling Overload"): while Closed, a call is rejected locally, with an
// error wrapping ErrThrottled, with probability
//
//	max(0, (requests - k*accepts) / (requests + 1))
//
// over the breaker's window, where requests counts every call the breaker was
// asked to make in Closed (throttled ones too; excluded and ignored calls
// aside) and accepts the successes. A dependency that answers only some calls
// then gets about k times the calls it can accept, instead of the whole
// load, and the breaker needs its trip rules only for a dependency that is
// down. k must be at least 1: 2 is the usual choice, lower throttles sooner.
// A throttled call is a rejection (Metrics.Rejected), never a failure, and
// RetryAfter gives nothing for it. Off by default.
//
// While it throttles a dead dependency, only about one call in requests
// reaches it, so the trip rules meant for a dead dependency need a small
// minCalls (say 5 to 10). For a count window, the throttled calls counted
// are the last size of them.
func WithAdaptiveThrottle(k float64) Option {
	return func(c *config) {
		if !(k >= 1) || math.IsInf(k, 0) {
			c.fail(invalidf("WithAdaptiveThrottle", "k %v is not a finite number >= 1", k))
			return
		}
		c.throttleK = k
	}
}

// throttle is the adaptive throttle of a breaker.
type throttle struct {
	k   float64
	err *rejection
	// p holds the float64 bits of the rejection probability. Written after
	// each failure, and, while it is above zero, after each success and
	// throttled call; read by every admission in Closed. It is a hint that
	// the next write corrects, so no ordering is relied on.
	p atomic.Uint64
	// Throttled calls, in a window of the breaker's kind (one of the two).
	tw *timeWindow
	cw *countWindow
}

func newThrottle(c *core) *throttle {
	t := &throttle{k: c.cfg.throttleK,
		err: &rejection{name: c.name, sentinel: ErrThrottled, what: "call throttled: the dependency accepts too few calls"}}
	if c.tw != nil {
		t.tw = newTimeWindow(int64(c.cfg.windowLength), c.cfg.buckets, c.clk.base)
	} else {
		t.cw = newCountWindow(c.cfg.countSize)
	}
	return t
}

// probability returns the current rejection probability.
func (t *throttle) probability() float64 { return math.Float64frombits(t.p.Load()) }

// drop draws whether to throttle an admission: one atomic load while healthy.
func (t *throttle) drop() bool {
	p := t.probability()
	return p > 0 && rand.Float64() < p
}

// throttled records a throttled call, updates the probability, and returns
// the rejection; the caller counts it in rejected.
func (c *core) throttled() error {
	t := c.throttle
	now := c.clk.now()
	if t.tw != nil {
		t.tw.record(now, success, false, 0)
	} else {
		t.cw.record(now, success, false, 0)
	}
	c.updateThrottle(now)
	return t.err
}

// updateThrottle recomputes the rejection probability from the window at now.
func (c *core) updateThrottle(now int64) {
	t := c.throttle
	n := c.win.counts(now)
	var dropped counts
	if t.tw != nil {
		dropped = t.tw.counts(now)
	} else {
		dropped = t.cw.counts(now)
	}
	requests := float64(n.calls() + dropped.calls())
	p := max(0, (requests-t.k*float64(n.successes))/(requests+1))
	t.p.Store(math.Float64bits(p))
}

// throttleSaw updates the throttle after a counted call in Closed: after a
// failure always, after a success only while it throttles (so that a healthy
// breaker's successes cost nothing more).
func (c *core) throttleSaw(o outcome, now *lazyNow) {
	if t := c.throttle; t != nil && (o == failure || t.p.Load() != 0) {
		c.updateThrottle(now.get())
	}
}
