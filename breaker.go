// Package circuit provides circuit breakers that stop calls to a failing
// dependency before they pile up behind it.
//
// A Breaker is Closed while the dependency is well: calls pass and their
// outcomes are counted in a rolling window. When a trip rule fires (too many
// failures in a row, too high a failure or slow-call rate, too many calls
// hung) it is Open: every call fails fast with ErrOpen, without reaching the
// dependency. After the open timeout it is HalfOpen: a few trial calls probe
// the dependency, and their outcome closes or reopens it.
//
// Most callers want Breaker.Execute. Group keeps one breaker per dependency
// key, Retry retries through a breaker, and package circuithttp puts a breaker
// per host in front of an http.RoundTripper.
package circuit

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

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

func (c *clock) now() int64 {
	if c.ext == nil {
		return int64(time.Since(c.base))
	}
	return int64(c.ext.Now().Sub(c.base))
}

func (c *clock) at(n int64) time.Time { return c.base.Add(time.Duration(n)) }

// unknown marks a clock reading not taken yet.
const unknown = math.MinInt64

// Breaker is a circuit breaker for calls that return a T.
//
// It has three working states. Closed lets calls pass and counts their
// outcomes; when a trip rule fires it turns Open and rejects every call at
// once with an error wrapping ErrOpen. When the open timeout has passed it is
// HalfOpen: a few trial calls are let through, and enough successes close it
// again while a failure reopens it. ForceOpen and Disable override the
// automatic states until Reset.
//
// Execute runs a call through the breaker and is what most callers want.
// ExecuteWithFallback adds a fallback, and Allow is the two-step form for
// calls that cannot be wrapped in a function.
//
// A Breaker is safe for concurrent use by multiple goroutines. The Closed
// success path takes no lock and allocates nothing. Make one with New.
type Breaker[T any] struct {
	c core
}

// New returns a breaker configured by opts. An invalid option value makes it
// return an error wrapping ErrInvalidOption that names the option and the
// value.
func New[T any](opts ...Option) (*Breaker[T], error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	b := new(Breaker[T])
	b.c.init(cfg, cfg.name)
	return b, nil
}

// MustNew is like New but panics where New returns an error. It is meant for
// options fixed in the program's text.
func MustNew[T any](opts ...Option) *Breaker[T] {
	b, err := New[T](opts...)
	if err != nil {
		panic(err)
	}
	return b
}

// Execute calls fn if the breaker admits the call, and counts its outcome.
//
// A rejected call returns the zero T and an error wrapping ErrOpen,
// ErrTooManyRequests or ErrBulkheadFull, without calling fn. Otherwise it
// returns what fn returned, except that a call that ran past WithCallTimeout's
// deadline returns an error wrapping context.DeadlineExceeded. A panic in fn
// counts as a failure and then goes on.
func (b *Breaker[T]) Execute(ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	v, _, err := b.execute(ctx, fn)
	return v, err
}

// ExecuteWithFallback is like Execute, but when Execute would return a non-nil
// error (a rejection or an error of fn's) it returns fallback(ctx, err)
// instead.
func (b *Breaker[T]) ExecuteWithFallback(ctx context.Context, fn func(context.Context) (T, error),
	fallback func(context.Context, error) (T, error)) (T, error) {
	v, _, err := b.execute(ctx, fn)
	if err != nil {
		return fallback(ctx, err)
	}
	return v, nil
}

// rejected is the outcome execute reports for a call the breaker turned away.
const rejected outcome = 0xff

// execute is Execute, also reporting how the call counted.
func (b *Breaker[T]) execute(ctx context.Context, fn func(context.Context) (T, error)) (v T, o outcome, err error) {
	c := &b.c
	p, err := c.admit(ctx)
	if err != nil {
		return v, rejected, err
	}
	callCtx, cancel := ctx, context.CancelFunc(nil)
	if !c.plain && c.cfg.callTimeout > 0 {
		callCtx, cancel = context.WithTimeout(ctx, c.cfg.callTimeout)
	}
	finished := false
	defer func() {
		if !finished {
			c.complete(&p, failure, 0) // fn panicked; the panic goes on
		}
		if cancel != nil {
			cancel()
		}
	}()
	v, err = fn(callCtx)
	finished = true
	var hint int64
	if err != nil || cancel != nil || ctx.Done() != nil {
		timedOut := cancel != nil && callCtx.Err() == context.DeadlineExceeded
		o, err, hint = c.classify(ctx, timedOut, err)
	} // else o is success: a nil error from a call no deadline can end
	c.complete(&p, o, hint)
	return v, o, err
}

