package chaos

import "context"

// Wrap returns a function that calls fn through in: each call draws from in's
// faults and, if one fires, returns its error, waits out its delay or hangs,
// as the fault says, before or instead of calling fn. A call that no fault
// fires on, or any call while in is disabled, calls fn and returns what it
// returns. A call that does not run fn returns the zero T.
//
// Wrap ignores HTTPStatus faults: they never fire on its calls, and the
// faults after them draw as if they were not there. The result has the shape
// circuit.Breaker.Execute takes, so chaos.Wrap(in, fetch) goes where fetch
// went.
//
// Wrap panics if in or fn is nil.
func Wrap[T any](in *Injector, fn func(context.Context) (T, error)) func(context.Context) (T, error) {
	in.mustExist("Wrap")
	if fn == nil {
		panic("circuit: chaos.Wrap: fn is nil")
	}
	return func(ctx context.Context) (T, error) {
		if !in.enabled.Load() {
			return fn(ctx)
		}
		if f := in.draw(false); f != nil {
			if err := f.apply(ctx); err != nil {
				var zero T
				return zero, err
			}
		}
		return fn(ctx)
	}
}
