package circuit

import (
	"context"
	"strconv"
	"time"
)

// Source is anything that holds breakers an exporter or status page can read:
// every *Breaker[T] and *Group[K, T] is one, whatever K and T, so one adapter
// serves them all.
type Source interface {
	// Breakers calls fn with the name and a Metrics snapshot of each breaker
	// it holds, until fn returns false.
	Breakers(fn func(name string, m Metrics) bool)
}

// History is implemented by Sources that keep their breakers' recent
// transitions (every *Breaker[T] and *Group[K, T] does: the last
// HistoryLength of each), for status pages.
type History interface {
	// Transitions calls fn with the name and the recent transitions of each
	// breaker it holds, oldest first, until fn returns false. recent is fn's
	// to keep.
	Transitions(fn func(name string, recent []Transition) bool)
}

// HistoryLength is how many recent transitions a breaker keeps for History.
const HistoryLength = 16

// Outcome is how a call through a breaker counted, as an observer sees it.
type Outcome uint8

const (
	// OutcomeSuccess is a call the breaker counted as a success.
	OutcomeSuccess Outcome = iota
	// OutcomeFailure is a call the breaker counted as a failure.
	OutcomeFailure
	// OutcomeExcluded is a call WithExclude excluded from the counts.
	OutcomeExcluded
	// OutcomeIgnored is a call its caller canceled: it says nothing of the
	// dependency and is not counted.
	OutcomeIgnored
	// OutcomeRejected is a call the breaker turned away without running it.
	OutcomeRejected
)

// String returns "success", "failure", "excluded", "ignored" or "rejected".
func (o Outcome) String() string {
	switch o {
	case OutcomeSuccess:
		return "success"
	case OutcomeFailure:
		return "failure"
	case OutcomeExcluded:
		return "excluded"
	case OutcomeIgnored:
		return "ignored"
	case OutcomeRejected:
		return "rejected"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Observation is what an observer (WithObserver) is told of one call.
type Observation struct {
	Name    string // the breaker's name
	Outcome Outcome
	// Slow says the call took at least WithSlowCalls' threshold.
	Slow bool
	// Err is what fn returned (as Execute returns it), or the rejection.
	Err error
	// Duration is fn's run time by the breaker's clock; 0 for a rejection.
	Duration time.Duration
	// Changes are the transitions this call caused, in order: usually none.
	Changes []Transition
}

// WithObserver adds fn, run on the caller's goroutine after each call through
// the breaker (Execute, ExecuteWithFallback before its fallback, Retry's
// attempts, Allow's done) has been counted and its transitions delivered. It
// may be given more than once; all run, in the order given. Off by default,
// and free when off. fn must not block: it runs on the call path.
func WithObserver(fn func(ctx context.Context, o Observation)) Option {
	return func(c *config) {
		if fn == nil {
			c.fail(invalidf("WithObserver", "function is nil"))
			return
		}
		c.observers = append(c.observers, fn)
	}
}

// observedOutcome is how a call that counted as o reads to an observer.
func observedOutcome(ctx context.Context, o outcome) Outcome {
	switch o {
	case success:
		return OutcomeSuccess
	case failure:
		return OutcomeFailure
	case turnedAway:
		return OutcomeRejected
	}
	if ctx.Err() == context.Canceled {
		return OutcomeIgnored
	}
	return OutcomeExcluded
}

// observe tells the observers of a call that ran from start to end (clock
// readings; ignored for a rejection) and counted as o, with err, after the
// transitions queued since mark.
func (c *core) observe(ctx context.Context, start, end int64, mark uint64, o outcome, err error) {
	ob := Observation{Name: c.name, Outcome: observedOutcome(ctx, o), Err: err}
	if o != turnedAway {
		ob.Duration = time.Duration(end - start)
		ob.Slow = c.cfg.slowThreshold > 0 && o != excluded && ob.Duration >= c.cfg.slowThreshold
	}
	ob.Changes = c.notify.causedSince(mark)
	for _, fn := range c.cfg.observers {
		fn(ctx, ob)
	}
}

// Breakers calls fn with the breaker's name and Metrics: a Breaker is a
// Source of one.
func (b *Breaker[T]) Breakers(fn func(name string, m Metrics) bool) {
	fn(b.core().name, b.Metrics())
}

// Transitions calls fn with the breaker's name and its recent transitions,
// oldest first: a Breaker is a History of one.
func (b *Breaker[T]) Transitions(fn func(name string, recent []Transition) bool) {
	c := b.core()
	fn(c.name, c.notify.recent())
}

// Breakers calls fn with the name and Metrics of each member, in no fixed
// order, until fn returns false: a Group is a Source.
func (g *Group[K, T]) Breakers(fn func(name string, m Metrics) bool) {
	g.Range(func(_ K, b *Breaker[T]) bool { return fn(b.Name(), b.Metrics()) })
}

// Transitions calls fn with the name and recent transitions of each member,
// until fn returns false: a Group is a History.
func (g *Group[K, T]) Transitions(fn func(name string, recent []Transition) bool) {
	g.Range(func(_ K, b *Breaker[T]) bool { return fn(b.Name(), b.core().notify.recent()) })
}
