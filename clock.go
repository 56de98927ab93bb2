package circuit

import "time"

// Clock tells a breaker the time. The system's monotonic clock is used unless
// WithClock gives another; circuittest.Clock is a fake one for tests.
type Clock interface {
	Now() time.Time
}

// clock reads time as nanoseconds since the breaker was made. With no
// external Clock that is one monotonic clock read (time.Since of a time with
// a monotonic reading); with one, it is Now().Sub(base): the same arithmetic,
// so that a breaker behaves exactly alike on a fake clock.
type clock struct {
	ext  Clock
	base time.Time
}

func newClock(ext Clock) clock {
	if ext != nil {
		return clock{ext: ext, base: ext.Now()}
	}
	return clock{base: time.Now()}
}

// now is the clock's reading. It is too large to inline; the hottest paths
// spell it out as mono, then extNow.
func (c *clock) now() int64 {
	if t, ok := c.mono(); ok {
		return t
	}
	return c.extNow()
}

// extNow is the reading of an external Clock.
func (c *clock) extNow() int64 { return int64(c.ext.Now().Sub(c.base)) }

// mono is now without an external Clock (ok false with one), small enough to
// inline where now is not: on the hottest paths a call level costs as much
// as the work around the clock read.
func (c *clock) mono() (t int64, ok bool) {
	if c.ext != nil {
		return 0, false
	}
	return int64(time.Since(c.base)), true
}

// at turns a clock reading back into a time.
func (c *clock) at(n int64) time.Time { return c.base.Add(time.Duration(n)) }

// lazyNow is a clock reading taken at most once, when first needed: most
// paths through the breaker need the time on some branches only, and one
// read costs more than the rest of the Closed path.
type lazyNow struct {
	clk  *clock
	t    int64
	read bool
}

func (l *lazyNow) get() int64 {
	if !l.read {
		l.t, l.read = l.clk.now(), true
	}
	return l.t
}

// set records a reading already taken.
func (l *lazyNow) set(t int64) { l.t, l.read = t, true }
