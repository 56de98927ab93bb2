package circuit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
)

// What a first-time user runs into: Retry, fallback and Group fitting
// together, and misuse that fails at once with a message that says what is
// wrong.

func TestRetryReturnsAtOnceWhenTheFailureTrippedTheBreaker(t *testing.T) {
	clk := circuittest.NewClock(time.Unix(0, 0))
	b := circuit.MustNew[int](circuit.WithClock(clk), circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Minute))
	boom := errors.New("boom")
	waits := 0
	backoff := func(int) time.Duration { waits++; return time.Hour }
	calls := 0
	_, err := circuit.Retry(context.Background(), b, circuit.RetryPolicy{Attempts: 3, Backoff: backoff},
		func(context.Context) (int, error) { calls++; return 0, boom })

	assert.Equal(t, 1, calls)
	assert.Equal(t, 1, waits, "Backoff asked once, by the check of the policy: no wait after the trip")
	assert.ErrorIs(t, err, circuit.ErrOpen)
	assert.ErrorIs(t, err, boom, "the failure that tripped it is kept")
	left, ok := circuit.RetryAfter(err)
	assert.True(t, ok)
	assert.Equal(t, time.Minute, left)
	assert.Equal(t, `circuit: breaker is open (after: boom)`, err.Error())
}

func TestRetryRejectedAfterFailuresKeepsTheLastFailure(t *testing.T) {
	b := circuit.MustNew[int](circuit.WithConsecutiveFailures(5))
	boom := errors.New("boom")
	asked := 0
	backoff := func(int) time.Duration {
		if asked++; asked == 2 { // the first wait (the first ask checks the policy)
			b.ForceOpen() // another caller isolates the dependency meanwhile
		}
		return 0
	}
	_, err := circuit.Retry(context.Background(), b, circuit.RetryPolicy{Attempts: 3, Backoff: backoff},
		func(context.Context) (int, error) { return 0, boom })
	assert.ErrorIs(t, err, circuit.ErrOpen)
	assert.ErrorIs(t, err, boom)
}

func TestRetryWhoseFirstCallIsRejectedReturnsTheRejectionAlone(t *testing.T) {
	b := circuit.MustNew[int]()
	b.ForceOpen()
	_, err := circuit.Retry(context.Background(), b, circuit.RetryPolicy{Attempts: 3, Backoff: circuit.ConstantBackoff(0)},
		func(context.Context) (int, error) { return 1, nil })
	assert.ErrorIs(t, err, circuit.ErrOpen)
	assert.Equal(t, `circuit: breaker is forced open`, err.Error())
}

func TestGroupExecuteWithFallbackServesEachKeyOnItsOwn(t *testing.T) {
	g, err := circuit.NewGroup[string, string](circuit.WithConsecutiveFailures(1))
	require.NoError(t, err)
	fallback := func(_ context.Context, err error) (string, error) { return "cached", nil }
	_, _ = g.Execute(context.Background(), "down", func(context.Context) (string, error) { return "", errors.New("boom") })
	require.Equal(t, circuit.Open, g.Get("down").State())

	v, err := g.ExecuteWithFallback(context.Background(), "down",
		func(context.Context) (string, error) { t.Fatal("fn called while open"); return "", nil }, fallback)
	assert.NoError(t, err)
	assert.Equal(t, "cached", v, "the open member's callers get the fallback")

	v, err = g.ExecuteWithFallback(context.Background(), "up",
		func(context.Context) (string, error) { return "fresh", nil }, fallback)
	assert.NoError(t, err)
	assert.Equal(t, "fresh", v, "another key is not affected")
}

func TestMisusePanicsAtOnceWithACircuitMessage(t *testing.T) {
	ctx := context.Background()
	ok := func(context.Context) (int, error) { return 1, nil }
	b := circuit.MustNew[int]()
	var nilBreaker *circuit.Breaker[int]
	var zero circuit.Breaker[int]
	var zeroGroup circuit.Group[string, int]
	for name, misuse := range map[string]func(){
		"Execute with a nil fn": func() { _, _ = b.Execute(ctx, nil) },
		"a nil fallback, even when the call succeeds": func() {
			_, _ = b.ExecuteWithFallback(ctx, ok, nil)
		},
		"a nil *Breaker":          func() { _, _ = nilBreaker.Execute(ctx, ok) },
		"a zero-value Breaker":    func() { _, _ = zero.Execute(ctx, ok) },
		"State of a zero Breaker": func() { _ = zero.State() },
		"Allow on a nil *Breaker": func() { _, _ = nilBreaker.Allow(ctx) },
		"Retry with a nil breaker": func() {
			_, _ = circuit.Retry(ctx, nil, circuit.RetryPolicy{Attempts: 1, Backoff: circuit.ConstantBackoff(0)}, ok)
		},
		"Retry with a nil fn": func() {
			_, _ = circuit.Retry[int](ctx, b, circuit.RetryPolicy{Attempts: 1, Backoff: circuit.ConstantBackoff(0)}, nil)
		},
		"a zero-value Group": func() { _ = zeroGroup.Get("k") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				require.NotNil(t, r, "no panic")
				msg, isString := r.(string)
				require.True(t, isString, "panic value %v", r)
				assert.Regexp(t, `^circuit: `, msg)
			}()
			misuse()
		})
	}
}

func TestQuorumWithoutAStoreIsInvalid(t *testing.T) {
	_, err := circuit.New[int](circuit.WithQuorum(2))
	require.ErrorIs(t, err, circuit.ErrInvalidOption)
	assert.Contains(t, err.Error(), "WithQuorum")
	assert.Contains(t, err.Error(), "2")
}

func TestMessagesNameTheBulkheadAndCountInWords(t *testing.T) {
	b := circuit.MustNew[int](circuit.WithName("api"), circuit.WithBulkhead(1, 0), circuit.WithConsecutiveFailures(1))
	done, err := b.Allow(context.Background())
	require.NoError(t, err)
	_, err = b.Execute(context.Background(), func(context.Context) (int, error) { return 1, nil })
	assert.EqualError(t, err, `circuit: breaker "api": bulkhead full: 1 call in flight`)
	done(nil)

	var reasons []string
	clk := circuittest.NewClock(time.Unix(0, 0))
	b = circuit.MustNew[int](circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Second), circuit.WithClock(clk),
		circuit.WithOnStateChange(func(tr circuit.Transition) { reasons = append(reasons, tr.Reason) }))
	_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("boom") })
	clk.Advance(time.Second)
	_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 1, nil })
	assert.Equal(t, []string{"1 consecutive failure", "open timeout ended", "1 trial call succeeded"}, reasons)
}
