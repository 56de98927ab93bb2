package circuit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrOpen is returned, wrapped, for calls rejected because the breaker is
	// Open or ForcedOpen. RetryAfter tells how long an Open breaker stays so.
	ErrOpen = errors.New("circuit: breaker is open")

	// ErrTooManyRequests is returned, wrapped, for calls rejected in HalfOpen
	// because the round's trial calls are all taken.
	ErrTooManyRequests = errors.New("circuit: too many requests while half-open")

	// ErrBulkheadFull is returned, wrapped, for calls rejected because
	// WithBulkhead's limit of calls in flight was reached and no slot came free
	// within its wait time or before the caller's context ended.
	ErrBulkheadFull = errors.New("circuit: bulkhead full")

	// ErrThrottled is returned, wrapped, for calls rejected by
	// WithAdaptiveThrottle while the dependency accepts too few calls.
	ErrThrottled = errors.New("circuit: call throttled")

	// ErrInvalidOption is wrapped by every error that New, NewGroup, Retry and
	// the backoff constructors report for a bad option value.
	ErrInvalidOption = errors.New("circuit: invalid option")
)

// RetryAfter reports how long a caller rejected with err should wait before
// it calls again: the time left in the breaker's open period, or zero if that
// period has already ended. The boolean is false when err is not a rejection
// from an Open breaker (a forced-open breaker, a full half-open round or a full
// bulkhead give no such time).
func RetryAfter(err error) (time.Duration, bool) {
	var oe *openError
	if !errors.As(err, &oe) || oe.clk == nil {
		return 0, false
	}
	left := time.Duration(oe.until - oe.clk.now())
	if left < 0 {
		left = 0
	}
	return left, true
}

// openError is the rejection of an Open breaker. One is made per open round
// and shared by every caller rejected in it.
type openError struct {
	name  string
	until int64  // end of the open period, clock nanoseconds
	clk   *clock // nil for ForcedOpen: no end
}

func (e *openError) Error() string {
	if e.clk == nil {
		return breakerLabel(e.name) + " is forced open"
	}
	return breakerLabel(e.name) + " is open"
}

func (e *openError) Unwrap() error { return ErrOpen }

// rejection is a rejection that carries no time: a full half-open round or
// bulkhead. Breakers make theirs once, at New.
type rejection struct {
	name     string
	sentinel error
	what     string
}

func (e *rejection) Error() string { return breakerLabel(e.name) + ": " + e.what }
func (e *rejection) Unwrap() error { return e.sentinel }

func breakerLabel(name string) string {
	if name == "" {
		return "circuit: breaker"
	}
	return fmt.Sprintf("circuit: breaker %q", name)
}

// optionError is a bad option value. Its text names the option and the value:
// "circuit: invalid option WithFailureRate: rate 1.5 outside (0, 1]".
type optionError struct {
	option string
	msg    string
}

func invalidf(option, format string, args ...any) error {
	return &optionError{option: option, msg: fmt.Sprintf(format, args...)}
}

func (e *optionError) Error() string {
	return ErrInvalidOption.Error() + " " + e.option + ": " + e.msg
}

func (e *optionError) Unwrap() error { return ErrInvalidOption }

// retryHint returns the minimum open time a failure asks for: the
// RetryAfter() of the first error in its chain that has that method (such as
// circuithttp's error for a 429 or 503 with a Retry-After header), else 0.
//
// It walks the chain by hand: errors.As with an interface target allocates,
// and this runs on every counted failure.
func retryHint(err error) int64 {
	for err != nil {
		if h, ok := err.(interface{ RetryAfter() time.Duration }); ok {
			return int64(h.RetryAfter())
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if d := retryHint(e); d > 0 {
					return d
				}
			}
			return 0
		default:
			return 0
		}
	}
	return 0
}

func isDeadline(err error) bool { return errors.Is(err, context.DeadlineExceeded) }
