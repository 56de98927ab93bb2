package circuit_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
)

func withdrawAll(b *circuit.RetryBudget) int {
	n := 0
	for b.Withdraw() {
		n++
	}
	return n
}

func TestRetryBudgetArithmetic(t *testing.T) {
	clk := circuittest.NewClock(time.Unix(0, 0))
	t.Run("a share of the first attempts", func(t *testing.T) {
		b := circuit.NewRetryBudgetOnClock(0.2, 0, clk)
		for range 10 {
			b.Deposit()
		}
		assert.Equal(t, 2, withdrawAll(b), "20% of 10 first attempts")
		b.Deposit()
		assert.False(t, b.Withdraw(), "a fifth of a retry is not a retry")
		for range 4 {
			b.Deposit()
		}
		assert.True(t, b.Withdraw(), "five fifths are")
	})
	t.Run("deposits fade over the window", func(t *testing.T) {
		b := circuit.NewRetryBudgetOnClock(0.5, 0, clk)
		for range 4 {
			b.Deposit()
		}
		clk.Advance(10 * time.Second) // 2 retries deposited, e^-1 of them left
		assert.Equal(t, int(2*math.Exp(-1)), withdrawAll(b))
		for range 4 {
			b.Deposit()
		}
		clk.Advance(time.Millisecond) // under a step: no decay yet
		assert.Equal(t, 2, withdrawAll(b))
	})
	t.Run("the reserve allows minPerSecond whatever the ratio", func(t *testing.T) {
		b := circuit.NewRetryBudgetOnClock(0.1, 5, clk)
		assert.Equal(t, 5, withdrawAll(b))
		clk.Advance(time.Second)
		assert.Equal(t, 5, withdrawAll(b), "refilled after a second")
		clk.Advance(time.Minute)
		assert.Equal(t, 5, withdrawAll(b), "up to a second's worth, not more")
	})
}

func TestRetryBudgetBadInput(t *testing.T) {
	for _, c := range []struct {
		ratio float64
		min   int
	}{{0, 1}, {-0.5, 1}, {1.5, 1}, {math.NaN(), 1}, {0.5, -1}} {
		_, err := circuit.NewRetryBudget(c.ratio, c.min)
		assert.ErrorIs(t, err, circuit.ErrInvalidOption, "%v, %d", c.ratio, c.min)
		assert.ErrorContains(t, err, "NewRetryBudget")
	}
	b, err := circuit.NewRetryBudget(1, 0)
	require.NoError(t, err)
	assert.NotNil(t, b)
}

func TestRetryStopsWithoutWaitingWhenTheBudgetIsSpent(t *testing.T) {
	budget := circuit.NewRetryBudgetOnClock(0.5, 0, circuittest.NewClock(time.Unix(0, 0)))
	b := circuit.MustNew[int](circuit.WithConsecutiveFailures(100))
	boom := errors.New("boom")
	waits, calls := 0, 0
	policy := circuit.RetryPolicy{Attempts: 5, Budget: budget,
		Backoff: func(int) time.Duration { waits++; return 0 }}
	_, err := circuit.Retry(context.Background(), b, policy, func(context.Context) (int, error) { calls++; return 0, boom })
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, 1, calls, "half a retry in the budget: no retry")
	assert.Equal(t, 1, waits, "only the check of the policy")

	_, _ = circuit.Retry(context.Background(), b, policy, func(context.Context) (int, error) { calls++; return 0, boom })
	assert.Equal(t, 3, calls, "two first attempts buy one retry")
}

func TestRetryBudgetHoldsUnderConcurrency(t *testing.T) {
	b := circuit.NewRetryBudgetOnClock(0.25, 0, circuittest.NewClock(time.Unix(0, 0)))
	var granted atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				b.Deposit()
				if b.Withdraw() {
					granted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(64*1000/4), granted.Load()+int64(withdrawAll(b)), "every deposited retry, once")
}

func BenchmarkRetryBudgetDeposit(b *testing.B) {
	budget, _ := circuit.NewRetryBudget(0.2, 10)
	for range b.N {
		budget.Deposit()
	}
}

// A withdrawal reads the clock (to fade deposits and refill the reserve): it
// is measured beside BenchmarkFloorClock.
func BenchmarkRetryBudgetWithdraw(b *testing.B) {
	budget, _ := circuit.NewRetryBudget(1, 0)
	for range b.N {
		budget.Deposit()
		budget.Withdraw()
	}
}