// Allow is the two-step form of Execute, for calls that cannot be wrapped in a
// function. If the breaker admits a call, Allow returns a nil error and a done
// function that the caller must call once with the call's error when it has
// completed; the error is counted as Execute would count fn's. Calls of done
// after the first do nothing. A done never called holds its half-open trial
// and bulkhead slot for ever.
//
// WithCallTimeout cannot give the call a context here: a call whose done comes
// after the timeout counts as a failure.
//
// If the call is rejected, Allow returns the rejection and a done that does
// nothing.
func (b *Breaker[T]) Allow(ctx context.Context) (done func(err error), err error) {
	return b.c.allow(ctx)
}

// Name returns the breaker's name.
func (b *Breaker[T]) Name() string { return b.c.name }

// State returns the breaker's state now. An Open breaker whose open timeout
// has passed is reported HalfOpen, and with WithHungCalls a breaker with
// enough hung calls is tripped by this read.
func (b *Breaker[T]) State() State { return b.c.state() }

// Metrics returns the breaker's figures now. Like State, it may move an Open
// breaker to HalfOpen or trip on hung calls.
func (b *Breaker[T]) Metrics() Metrics { return b.c.metrics() }

// ForceOpen makes the breaker reject every call with ErrOpen until Reset.
func (b *Breaker[T]) ForceOpen() { b.c.force(ForcedOpen, "forced open") }

// Disable makes the breaker let every call pass until Reset. Outcomes are still
// counted, but no rule trips it.
func (b *Breaker[T]) Disable() { b.c.force(Disabled, "disabled") }

// Reset returns the breaker to Closed from any state, with an empty window, no
// failure streak and the open backoff restarted.
func (b *Breaker[T]) Reset() { b.c.force(Closed, "reset") }

// Close stops the background sharing of WithStore. It is a no-op for a breaker
// without a store, and safe to call more than once.
func (b *Breaker[T]) Close() error {
	if b.c.shared != nil {
		return b.c.shared.close()
	}
	return nil
}

// Metrics are a breaker's figures at one moment.
type Metrics struct {
	State State
	// Calls counts the calls in the window: Successes + Failures.
	Calls               int
	Successes, Failures int
	// SlowCalls counts the calls in the window that took WithSlowCalls'
	// threshold or longer.
	SlowCalls int
	// Excluded counts the calls in the window (for a count window: since it
	// was last emptied) that were excluded by WithExclude or whose caller
	// canceled them.
	Excluded int
	// FailureRate is Failures / Calls; 0 when Calls is 0.
	FailureRate  float64
	SlowCallRate float64
	// ConsecutiveFailures counts the failures since the last success.
	ConsecutiveFailures int
	// InFlight counts the calls in flight through the breaker. It is kept only
	// with WithBulkhead or WithHungCalls, where it costs nothing extra; 0
	// otherwise.
	InFlight int
	// Hung counts the calls admitted since the last change of state that have
	// been in flight longer than WithHungCalls' after, now.
	Hung int
	// Rejected counts every rejection since New: open, forced open, half-open
	// full and bulkhead full.
	Rejected uint64
	// Trips counts the transitions into Open since New.
	Trips uint64
	// StoreErrors counts the failed syncs with WithStore's store since New.
	StoreErrors uint64
}

// pad keeps fields written on different paths off one cache line.
type pad [64]byte

