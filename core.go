package circuit

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// pad keeps fields written on different paths off one cache line.
type pad [64]byte

// core is the breaker without its type parameter, so that its code is not
// stamped out for every T. Its story, file by file: admit.go lets a call in,
// outcome.go counts how it went and applies the trip rules, transition.go
// changes the state, notify.go tells the hook.
type core struct {
	// word is the packed state (see word). It is read by every call, written
	// by transitions (under mu, by CAS) and by half-open admissions and trial
	// results (CAS, no lock).
	word atomic.Uint64

	// Set by init, read-only after.
	cfg       *config
	name      string
	clk       clock
	tw        *timeWindow // exactly one of tw and cw is set
	cw        *countWindow
	win       window // tw or cw, for the paths off the hot one
	needStart bool   // calls need their start time (slow, hung, call timeout)
	// plain says that no option adds work around a call (bulkhead, hung or
	// slow calls, call timeout): admit and complete then take their
	// short paths.
	plain bool
	// bare says that a Closed call is admitted with one load and its success
	// counted by countSuccess alone: plain, with no throttle or observers.
	bare     bool
	bulk     *bulkhead
	halfFull *rejection // the one rejection of a full half-open round
	forced   *openError // the one rejection of ForcedOpen
	// peer shares the state with other replicas (WithStore); nil without.
	peer      peer
	throttle  *throttle // WithAdaptiveThrottle; nil without
	allowPool sync.Pool // *allowCall

	_ pad
	// consecutive counts failures since the last success. Written by
	// failures, and by successes only when it is not already zero, so that a
	// run of successes leaves its cache line shared. Its own word orders it.
	consecutive streak
	_           pad
	// rejected is added to by every rejection: off the word's line, so that
	// rejecting callers do not slow down each other's reads of the word. A
	// counter only; nothing is ordered by it.
	rejected atomic.Uint64
	_        pad
	// inflight counts admitted calls not yet completed, with a bulkhead or
	// hung-call tracking only: added to at admission, taken from at
	// completion before the bulkhead slot is released, so that it never shows
	// more than the bulkhead's cap. A counter only.
	inflight atomic.Int64
	_        pad

	// trips counts transitions into Open; added to under mu. A counter only.
	trips atomic.Uint64
	// shown holds the totals Metrics last returned, by counter kind, raised
	// by CAS only: a window's totals may run behind its recorders for an
	// instant, and exporters turn totals into counters, which must not fall.
	shown [4]atomic.Uint64
	// open is the current or last open period. It is stored before the word
	// that enters Open, so a reader that sees Open in the word finds a period
	// of that generation or a later one (then it reloads the word).
	open atomic.Pointer[openPeriod]
	// hung tracks the current round's calls in flight (WithHungCalls). A
	// transition stores the next round's tracker before the word, so a
	// tracker whose generation is not the word's means a change under way.
	hung atomic.Pointer[hungTracker]

	// mu serializes transitions; the hot path never takes it.
	mu         sync.Mutex
	tripsInRow int // for WithOpenBackoff; guarded by mu
	notify     notifier
}

func (c *core) init(cfg *config, name string) {
	c.cfg, c.name = cfg, name
	c.clk = newClock(cfg.clock)
	if cfg.countSize > 0 {
		c.cw = newCountWindow(cfg.countSize)
		c.win = c.cw
	} else {
		c.tw = newTimeWindow(int64(cfg.windowLength), cfg.buckets, c.clk.base)
		if cfg.slowThreshold == 0 {
			c.tw.all = readNotSlow
		}
		c.win = c.tw
	}
	c.needStart = cfg.slowThreshold > 0 || cfg.hungAfter > 0 || cfg.callTimeout > 0
	c.plain = !c.needStart && cfg.bulkMax == 0
	c.halfFull = &rejection{name: name, sentinel: ErrTooManyRequests, what: "half-open trial calls all taken"}
	c.forced = &openError{name: name}
	if cfg.bulkMax > 0 {
		c.bulk = newBulkhead(cfg.bulkMax, cfg.bulkWait, &rejection{name: name, sentinel: ErrBulkheadFull,
			what: fmt.Sprintf("bulkhead full: %s in flight", plural(cfg.bulkMax, "call"))})
	}
	if cfg.hungAfter > 0 {
		c.hung.Store(newHungTracker(int64(cfg.hungAfter), 0))
	}
	if cfg.throttleK > 0 {
		c.throttle = newThrottle(c)
	}
	c.bare = c.plain && c.throttle == nil && len(cfg.observers) == 0
	if c.bare && c.tw != nil && cfg.clock == nil {
		c.tw.tickOn(c.clk.base) // no option of this breaker needs a call's own clock reading
	}
	c.notify.fn = cfg.onChange
	c.notify.tagCallers = len(cfg.observers) > 0
	if cfg.store != nil {
		c.peer = newSharer(c)
	}
}

func (c *core) trackInflight() bool { return c.bulk != nil || c.cfg.hungAfter > 0 }

// windowNow is the clock reading at which an outcome counts in the time
// window, or the window is read: while the window's tick runs (see
// window_tick.go), one the window finds in the same buckets as the clock's,
// with no clock read; else now's. A transition's time is always now's.
func (c *core) windowNow(now *lazyNow) int64 {
	if c.tw != nil {
		if t, ok := c.tw.runningNow(); ok {
			return t
		}
	}
	return now.get()
}

// snapshot sets m, which must be zero, to the figures at now, with st as
// the state. It makes no transition. (It fills m in place, field by field:
// Metrics is twenty words, and each copy of it costs as much as a tenth of
// the window's read.)
func (c *core) snapshot(m *Metrics, st State, now int64) {
	n, total := c.win.figures(now)
	m.State = st
	m.Calls, m.Successes, m.Failures = n.calls(), n.successes, n.failures
	m.SlowCalls, m.Excluded = n.slow, n.excluded
	m.ConsecutiveFailures = c.consecutive.count()
	m.Rejected, m.Trips = c.rejected.Load(), c.trips.Load()
	m.MinCalls = c.cfg.minCalls
	if c.throttle != nil {
		m.ThrottleProbability = c.throttle.probability()
	}
	m.Totals = c.totals(total)
	// A rate of no calls is 0 (a division costs Metrics as much as ten
	// counters' reads: none is made for a rate that is 0).
	if n.failures > 0 {
		m.FailureRate = float64(n.failures) / float64(m.Calls)
	}
	if n.slow > 0 {
		m.SlowCallRate = float64(n.slow) / float64(m.Calls)
	}
	if c.cfg.hungAfter > 0 {
		m.Hung = int(c.hung.Load().count(now, int64(c.cfg.hungAfter)))
	}
	if c.trackInflight() {
		// Read apart from Hung, a call may end between the two reads: the
		// hung calls are in flight, so Hung never shows more.
		m.InFlight = int(c.inflight.Load())
		m.Hung = min(m.Hung, m.InFlight)
	}
	if c.peer != nil {
		m.StoreErrors = c.peer.errors()
	}
}

// plural returns "1 call", "2 calls".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
