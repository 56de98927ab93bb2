package circuit

import (
	"context"
	"errors"
	"math"
	"time"
)

// Defaults of the options, used where an option is not given.
const (
	DefaultConsecutiveFailures = 5
	DefaultFailureRate         = 0.5
	DefaultMinCalls            = 20
	DefaultWindow              = 30 * time.Second
	DefaultWindowBuckets       = 10
	DefaultOpenTimeout         = 60 * time.Second
	DefaultHalfOpenTrials      = 1
)

// Limits on option values, set by the sizes of the packed counters.
const (
	maxCountWindow   = 1 << 24
	maxBuckets       = 1 << 16
	minBucketLength  = time.Millisecond
	maxHalfOpenTrial = maxTrials
)

// An Option configures a Breaker or a Group. Options are applied in order;
// invalid values are reported by New or NewGroup, never silently replaced.
type Option func(*config)

// config is the validated configuration of a breaker. Group members share
// one.
type config struct {
	name             string
	consecutive      int
	rate             float64
	minCalls         int
	windowLength     time.Duration
	buckets          int
	countSize        int // > 0: count window instead of the time window
	timeWindowSet    bool
	slowThreshold    time.Duration // > 0: slow-call rule on
	slowRate         float64
	openTimeout      time.Duration
	openBackoff      Backoff
	trials           int
	successThreshold int // 0: trials
	exclude          func(error) bool
	isFailure        func(error) bool
	hungAfter        time.Duration // > 0: hung-call rule on
	hungCalls        int
	callTimeout      time.Duration
	bulkMax          int // > 0: bulkhead on
	bulkWait         time.Duration
	onChange         func(Transition)
	observers        []func(context.Context, Observation)
	clock            Clock
	store            Store
	syncEvery        time.Duration
	quorum           int     // 0: a majority
	throttleK        float64 // > 0: WithAdaptiveThrottle
	groupMax         int     // > 0: WithGroupLimit (NewGroup only)
	groupIdle        time.Duration
	onStoreError     func(error)

	errs []error
}

func defaultConfig() config {
	return config{
		consecutive:  DefaultConsecutiveFailures,
		rate:         DefaultFailureRate,
		minCalls:     DefaultMinCalls,
		windowLength: DefaultWindow,
		buckets:      DefaultWindowBuckets,
		openTimeout:  DefaultOpenTimeout,
		trials:       DefaultHalfOpenTrials,
	}
}

// newConfig applies opts to the defaults and checks the result as a whole.
func newConfig(opts []Option) (*config, error) {
	c := defaultConfig()
	for i, o := range opts {
		if o == nil {
			c.errs = append(c.errs, invalidf("Option", "option %d is nil", i))
			continue
		}
		o(&c)
	}
	if c.successThreshold > c.trials {
		c.errs = append(c.errs, invalidf("WithSuccessThreshold", "threshold %d above the %d half-open trials", c.successThreshold, c.trials))
	}
	if c.countSize > 0 && c.timeWindowSet {
		c.errs = append(c.errs, invalidf("WithCountWindow", "both WithWindow and WithCountWindow given; choose one window kind"))
	}
	if c.store != nil && c.countSize > 0 {
		c.errs = append(c.errs, invalidf("WithStore", "a store shares a time window; it cannot be combined with WithCountWindow"))
	}
	if c.quorum > 0 && c.store == nil {
		c.errs = append(c.errs, invalidf("WithQuorum", "quorum %d without WithStore: there are no replicas to count", c.quorum))
	}
	if c.consecutive == 0 && c.rate == 0 && c.slowThreshold == 0 && c.hungAfter == 0 {
		c.errs = append(c.errs, invalidf("Option", "no trip rule left on (consecutive failures, failure rate, slow calls and hung calls are all off)"))
	}
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	if c.successThreshold == 0 {
		c.successThreshold = c.trials
	}
	return &c, nil
}

func (c *config) fail(err error) { c.errs = append(c.errs, err) }

// setNonNil sets *dst to v, or records that option was given a nil what.
func setNonNil[V any](c *config, option, what string, dst *V, v V, isNil bool) {
	if isNil {
		c.fail(invalidf(option, "%s is nil", what))
		return
	}
	*dst = v
}

// validRate reports whether rate lies in (0, 1].
func validRate(rate float64) bool { return rate > 0 && rate <= 1 && !math.IsNaN(rate) }