// core is the breaker without its type parameter, so that its code is not
// stamped out for every T.
type core struct {
	// word is the packed state (see word). It is read by every call, written by
	// transitions (under mu) and by half-open admissions (CAS, no lock).
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
	plain    bool
	bulk     *bulkhead
	halfFull *rejection
	forced   *openError
	pool     sync.Pool // *allowCall

	_ pad
	// cf counts failures since the last success. Written by failures and
	// by successes only when it is not already zero, so that a run of
	// successes leaves its cache line shared.
	cf streak
	_  pad
	// rejected is written by every rejection: off the word's line, so that
	// rejecting callers do not slow down each other's reads of the word.
	rejected atomic.Uint64
	_        pad
	inflight atomic.Int64 // with bulkhead or hung calls only
	_        pad

	trips atomic.Uint64
	// round is the current or last open round. It is stored before the word
	// that enters Open, so a reader that sees Open in the word finds a round
	// of that generation or a later one (then it reloads the word).
	round atomic.Pointer[round]
	// hung tracks the current round's calls in flight (WithHungCalls).
	hung atomic.Pointer[hungTracker]
	// shared shares the state with other replicas (WithStore); nil without.
	shared *sharer

	// mu serializes transitions; the hot path never takes it.
	mu         sync.Mutex
	tripsInRow int          // for WithOpenBackoff; guarded by mu
	pending    []Transition // not yet delivered to onChange; guarded by mu

	// dmu is held while onChange runs; hookG is the id of the goroutine
	// running it, 0 when none.
	dmu   sync.Mutex
	hookG atomic.Uint64
}

func (c *core) init(cfg *config, name string) {
	c.cfg, c.name = cfg, name
	c.clk = clock{ext: cfg.clock, base: time.Now()}
	if cfg.clock != nil {
		c.clk.base = cfg.clock.Now()
	}
	if cfg.countSize > 0 {
		c.cw = newCountWindow(cfg.countSize)
		c.win = c.cw
	} else {
		c.tw = newTimeWindow(int64(cfg.windowLength), cfg.buckets, c.clk.base)
		c.win = c.tw
	}
	c.needStart = cfg.slowThreshold > 0 || cfg.hungAfter > 0 || cfg.callTimeout > 0
	c.plain = !c.needStart && cfg.bulkMax == 0
	c.halfFull = &rejection{name: name, sentinel: ErrTooManyRequests, what: "half-open trial calls all taken"}
	c.forced = &openError{name: name}
	if cfg.bulkMax > 0 {
		c.bulk = newBulkhead(cfg.bulkMax, cfg.bulkWait,
			&rejection{name: name, sentinel: ErrBulkheadFull, what: fmt.Sprintf("%d calls in flight", cfg.bulkMax)})
	}
	if cfg.hungAfter > 0 {
		c.hung.Store(newHungTracker(int64(cfg.hungAfter), 0))
	}
	if cfg.store != nil {
		c.shared = newSharer(c)
	}
}

func (c *core) trackInflight() bool { return c.bulk != nil || c.cfg.hungAfter > 0 }

// permit is what a call admitted by the breaker carries to its completion.
type permit struct {
	w     word         // the word it was admitted under
	start int64        // clock reading at admission, if needStart
	hung  *hungTracker // the round's tracker it counts in, if any
	bulk  bool         // holds a bulkhead slot
}

// admit decides whether a call may go ahead. It is the one admission path of
// Execute, Allow and Group.
func (c *core) admit(ctx context.Context) (p permit, err error) {
	if p.w = word(c.word.Load()); p.w.state() == Closed && c.plain {
		return p, nil
	}
	return c.admitSlow(ctx)
}

func (c *core) admitSlow(ctx context.Context) (permit, error) {
	var p permit
	if c.bulk != nil {
		if err := c.bulk.acquire(ctx); err != nil {
			c.rejected.Add(1)
			return p, err
		}
		p.bulk = true
	}
	now := int64(unknown)
	if c.needStart {
		now = c.clk.now()
		p.start = now
	}
	for {
		w := word(c.word.Load())
		switch w.state() {
		case Closed, Disabled:
			if c.cfg.hungAfter > 0 && w.state() == Closed {
				if now == unknown {
					now = c.clk.now()
				}
				if c.hungTrip(w, now) {
					continue
				}
			}
			p.w = w
			c.started(&p)
			return p, nil
		case HalfOpen:
			if c.cfg.hungAfter > 0 && c.hungTrip(w, now) {
				continue
			}
			if w.admitted() >= c.trialLimit(w) {
				return p, c.reject(&p, c.halfFull)
			}
			if c.word.CompareAndSwap(uint64(w), uint64(w+oneAdmitted)) {
				p.w = w + oneAdmitted
				c.started(&p)
				return p, nil
			}
		case Open:
			r := c.round.Load()
			if r.gen != w.gen() {
				continue // the word moved on since we loaded it
			}
			if now == unknown {
				now = c.clk.now()
				p.start = now
			}
			if now < r.until {
				return p, c.reject(&p, r.err)
			}
			c.transition(w, HalfOpen, "open timeout ended", r.until, 0)
		case ForcedOpen:
			return p, c.reject(&p, c.forced)
		}
	}
}

