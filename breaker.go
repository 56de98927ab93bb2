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
)

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
	if cfg.groupMax > 0 {
		return nil, invalidf("WithGroupLimit", "bounds a Group; give it to NewGroup, not New")
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

// core returns the breaker's core, and panics at once on a nil or zero-value
// Breaker: a programming error, caught before it can hide until an outage.
func (b *Breaker[T]) core() *core {
	if b == nil {
		panic("circuit: method called on a nil *Breaker")
	}
	if b.c.cfg == nil {
		panic("circuit: Breaker used without New (its zero value is not usable)")
	}
	return &b.c
}

// Execute calls fn if the breaker admits the call, and counts its outcome.
//
// A rejected call returns the zero T and an error wrapping ErrOpen,
// ErrTooManyRequests or ErrBulkheadFull, without calling fn. Otherwise it
// returns what fn returned, except that a call that ran past WithCallTimeout's
// deadline returns an error wrapping context.DeadlineExceeded. A panic in fn
// counts as a failure and then goes on.
//
// A nil fn, or a Breaker not made by New, is a programming error: Execute
// panics at once with a message that starts "circuit:", as net/http does for
// a nil handler, rather than failing in the middle of an outage.
func (b *Breaker[T]) Execute(ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	v, _, err := run(b, ctx, fn)
	return v, err
}

// ExecuteWithFallback is like Execute, but when Execute would return a non-nil
// error (a rejection or an error of fn's) it returns fallback(ctx, err)
// instead. A nil fallback panics on every call, not only when it is needed,
// so that the mistake shows before the first outage.
func (b *Breaker[T]) ExecuteWithFallback(ctx context.Context, fn func(context.Context) (T, error),
	fallback func(context.Context, error) (T, error)) (T, error) {
	if fallback == nil {
		panic("circuit: ExecuteWithFallback with a nil fallback")
	}
	v, _, err := run(b, ctx, fn)
	if err != nil {
		return fallback(ctx, err)
	}
	return v, nil
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
	return b.core().allow(ctx)
}

// Name returns the breaker's name.
func (b *Breaker[T]) Name() string { return b.core().name }

// State returns the breaker's state now. An Open breaker whose open timeout
// has passed is reported HalfOpen, and with WithHungCalls a breaker with
// enough hung calls is tripped by this read.
func (b *Breaker[T]) State() State { return b.core().state() }

// Metrics returns the breaker's figures now. Like State, it may move an Open
// breaker to HalfOpen or trip on hung calls.
func (b *Breaker[T]) Metrics() (m Metrics) {
	c := b.core()
	st, now := c.state(), lazyNow{clk: &c.clk} // state first: it may move the breaker
	c.snapshot(&m, st, c.windowNow(&now))
	return m
}

// ForceOpen makes the breaker reject every call with ErrOpen until Reset.
func (b *Breaker[T]) ForceOpen() { b.core().force(ForcedOpen, "forced open") }

// Disable makes the breaker let every call pass until Reset. Outcomes are still
// counted, but no rule trips it.
func (b *Breaker[T]) Disable() { b.core().force(Disabled, "disabled") }

// Reset returns the breaker to Closed from any state, with an empty window, no
// failure streak and the open backoff restarted.
func (b *Breaker[T]) Reset() { b.core().force(Closed, "reset") }

// Close stops the background sharing of WithStore. It is a no-op for a breaker
// without a store, and safe to call more than once.
func (b *Breaker[T]) Close() error {
	if c := b.core(); c.peer != nil {
		return c.peer.close()
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
	// Totals counts the calls since New by how they counted.
	Totals Totals
	// ThrottleProbability is the probability that WithAdaptiveThrottle
	// rejects a call now; 0 without it.
	ThrottleProbability float64
	// MinCalls is the failure-rate rule's minCalls: with fewer Calls in the
	// window the rates trip nothing (and exporters show them as unknown).
	MinCalls int
}

// Totals are a breaker's counts since New, exact under concurrency. Unlike
// the window's figures they only grow; exporters turn them into counters.
type Totals struct {
	Successes, Failures uint64
	SlowCalls           uint64
	// Excluded counts excluded calls and calls whose caller canceled them.
	Excluded uint64
}