// WithName names the breaker. The name appears in Transition, in the
// rejection errors' text and, in a Group, as the prefix of every member's
// name. The default is "".
func WithName(name string) Option {
	return func(c *config) { c.name = name }
}

// WithConsecutiveFailures trips the breaker after n counted failures in a row.
// Zero turns the rule off. The default is 5.
func WithConsecutiveFailures(n int) Option {
	return func(c *config) {
		if n < 0 {
			c.fail(invalidf("WithConsecutiveFailures", "n %d is negative", n))
			return
		}
		c.consecutive = n
	}
}

// WithFailureRate trips the breaker when failures/calls >= rate over the
// window while the window holds at least minCalls counted calls. A rate of 0
// turns the rule off (minCalls is then still used by WithSlowCalls); otherwise
// rate must lie in (0, 1] and minCalls be at least 1. The default is 0.5 over
// at least 20 calls.
func WithFailureRate(rate float64, minCalls int) Option {
	return func(c *config) {
		switch {
		case rate != 0 && !validRate(rate):
			c.fail(invalidf("WithFailureRate", "rate %v outside (0, 1]", rate))
		case minCalls < 0 || (rate != 0 && minCalls == 0):
			c.fail(invalidf("WithFailureRate", "minCalls %d is below 1", minCalls))
		default:
			c.rate = rate
			if minCalls > 0 {
				c.minCalls = minCalls
			}
		}
	}
}

// WithWindow makes the rolling window a time window of the given length,
// split into buckets; outcomes leave it a bucket at a time. Each bucket must
// be at least a millisecond long. The default is 30s in 10 buckets.
func WithWindow(length time.Duration, buckets int) Option {
	return func(c *config) {
		switch {
		case buckets < 1 || buckets > maxBuckets:
			c.fail(invalidf("WithWindow", "buckets %d outside [1, %d]", buckets, maxBuckets))
		case length <= 0:
			c.fail(invalidf("WithWindow", "length %v is not positive", length))
		case length/time.Duration(buckets) < minBucketLength:
			c.fail(invalidf("WithWindow", "length %v over %d buckets makes buckets shorter than %v", length, buckets, minBucketLength))
		default:
			c.windowLength, c.buckets, c.timeWindowSet = length, buckets, true
		}
	}
}

// WithCountWindow makes the rolling window hold the last size counted calls
// instead of a span of time. It cannot be combined with WithWindow.
func WithCountWindow(size int) Option {
	return func(c *config) {
		if size < 1 || size > maxCountWindow {
			c.fail(invalidf("WithCountWindow", "size %d outside [1, %d]", size, maxCountWindow))
			return
		}
		c.countSize = size
	}
}

// WithSlowCalls counts a call that took at least threshold as slow, and trips
// the breaker when slow/calls >= rate over the window while it holds at least
// the failure-rate rule's minCalls. In HalfOpen a slow trial reopens the
// breaker. Off by default; threshold must be positive and rate lie in (0, 1].
func WithSlowCalls(threshold time.Duration, rate float64) Option {
	return func(c *config) {
		switch {
		case threshold <= 0:
			c.fail(invalidf("WithSlowCalls", "threshold %v is not positive", threshold))
		case !validRate(rate):
			c.fail(invalidf("WithSlowCalls", "rate %v outside (0, 1]", rate))
		default:
			c.slowThreshold, c.slowRate = threshold, rate
		}
	}
}

// WithOpenTimeout sets how long the breaker stays Open after a trip before it
// lets trial calls through. It replaces an earlier WithOpenBackoff. The
// default is 60s.
func WithOpenTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail(invalidf("WithOpenTimeout", "timeout %v is not positive", d))
			return
		}
		c.openTimeout, c.openBackoff = d, nil
	}
}

// WithOpenBackoff makes the k-th trip in a row keep the breaker Open for
// b(k); a close restarts k at 1. It replaces an earlier WithOpenTimeout. New
// calls b(1) once to check it.
func WithOpenBackoff(b Backoff) Option {
	return func(c *config) {
		if err := checkBackoff("WithOpenBackoff", b); err != nil {
			c.fail(err)
			return
		}
		c.openBackoff = b
	}
}

