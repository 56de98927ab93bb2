package circuit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Backoff gives the wait before the attempt-th retry, or the open time of the
// attempt-th trip in a row (WithOpenBackoff). attempt counts from 1.
type Backoff func(attempt int) time.Duration

// ConstantBackoff waits d every time. A negative d is invalid: the returned
// Backoff then panics with an error wrapping ErrInvalidOption, which
// WithOpenBackoff and Retry report as their error instead.
func ConstantBackoff(d time.Duration) Backoff {
	if d < 0 {
		return invalidBackoff(invalidf("ConstantBackoff", "d %v is negative", d))
	}
	return func(int) time.Duration { return d }
}

// ExponentialBackoff waits initial*2^(attempt-1), at most max, moved by a
// random amount drawn uniformly within ±jitter of that step (jitter is a
// fraction in [0, 1]); the result is never below zero nor above max.
//
// initial must be positive, max at least initial, and jitter in [0, 1]. Other
// values make the returned Backoff panic with an error wrapping
// ErrInvalidOption that names the bad value; WithOpenBackoff and Retry report
// that error instead of panicking.
func ExponentialBackoff(initial, max time.Duration, jitter float64) Backoff {
	switch {
	case initial <= 0:
		return invalidBackoff(invalidf("ExponentialBackoff", "initial %v is not positive", initial))
	case max < initial:
		return invalidBackoff(invalidf("ExponentialBackoff", "max %v is below initial %v", max, initial))
	case !(jitter >= 0 && jitter <= 1):
		return invalidBackoff(invalidf("ExponentialBackoff", "jitter %v outside [0, 1]", jitter))
	}
	return func(attempt int) time.Duration {
		step := float64(max)
		if attempt < 1 {
			attempt = 1
		}
		if attempt <= 63 {
			step = math.Min(float64(initial)*math.Ldexp(1, attempt-1), float64(max))
		}
		if jitter > 0 {
			step += step * jitter * (2*rand.Float64() - 1)
		}
		// float64(max) may round above max (max near 2^63 would then
		// overflow the conversion): compare in floats, return max itself.
		if step >= float64(max) {
			return max
		}
		return time.Duration(math.Max(step, 0))
	}
}

func invalidBackoff(err error) Backoff {
	return func(int) time.Duration { panic(err) }
}

// checkBackoff checks b for option: not nil, and b(1) neither panics nor is
// negative. An invalid backoff from this package panics with its own error.
func checkBackoff(option string, b Backoff) (err error) {
	if b == nil {
		return invalidf(option, "backoff is nil")
	}
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok && errors.Is(e, ErrInvalidOption) {
				err = e
				return
			}
			err = invalidf(option, "backoff panicked for attempt 1: %v", r)
		}
	}()
	if d := b(1); d < 0 {
		return invalidf(option, "backoff gave %v for attempt 1", d)
	}
	return nil
}

// RetryPolicy says how Retry retries.
type RetryPolicy struct {
	// Attempts is the most calls Retry makes, the first included; at least 1.
	Attempts int
	// Backoff gives the wait before each retry; Backoff(1) is the wait after
	// the first call failed.
	Backoff Backoff
	// Budget, if not nil, caps the retries to a share of the first attempts
	// of every Retry that shares it: when it is spent, Retry returns the last
	// failure at once, without waiting.
	Budget *RetryBudget
}

// Retry calls fn through b until it succeeds or p.Attempts calls have been
// made, waiting p.Backoff(k) after the k-th failed call. Only counted failures
// are retried: Retry stops at once, returning what the call returned, on a
// success, an error the breaker does not count as a failure (excluded, or not
// a failure by WithIsFailure), a call its caller canceled, and a rejection of
// its first call.
//
// Retry never waits after a failure that left the breaker open (that failure
// tripped it, or another caller's did): it returns at once. Whenever it stops
// on an open breaker after failures (so, or because a later call was
// rejected), its error wraps both the last failure and the rejection:
// errors.Is finds either, and RetryAfter reads the time left. It waits only
// while ctx lives; when ctx ends during a wait it returns the last call's
// result with an error that wraps both that call's error and ctx's.
//
// A p with Attempts below 1 or an invalid Backoff makes Retry return an error
// wrapping ErrInvalidOption without calling fn; Retry calls p.Backoff(1) once
// first to check it. A nil b or fn panics.
func Retry[T any](ctx context.Context, b *Breaker[T], p RetryPolicy, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	switch {
	case b == nil:
		panic("circuit: Retry with a nil *Breaker")
	case fn == nil:
		panic("circuit: Retry with a nil fn")
	case p.Attempts < 1:
		return zero, invalidf("RetryPolicy", "Attempts %d is below 1", p.Attempts)
	}
	if err := checkBackoff("RetryPolicy", p.Backoff); err != nil {
		return zero, err
	}
	var wait *time.Timer
	defer func() {
		if wait != nil {
			wait.Stop()
		}
	}()
	if p.Budget != nil {
		p.Budget.deposit()
	}
	var last error // the last counted failure
	for attempt := 1; ; attempt++ {
		v, o, err := run(b, ctx, fn)
		switch {
		case o == turnedAway && last != nil:
			return v, stoppedOnOpen(err, last)
		case o != failure:
			return v, err
		}
		last = err
		if rej := b.core().openRejection(); rej != nil {
			return v, stoppedOnOpen(rej, err)
		}
		if attempt >= p.Attempts || (p.Budget != nil && !p.Budget.withdraw()) {
			return v, err
		}
		if err := sleep(ctx, &wait, p.Backoff(attempt)); err != nil {
			return v, fmt.Errorf("%w (retry stopped: %w)", last, err)
		}
	}
}

// stoppedOnOpen is Retry's error when it stops on an open breaker after
// failures: the rejection, then the failure that came before it.
func stoppedOnOpen(rejection, failure error) error {
	return fmt.Errorf("%w (after: %w)", rejection, failure)
}

// sleep waits d on *t (made on first use), or returns ctx's error if ctx ends
// first.
func sleep(ctx context.Context, t **time.Timer, d time.Duration) error {
	if *t == nil {
		*t = time.NewTimer(d)
	} else {
		(*t).Reset(d)
	}
	select {
	case <-(*t).C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