// trialLimit is how many trials the half-open round in w may admit: with a
// store, only as many as the store granted this replica.
func (c *core) trialLimit(w word) int {
	if c.shared != nil {
		return min(c.cfg.trials, c.shared.probes(w.gen()))
	}
	return c.cfg.trials
}

func (c *core) reject(p *permit, err error) error {
	if p.bulk {
		c.bulk.release()
		p.bulk = false
	}
	c.rejected.Add(1)
	return err
}

// started registers an admitted call with the in-flight trackers.
func (c *core) started(p *permit) {
	if !c.trackInflight() {
		return
	}
	c.inflight.Add(1)
	if c.cfg.hungAfter > 0 {
		p.hung = c.hung.Load()
		p.hung.start(p.start)
	}
}

// classify says how a completed call counts (DESIGN rule 1) and what error the
// caller gets: fn's, or one wrapping context.DeadlineExceeded when timedOut.
// hint is a minimum open time asked for by the error (see retryHint).
func (c *core) classify(ctx context.Context, timedOut bool, err error) (o outcome, _ error, hint int64) {
	if err == nil && !timedOut && ctx.Done() == nil {
		return success, nil, 0
	}
	if ctx.Done() != nil {
		switch ctx.Err() {
		case context.Canceled:
			return excluded, err, 0 // the caller gave up: says nothing of the dependency
		case context.DeadlineExceeded:
			return failure, err, 0
		}
	}
	if timedOut {
		return failure, c.timeoutError(err), 0
	}
	if err == nil {
		return success, nil, 0
	}
	if c.cfg.exclude != nil && c.cfg.exclude(err) {
		return excluded, err, 0
	}
	if c.cfg.isFailure != nil && !c.cfg.isFailure(err) {
		return success, err, 0
	}
	return failure, err, retryHint(err)
}

func (c *core) timeoutError(err error) error {
	switch {
	case err == nil:
		return fmt.Errorf("circuit: call ran past its %v timeout: %w", c.cfg.callTimeout, context.DeadlineExceeded)
	case isDeadline(err):
		return err
	}
	return fmt.Errorf("circuit: call ran past its %v timeout: %w: %w", c.cfg.callTimeout, context.DeadlineExceeded, err)
}

// complete counts the outcome of an admitted call. It is the one outcome path
// of Execute, Allow and Group.
func (c *core) complete(p *permit, o outcome, hint int64) {
	if o == success && c.plain && p.w.state() == Closed && c.succeeded(p.w) {
		return
	}
	c.completeSlow(p, o, hint, unknown)
}

// succeeded is the Closed success path of a plain breaker: at most one clock
// read and one or two uncontended atomic adds, no lock. It reports false,
// counting nothing, when the breaker has left the round w since admission.
func (c *core) succeeded(w word) bool {
	if word(c.word.Load()) != w {
		return false
	}
	if tw := c.tw; tw != nil {
		tw.record(c.clk.now(), success, false, w.gen())
	} else {
		c.cw.record(0, success, false, w.gen())
	}
	c.cf.succeed(w.gen())
	return true
}

