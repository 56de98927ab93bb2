package circuit

import "time"

// A bare breaker's Closed success (see core.countSuccess) finds its bucket
// without reading the clock, which costs more than all the rest of its
// path: the window's tick, a runtime timer, marks the latest period recorded
// over (placeOver in last) once the clock has left it. Until then a success
// counts in that period, found with one load; a failure, and a read of the
// window, take the period from it too (core.windowNow). The first record
// after the mark reads the clock, begins the new period and sets the tick for
// its end.
// A tick that has marked its period is not set again until a record comes,
// so an idle window costs nothing.
//
// The mark is also how a window starts: its first period is taken as over,
// and the tick is made by the first record, which finds with the clock that
// the period lasts, takes the mark off and sets the tick (unmark). A window
// that never sees a call has no timer.
//
// A timer never fires before the time it was set for, so a success never
// counts in a period before it has begun. It may fire late, by the runtime's
// timer latency (microseconds on a machine with time to spare, more under
// load): a success finished in that time after a period's end counts in the
// period before, and leaves the window that much early. Nothing is lost.
//
// A window read by an external Clock has no tick: the clock is the caller's,
// and time moves when it says so. Every raise of last then carries the mark
// (mark stays placeOver), and every success reads the clock.

// tickOn lets w tick, for the monotonic clock whose zero is base. It is
// called before the window is used.
func (w *timeWindow) tickOn(base time.Time) { w.base, w.mark = base, 0 }

// unmark is called by a record whose clock reading found last's period,
// marked over at place lp, still running: the window's first period (see
// above), or a tick that marked it while the success read the clock just
// before its end. It takes the mark off, and expire puts it back at once if
// the clock has left the period since, or sets the tick for its end.
func (w *timeWindow) unmark(lp int64) {
	if w.mark == 0 && w.last.CompareAndSwap(lp, lp&^placeOver) {
		w.expire()
	}
}

// runningNow returns a clock reading for a read of the window (figures)
// when the tick has not marked last's period over: any reading in that
// period finds the same buckets (see latest), and its start serves with no
// clock read. ok is false once the period is over, and without a tick.
func (w *timeWindow) runningNow() (now int64, ok bool) {
	lp := w.last.Load()
	if lp&placeOver != 0 {
		return 0, false
	}
	return w.start(lp >> placeBits), true
}

// start is the clock reading at which period e begins.
func (w *timeWindow) start(e int64) int64 { return e*w.width - w.phase }

// expire marks last's period over if the clock has left it, and else sets
// the tick for the period's end. It is the tick's func, and runs after each
// raise of last and each unmark: its own clock reading, not the caller's,
// which may be old by the time its CAS lands, says whether the period runs.
// The tick set for an older period (two of these racing) fires early, and
// sets itself again.
func (w *timeWindow) expire() {
	for {
		lp := w.last.Load()
		if lp&placeOver != 0 {
			return // over, or a window without a tick
		}
		if end, now := w.start(lp>>placeBits+1), int64(time.Since(w.base)); end > now {
			w.setTick(time.Duration(end - now))
			return
		}
		if w.last.CompareAndSwap(lp, lp|placeOver) {
			return
		}
	}
}

// setTick sets the tick to fire in d, making it the first time.
func (w *timeWindow) setTick(d time.Duration) {
	w.tickMu.Lock()
	defer w.tickMu.Unlock()
	if w.tick == nil {
		w.tick = time.AfterFunc(d, w.expire)
	} else {
		w.tick.Reset(d)
	}
}
