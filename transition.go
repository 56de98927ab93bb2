package circuit

import (
	"math"
	"sync/atomic"
	"time"
)

// openPeriod is what a breaker needs while it is Open: when the period ends,
// and the one error value that every caller rejected in it receives, so that
// a rejection allocates nothing.
type openPeriod struct {
	gen   uint64 // the generation of the Open round it belongs to
	until int64  // end of the open period, clock nanoseconds
	err   *openError
	// over, if not nil, is set by a timer once the clock has reached until
	// (see timeOpen); until then a bare breaker rejects with no clock read.
	over *atomic.Bool
}

// change is one transition for move to make.
type change struct {
	from    word
	to      State
	reason  string
	at      int64 // when it happened, clock nanoseconds
	minOpen int64 // to Open: stay open at least this long
	until   int64 // to Open: if > 0, the exact end of the open period (set by the store)
	cluster bool  // to Open: tripped on cluster-wide figures, or by the store
}

// move makes the transition ch, and reports whether it did: false means the
// breaker had left ch.from's round (another transition got there first). It
// is the one function that moves the state word to a new round; the hook
// runs after mu is released, before move returns.
func (c *core) move(ch change) bool {
	c.mu.Lock()
	w := word(c.word.Load())
	if !w.sameRound(ch.from) || w.state() != ch.from.state() {
		c.mu.Unlock()
		return false
	}
	gen := w.gen() + 1
	c.enter(ch, gen)
	// Only the half-open permit fields change outside mu; retry over them.
	next := makeWord(ch.to, gen)
	for !c.word.CompareAndSwap(uint64(w), uint64(next)) {
		w = word(c.word.Load())
	}
	queued := ch.from.state() != ch.to && c.notify.queue(Transition{
		Name: c.name, From: ch.from.state(), To: ch.to, At: c.clk.at(ch.at), Reason: ch.reason,
	})
	c.mu.Unlock()
	if queued {
		c.notify.deliver()
	}
	return true
}

// enter prepares round gen of state ch.to before the word shows it: the open
// period, an emptied window, a fresh hung-call tracker; and tells the peer.
// Called under mu.
func (c *core) enter(ch change, gen uint64) {
	switch ch.to {
	case Open:
		c.tripsInRow++
		until := ch.until
		if until == 0 {
			until = c.openUntil(ch.at, ch.minOpen)
		}
		o := &openPeriod{gen: gen, until: until, err: &openError{name: c.name, until: until, clk: &c.clk}}
		if c.bare && c.clk.ext == nil {
			if d := until - c.clk.now(); d > 0 {
				o.over = timeOpen(d)
			}
		}
		c.open.Store(o)
		c.trips.Add(1)
		if c.peer != nil {
			c.peer.tripped(gen, ch.at, until, ch.reason, ch.cluster)
		}
	case Closed:
		c.tripsInRow = 0
		c.win.reset(gen)
		c.consecutive.reset(gen)
		if c.peer != nil {
			c.peer.closed(gen, ch.at)
		}
	}
	if c.cfg.hungAfter > 0 {
		c.hung.Store(newHungTracker(int64(c.cfg.hungAfter), gen))
	}
}

// openUntil is the end of an open period that starts at at: the open timeout
// or backoff step, at least minOpen, saturating rather than overflowing (an
// error may ask for an absurdly long period). Called under mu.
func (c *core) openUntil(at, minOpen int64) int64 {
	d := int64(c.cfg.openTimeout)
	if c.cfg.openBackoff != nil {
		d = max(int64(c.cfg.openBackoff(c.tripsInRow)), 0)
	}
	d = max(d, minOpen)
	if d < math.MaxInt64-at {
		return at + d
	}
	return math.MaxInt64
}

// timeOpen returns a flag that a timer sets once d has passed: the end of an
// open period, for failFast, which rejects with no clock read while it is
// unset. A timer never fires early, so no call is admitted before the period
// ends; it may fire late, by the runtime's timer latency, and calls in that
// time are rejected (State, which reads the clock, ends the period on time).
// The timer holds the flag only, not the breaker, and its func returns at
// once.
func timeOpen(d int64) *atomic.Bool {
	over := new(atomic.Bool)
	time.AfterFunc(time.Duration(d), func() { over.Store(true) })
	return over
}

// state returns the state now, making the transitions that time or hung calls
// have brought about.
func (c *core) state() State {
	now := lazyNow{clk: &c.clk}
	for {
		w := word(c.word.Load())
		switch w.state() {
		case Open:
			o := c.open.Load()
			if o.gen != w.gen() {
				continue
			}
			if now.get() >= o.until {
				c.move(change{from: w, to: HalfOpen, reason: "open timeout ended", at: o.until})
				continue
			}
		case Closed, HalfOpen:
			if c.cfg.hungAfter > 0 && c.hungTrip(w, &now) {
				continue
			}
		}
		return w.state()
	}
}

// force moves the breaker to st whatever its state (ForceOpen, Disable,
// Reset). Reset empties the window even from Closed.
func (c *core) force(st State, reason string) {
	// An Open breaker whose timeout has passed is HalfOpen (rule 3): make
	// that transition first, so the hook sees the same history whether or
	// not anyone read the state in between.
	c.state()
	for {
		w := word(c.word.Load())
		if w.state() == st && st != Closed {
			return
		}
		if c.move(change{from: w, to: st, reason: reason, at: c.clk.now()}) {
			return
		}
	}
}