func (c *core) completeSlow(p *permit, o outcome, hint, now int64) {
	// Out of the in-flight count before the bulkhead slot is free, so that
	// InFlight never shows more than the bulkhead's cap.
	long := false // the call outlived its hung tracker's ring (2 × after)
	if c.trackInflight() {
		c.inflight.Add(-1)
		if p.hung != nil {
			long = p.hung.end(p.start)
		}
	}
	if p.bulk {
		c.bulk.release()
	}
	// at is when the outcome counts in a time window: now. But a call that
	// WithHungCalls tracks has its start read already, and, unless it ran
	// past twice after, started within that of now; its start then serves,
	// and saves the second clock read (without a slow-call rule, which needs
	// the end). It is a bucket early at most when after is a bucket long.
	at := now
	if now == unknown && (c.tw != nil || c.cfg.slowThreshold > 0) {
		if p.hung != nil && c.cfg.slowThreshold == 0 && !long {
			at = p.start
		} else {
			now = c.clk.now()
			at = now
		}
	}
	slow := c.cfg.slowThreshold > 0 && o != excluded && now-p.start >= int64(c.cfg.slowThreshold)

	w := word(c.word.Load())
	if !w.sameRound(p.w) {
		return // a late outcome of a round that is over
	}
	st := w.state()
	if st != Closed && st != Disabled && st != HalfOpen {
		return
	}
	gen := p.w.gen()
	if c.tw != nil {
		c.tw.record(at, o, slow, gen)
	} else {
		c.cw.record(at, o, slow, gen)
	}
	var streak int64
	switch o {
	case success:
		c.cf.succeed(gen)
		if !slow {
			if st == HalfOpen {
				c.trialSucceeded(w, now)
			}
			return
		}
	case failure:
		streak = c.cf.fail(gen)
	case excluded:
		if st == HalfOpen {
			c.giveBack(w)
		}
		return
	}
	// A failure or a slow call.
	if now == unknown {
		now = c.clk.now()
	}
	switch st {
	case Closed:
		c.checkTrip(w, now, o, slow, streak, hint)
	case HalfOpen:
		reason := "trial call failed"
		if o != failure {
			reason = fmt.Sprintf("trial call slow (%v >= %v)", time.Duration(now-p.start), c.cfg.slowThreshold)
		}
		c.transition(w, Open, reason, now, hint)
	}
}

// checkTrip applies the trip rules of Closed after a failure or slow call.
func (c *core) checkTrip(w word, now int64, o outcome, slow bool, streak, hint int64) {
	cfg := c.cfg
	if o == failure && cfg.consecutive > 0 && streak >= int64(cfg.consecutive) {
		c.transition(w, Open, fmt.Sprintf("%d consecutive failures", streak), now, hint)
		return
	}
	// Every rule is checked after a failure or a slow call (rule 2): a slow
	// success can bring the failure rate to its threshold as surely as a
	// failure, by adding to the calls that meet minCalls.
	rate := cfg.rate > 0
	slowRate := cfg.slowThreshold > 0
	if !rate && !slowRate {
		return
	}
	n := c.win.counts(now)
	cluster := false
	if c.shared != nil {
		// With a store the rules see the whole cluster's window.
		o := c.shared.others(now)
		cluster = o.calls() > 0
		n.add(o)
	}
	calls := n.calls()
	if calls < cfg.minCalls || calls == 0 {
		return
	}
	ch := change{from: w, to: Open, at: now, minOpen: hint, cluster: cluster}
	if r := float64(n.failures) / float64(calls); rate && r >= cfg.rate {
		ch.reason = fmt.Sprintf("failure rate %s >= %s over %d calls", percent(r), percent(cfg.rate), calls)
	} else if r := float64(n.slow) / float64(calls); slowRate && r >= cfg.slowRate {
		ch.reason = fmt.Sprintf("slow-call rate %s >= %s over %d calls (slow: >= %v)",
			percent(r), percent(cfg.slowRate), calls, cfg.slowThreshold)
	} else {
		return
	}
	if cluster {
		ch.reason += " across replicas"
	}
	c.change(ch)
}

func percent(r float64) string {
	s := fmt.Sprintf("%.1f", r*100)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s + "%"
}

// trialSucceeded counts a successful trial of the half-open round in w and
// closes the breaker when enough have succeeded.
func (c *core) trialSucceeded(w word, now int64) {
	for {
		cur := word(c.word.Load())
		if !cur.sameRound(w) {
			return
		}
		next := cur + oneSuccess
		if c.word.CompareAndSwap(uint64(cur), uint64(next)) {
			// Only the success that reaches the threshold closes: later ones
			// of the same round would race it to the same transition.
			if s := next.successes(); s == c.cfg.successThreshold {
				if now == unknown {
					now = c.clk.now()
				}
				c.transition(next, Closed, fmt.Sprintf("%d trial calls succeeded", s), now, 0)
			}
			return
		}
	}
}