// WithHalfOpenTrials sets how many trial calls a half-open round admits; the
// others are rejected with ErrTooManyRequests. The default is 1.
func WithHalfOpenTrials(n int) Option {
	return func(c *config) {
		if n < 1 || n > maxHalfOpenTrial {
			c.fail(invalidf("WithHalfOpenTrials", "n %d outside [1, %d]", n, maxHalfOpenTrial))
			return
		}
		c.trials = n
	}
}

// WithSuccessThreshold sets how many trial calls of a half-open round must
// succeed to close the breaker; from 1 up to the number of trials, which is
// the default.
func WithSuccessThreshold(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail(invalidf("WithSuccessThreshold", "threshold %d is below 1", n))
			return
		}
		c.successThreshold = n
	}
}

// WithExclude gives a predicate for errors that count as neither success nor
// failure, such as a validation error the caller caused. It is asked before
// WithIsFailure's.
func WithExclude(fn func(error) bool) Option {
	return func(c *config) { setNonNil(c, "WithExclude", "predicate", &c.exclude, fn, fn == nil) }
}

// WithIsFailure gives a predicate for which non-nil errors are failures of the
// dependency; an error for which it returns false counts as a success (an HTTP
// 404, say). By default every non-nil error is a failure.
func WithIsFailure(fn func(error) bool) Option {
	return func(c *config) { setNonNil(c, "WithIsFailure", "predicate", &c.isFailure, fn, fn == nil) }
}

// WithHungCalls trips the breaker as soon as n calls have been in flight for
// longer than after, without waiting for them to return. It is checked when a
// call is admitted and when State or Metrics is read. In HalfOpen a trial in
// flight longer than after reopens the breaker. Choose after above the
// dependency's p99 latency and below the client timeout. Off by default.
//
// The rule reads each call's start from the clock. Without WithSlowCalls the
// time window then counts an outcome at its call's start instead of reading
// the clock again at its end, unless the call ran longer than twice after
// while others started: a call that outlasts the whole window on a quiet
// breaker adds to the consecutive-failures rule but not to the rates.
func WithHungCalls(after time.Duration, n int) Option {
	return func(c *config) {
		switch {
		case after <= 0:
			c.fail(invalidf("WithHungCalls", "after %v is not positive", after))
		case n < 1:
			c.fail(invalidf("WithHungCalls", "n %d is below 1", n))
		default:
			c.hungAfter, c.hungCalls = after, n
		}
	}
}

// WithCallTimeout gives every call's context a deadline d from its start. A
// call that runs past it is a failure, and its error wraps
// context.DeadlineExceeded. Off by default.
func WithCallTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail(invalidf("WithCallTimeout", "timeout %v is not positive", d))
			return
		}
		c.callTimeout = d
	}
}

// WithBulkhead caps the calls in flight through the breaker at maxConcurrent.
// A call that finds no free slot waits up to maxWait (zero: not at all) or
// until its context ends, then is rejected with ErrBulkheadFull. Bulkhead
// rejections are not failures of the dependency. Off by default.
func WithBulkhead(maxConcurrent int, maxWait time.Duration) Option {
	return func(c *config) {
		switch {
		case maxConcurrent < 1:
			c.fail(invalidf("WithBulkhead", "maxConcurrent %d is below 1", maxConcurrent))
		case maxWait < 0:
			c.fail(invalidf("WithBulkhead", "maxWait %v is negative", maxWait))
		default:
			c.bulkMax, c.bulkWait = maxConcurrent, maxWait
		}
	}
}

// WithOnStateChange calls fn once for every change of state, in order. fn
// runs outside the breaker's locks, usually on the goroutine that caused the
// change (while another goroutine is delivering, that one may deliver it;
// changes a WithStore sync makes are delivered on the sync goroutine), and
// has returned before the call that caused the change returns. It may
// call State, Metrics and Name, and may change the state itself (its own
// change is then delivered after it returns). It must not panic.
func WithOnStateChange(fn func(Transition)) Option {
	return func(c *config) { setNonNil(c, "WithOnStateChange", "function", &c.onChange, fn, fn == nil) }
}

// WithClock makes the breaker read time from clk instead of the system's
// monotonic clock; circuittest.Clock is one for tests.
func WithClock(clk Clock) Option {
	return func(c *config) { setNonNil(c, "WithClock", "clock", &c.clock, clk, clk == nil) }
}
