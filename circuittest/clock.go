// Package circuittest helps test code that uses package circuit.
package circuittest

import (
	"sync/atomic"
	"time"
)

// Clock is a fake circuit.Clock whose time moves only when Advance is called,
// so that tests drive a breaker's open timeouts and windows without sleeping.
// It is safe for concurrent use.
type Clock struct {
	start   time.Time
	elapsed atomic.Int64 // nanoseconds since start
}

// NewClock returns a Clock that reads start until it is advanced.
func NewClock(start time.Time) *Clock {
	return &Clock{start: start}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	return c.start.Add(time.Duration(c.elapsed.Load()))
}

// Advance moves the clock forward by d. A negative d is ignored: a breaker's
// clock never goes back.
func (c *Clock) Advance(d time.Duration) {
	if d > 0 {
		c.elapsed.Add(int64(d))
	}
}