// giveBack returns the trial permit of an excluded or ignored trial call.
func (c *core) giveBack(w word) {
	for {
		cur := word(c.word.Load())
		if !cur.sameRound(w) || cur.admitted() == 0 {
			return
		}
		if c.word.CompareAndSwap(uint64(cur), uint64(cur-oneAdmitted)) {
			return
		}
	}
}

// hungTrip trips the breaker in w (Closed or HalfOpen) if the round has too
// many hung calls, and reports whether w is over: it tripped the breaker, or
// a change came first.
func (c *core) hungTrip(w word, now int64) bool {
	tr := c.hung.Load()
	if tr.gen != w.gen() {
		// A change is under way: it stores the next round's tracker before
		// the word. Counting w's calls in that empty tracker would admit a
		// call into a round that hung calls are ending; look again.
		return true
	}
	n := int64(c.cfg.hungCalls)
	if w.state() == HalfOpen {
		n = 1
	}
	// All calls in flight, of this round or older ones: a cheap bound before
	// the slots are summed.
	if c.inflight.Load() < n {
		return false
	}
	if now == unknown {
		now = c.clk.now()
	}
	hung := tr.count(now, int64(c.cfg.hungAfter))
	if hung < n {
		return false
	}
	reason := fmt.Sprintf("%d calls in flight for more than %v", hung, c.cfg.hungAfter)
	if w.state() == HalfOpen {
		reason = fmt.Sprintf("trial call in flight for more than %v", c.cfg.hungAfter)
	}
	c.transition(w, Open, reason, now, 0)
	return true
}

// state returns the state now, making the transitions that time or hung calls
// have brought about.
func (c *core) state() State {
	now := int64(unknown)
	for {
		w := word(c.word.Load())
		switch w.state() {
		case Open:
			r := c.round.Load()
			if r.gen != w.gen() {
				continue
			}
			if now == unknown {
				now = c.clk.now()
			}
			if now >= r.until {
				c.transition(w, HalfOpen, "open timeout ended", r.until, 0)
				continue
			}
		case Closed, HalfOpen:
			if c.cfg.hungAfter > 0 {
				if now == unknown {
					now = c.clk.now()
				}
				if c.hungTrip(w, now) {
					continue
				}
			}
		}
		return w.state()
	}
}

func (c *core) metrics() Metrics {
	st := c.state()
	return c.snapshot(st, c.clk.now())
}

// snapshot returns the figures at now, with st as the state. It makes no
// transition.
func (c *core) snapshot(st State, now int64) Metrics {
	n := c.win.counts(now)
	m := Metrics{
		State:               st,
		Calls:               n.calls(),
		Successes:           n.successes,
		Failures:            n.failures,
		SlowCalls:           n.slow,
		Excluded:            n.excluded,
		ConsecutiveFailures: c.cf.count(),
		Rejected:            c.rejected.Load(),
		Trips:               c.trips.Load(),
	}
	if m.Calls > 0 {
		m.FailureRate = float64(n.failures) / float64(m.Calls)
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
	if c.shared != nil {
		m.StoreErrors = c.shared.errors()
	}
	return m
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
		if c.transition(w, st, reason, c.clk.now(), 0) {
			return
		}
	}
}

// transition moves the breaker from the state and generation in from to the
// state to, and reports whether it did: false means another transition got
// there first. at is when it happened; minOpen a minimum open time for a trip.
func (c *core) transition(from word, to State, reason string, at, minOpen int64) bool {
	return c.change(change{from: from, to: to, reason: reason, at: at, minOpen: minOpen})
}

// change is one transition for core.change to make.
type change struct {
	from    word
	to      State
	reason  string
	at      int64 // when it happened, clock nanoseconds
	minOpen int64 // to Open: stay open at least this long
	until   int64 // to Open: if > 0, the exact end of the open period (set by the store)
	cluster bool  // to Open: tripped on cluster-wide figures, or by the store
}

