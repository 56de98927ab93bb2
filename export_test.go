package circuit

import "time"

// This file lets the external tests (package circuit_test) reach a few
// internals: the two rolling windows, for the fuzz targets that hold them
// against naive windows, and a side-effect-free view of a breaker, for the
// model-based test. State and Metrics move an Open breaker whose timeout has
// passed to HalfOpen; comparing after every step through them would notice
// every timeout at once and hide the lazy transition the model must check.

// Outcome codes for the exported windows.
const (
	WindowSuccess  = int(success)
	WindowFailure  = int(failure)
	WindowExcluded = int(excluded)
)

// WindowCounts is what a window holds at one moment.
type WindowCounts struct {
	Successes, Failures, Slow, Excluded int
}

func exportCounts(n counts) WindowCounts {
	return WindowCounts{Successes: n.successes, Failures: n.failures, Slow: n.slow, Excluded: n.excluded}
}

// TimeWindow is the breaker's time window, for tests.
type TimeWindow struct{ w *timeWindow }

// NewTimeWindow returns a time window of length in buckets for a clock whose
// zero is base.
func NewTimeWindow(length time.Duration, buckets int, base time.Time) TimeWindow {
	return TimeWindow{newTimeWindow(int64(length), buckets, base)}
}

// Record counts an outcome at clock reading now (nanoseconds since base).
func (w TimeWindow) Record(now int64, o int, slow bool) { w.w.record(now, outcome(o), slow, 0) }

// Counts returns the window's counts at clock reading now.
func (w TimeWindow) Counts(now int64) WindowCounts { return exportCounts(w.w.counts(now)) }

// Reset empties the window.
func (w TimeWindow) Reset() { w.w.reset(0) }

// CountWindow is the breaker's count window, for tests.
type CountWindow struct{ w *countWindow }

// NewCountWindow returns a window of the last size counted outcomes.
func NewCountWindow(size int) CountWindow { return CountWindow{newCountWindow(size)} }

// Record counts an outcome.
func (w CountWindow) Record(o int, slow bool) { w.w.record(0, outcome(o), slow, 0) }

// Counts returns the window's counts.
func (w CountWindow) Counts() WindowCounts { return exportCounts(w.w.counts(0)) }

// Reset empties the window.
func (w CountWindow) Reset() { w.w.reset(0) }

// Peek returns b's Metrics as they stand, without the transitions that State
// and Metrics make: an Open breaker whose timeout has passed stays Open here.
func Peek[T any](b *Breaker[T]) Metrics {
	c := &b.c
	var m Metrics
	c.snapshot(&m, word(c.word.Load()).state(), c.clk.now())
	return m
}

// NewRetryBudgetOnClock is NewRetryBudget on clk, for tests that drive the
// budget's window with a fake clock.
func NewRetryBudgetOnClock(ratio float64, minPerSecond int, clk Clock) *RetryBudget {
	return newRetryBudget(ratio, minPerSecond, clk)
}

// Deposit and Withdraw are what Retry does with a budget.
func (b *RetryBudget) Deposit()       { b.deposit() }
func (b *RetryBudget) Withdraw() bool { return b.withdraw() }
