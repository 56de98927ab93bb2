package circuit

import (
	"math"
	"sync/atomic"
	"time"
)

// RetryBudget caps retries to a share of first attempts, so that clients
// that retry cannot multiply the load on a dependency that is already
// failing (a retry storm). Every first attempt made through Retry with this
// budget deposits ratio of a retry; every retry withdraws one. Deposits fade
// over the budget's window (10 s): a deposit t ago is worth e^(-t/10s) of
// itself, so the budget follows the last window's traffic. Besides, a
// reserve allows minPerSecond retries a second whatever the ratio, for
// clients too quiet to build a budget.
//
// A RetryBudget is safe for concurrent use; share one among the Retry calls
// of a dependency. Make one with NewRetryBudget.
type RetryBudget struct {
	ratio        float64
	minPerSecond float64
	clk          clock

	// balance is the retries deposited and not withdrawn, in thousandths:
	// added to by every first attempt (one atomic add, no clock read),
	// decayed and withdrawn from by CAS. A counter: nothing is ordered by it.
	balance atomic.Int64
	// reserve is the minPerSecond reserve, in thousandths, refilled and
	// withdrawn from by CAS.
	reserve atomic.Int64
	// decayed is the clock reading up to which balance has been decayed and
	// reserve refilled; whoever advances it by CAS does both.
	decayed atomic.Int64
}

const (
	budgetWindow = 10 * time.Second
	milli        = 1000
	// budgetStep is how stale the decay may get before a withdrawal brings
	// it up to date: a fifth of a percent of the window.
	budgetStep = budgetWindow / 500
)

// NewRetryBudget returns a budget that allows retries while they stay within
// ratio (in (0, 1]) of the first attempts of the last 10 s, plus minPerSecond
// (>= 0) retries a second whatever the ratio. Other values give an error
// wrapping ErrInvalidOption.
func NewRetryBudget(ratio float64, minPerSecond int) (*RetryBudget, error) {
	switch {
	case !validRate(ratio):
		return nil, invalidf("NewRetryBudget", "ratio %v outside (0, 1]", ratio)
	case minPerSecond < 0:
		return nil, invalidf("NewRetryBudget", "minPerSecond %d is negative", minPerSecond)
	}
	return newRetryBudget(ratio, minPerSecond, nil), nil
}

func newRetryBudget(ratio float64, minPerSecond int, clk Clock) *RetryBudget {
	b := &RetryBudget{ratio: ratio, minPerSecond: float64(minPerSecond), clk: newClock(clk)}
	b.reserve.Store(int64(minPerSecond) * milli)
	return b
}

// deposit counts a first attempt.
func (b *RetryBudget) deposit() { b.balance.Add(int64(b.ratio * milli)) }

// withdraw takes one retry from the budget, and reports whether there was
// one to take.
func (b *RetryBudget) withdraw() bool {
	b.catchUp(b.clk.now())
	return take(&b.balance) || take(&b.reserve)
}

// take removes one retry (milli) from v if v holds one.
func take(v *atomic.Int64) bool {
	for {
		n := v.Load()
		if n < milli {
			return false
		}
		if v.CompareAndSwap(n, n-milli) {
			return true
		}
	}
}

// catchUp decays the balance and refills the reserve up to now, if the last
// catch-up is more than a step old. One goroutine wins the step; the others
// go on with figures at most a step stale.
func (b *RetryBudget) catchUp(now int64) {
	last := b.decayed.Load()
	elapsed := now - last
	if elapsed < int64(budgetStep) || !b.decayed.CompareAndSwap(last, now) {
		return
	}
	keep := math.Exp(-float64(elapsed) / float64(budgetWindow))
	for {
		n := b.balance.Load()
		if b.balance.CompareAndSwap(n, int64(float64(n)*keep)) {
			break
		}
	}
	refill := int64(b.minPerSecond * milli * float64(elapsed) / float64(time.Second))
	capacity := int64(b.minPerSecond * milli)
	for {
		n := b.reserve.Load()
		if b.reserve.CompareAndSwap(n, min(n+refill, capacity)) {
			return
		}
	}
}