// change makes the transition ch and reports whether it did.
func (c *core) change(ch change) bool {
	from, to, reason, at := ch.from, ch.to, ch.reason, ch.at
	c.mu.Lock()
	w := word(c.word.Load())
	if !w.sameRound(from) || w.state() != from.state() {
		c.mu.Unlock()
		return false
	}
	gen := w.gen() + 1
	switch to {
	case Open:
		c.tripsInRow++
		until := ch.until
		if until == 0 {
			d := int64(c.cfg.openTimeout)
			if c.cfg.openBackoff != nil {
				d = max(int64(c.cfg.openBackoff(c.tripsInRow)), 0)
			}
			// Saturate: an error may ask for an absurdly long open period.
			d = max(d, ch.minOpen)
			until = math.MaxInt64
			if d < math.MaxInt64-at {
				until = at + d
			}
		}
		c.round.Store(&round{gen: gen, until: until, err: &openError{name: c.name, until: until, clk: &c.clk}})
		c.trips.Add(1)
		if c.shared != nil {
			c.shared.tripped(gen, at, until, reason, ch.cluster)
		}
	case Closed:
		c.tripsInRow = 0
		c.win.reset(gen)
		c.cf.reset(gen)
		if c.shared != nil {
			c.shared.closed(gen, at)
		}
	}
	if c.cfg.hungAfter > 0 {
		c.hung.Store(newHungTracker(int64(c.cfg.hungAfter), gen))
	}
	// Only the half-open permit fields change outside mu; retry over them.
	next := makeWord(to, gen)
	for !c.word.CompareAndSwap(uint64(w), uint64(next)) {
		w = word(c.word.Load())
	}
	notify := c.cfg.onChange != nil && from.state() != to
	if notify {
		c.pending = append(c.pending, Transition{
			Name: c.name, From: from.state(), To: to, At: c.clk.at(at), Reason: reason,
		})
	}
	c.mu.Unlock()
	if notify {
		c.deliver()
	}
	return true
}

// deliver runs onChange for the pending transitions, in order, outside mu,
// and returns when the transitions this goroutine queued have been delivered
// (rule 6). Whoever holds dmu delivers everything queued until it finds the
// queue empty, so a transition queued while another goroutine delivers is
// never stranded: a goroutine that finds dmu held waits for it, and by then
// its transition has been delivered, by the holder or by itself. The one
// exception is a hook that changes the state: its goroutine already holds
// dmu, so it must not wait; the new transition is delivered when the hook
// returns.
func (c *core) deliver() {
	for {
		if !c.dmu.TryLock() {
			if g := c.hookG.Load(); g != 0 && g == goid() {
				return // called from the hook itself
			}
			c.dmu.Lock()
		}
		c.runHooks()
		c.mu.Lock()
		more := len(c.pending) > 0
		c.mu.Unlock()
		if !more {
			return
		}
	}
}

func (c *core) runHooks() {
	c.hookG.Store(goid())
	defer func() {
		c.hookG.Store(0)
		c.dmu.Unlock()
	}()
	for {
		c.mu.Lock()
		q := c.pending
		c.pending = nil
		c.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, t := range q {
			c.cfg.onChange(t)
		}
	}
}

// allowCall carries an Allow's permit to its done function. They are pooled:
// seq tells a done function whether the allowCall is still its own.
type allowCall struct {
	ctx context.Context
	p   permit
	seq atomic.Uint64
}

func noDone(error) {}

func (c *core) allow(ctx context.Context) (func(error), error) {
	p, err := c.admit(ctx)
	if err != nil {
		return noDone, err
	}
	a, _ := c.pool.Get().(*allowCall)
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
		c.pool.Put(call)
		timedOut := c.cfg.callTimeout > 0 && c.clk.now()-p.start >= int64(c.cfg.callTimeout)
		o, _, hint := c.classify(ctx, timedOut, err)
		c.complete(&p, o, hint)
	}, nil
}

// goid returns the id of the calling goroutine, from the first line of its
// stack trace ("goroutine 42 [running]:"). It costs about a microsecond and
// runs only when a transition is delivered to a hook, to tell a hook that
// changes the state from another goroutine that must wait for it.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = b[len("goroutine "):]
	var id uint64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			break
		}
		id = id*10 + uint64(ch-'0')
	}
	return id
}
