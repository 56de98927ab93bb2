package circuit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
)

func Example() {
	clk := circuittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) // drop for the real clock
	b := circuit.MustNew[string](circuit.WithName("inventory"), circuit.WithConsecutiveFailures(3),
		circuit.WithOpenTimeout(30*time.Second), circuit.WithClock(clk))

	down := errors.New("connection refused")
	for i := 0; i < 3; i++ {
		_, err := b.Execute(context.Background(), func(context.Context) (string, error) { return "", down })
		fmt.Println(err)
	}
	_, err := b.Execute(context.Background(), func(context.Context) (string, error) { return "in stock", nil })
	wait, _ := circuit.RetryAfter(err)
	fmt.Println(err, "- retry in", wait)

	clk.Advance(30 * time.Second) // the dependency had time to recover: one trial call closes it
	v, err := b.Execute(context.Background(), func(context.Context) (string, error) { return "in stock", nil })
	fmt.Println(v, err, b.State())
	// Output:
	// connection refused
	// connection refused
	// connection refused
	// circuit: breaker "inventory" is open - retry in 30s
	// in stock <nil> closed
}

func ExampleWithExclude() {
	errBadRequest := errors.New("bad request")
	b := circuit.MustNew[int](circuit.WithConsecutiveFailures(2),
		// The caller's mistakes say nothing about the dependency's health.
		circuit.WithExclude(func(err error) bool { return errors.Is(err, errBadRequest) }))
	for i := 0; i < 5; i++ {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errBadRequest })
	}
	m := b.Metrics()
	fmt.Println(m.State, m.Calls, m.Excluded)
	// Output: closed 0 5
}

func ExampleWithOnStateChange() {
	b := circuit.MustNew[int](circuit.WithName("payments"), circuit.WithConsecutiveFailures(2),
		circuit.WithOnStateChange(func(t circuit.Transition) {
			// Alert, log, or set a gauge here.
			fmt.Printf("%s: %s -> %s (%s)\n", t.Name, t.From, t.To, t.Reason)
		}))
	for i := 0; i < 2; i++ {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("503") })
	}
	b.Reset()
	// Output:
	// payments: closed -> open (2 consecutive failures)
	// payments: open -> closed (reset)
}

func ExampleGroup() {
	// One breaker per host: one host's failures never open another's.
	hosts, _ := circuit.NewGroup[string, string](circuit.WithConsecutiveFailures(1))
	_, _ = hosts.Execute(context.Background(), "a.example", func(context.Context) (string, error) {
		return "", errors.New("timeout")
	})
	_, errA := hosts.Execute(context.Background(), "a.example", func(context.Context) (string, error) { return "ok", nil })
	vB, errB := hosts.Execute(context.Background(), "b.example", func(context.Context) (string, error) { return "ok", nil })
	fmt.Println(errors.Is(errA, circuit.ErrOpen), vB, errB)
	// Output: true ok <nil>
}

func ExampleBreaker_ExecuteWithFallback() {
	b := circuit.MustNew[string](circuit.WithConsecutiveFailures(1))
	cached := "price 9.99 (cached)"
	fetch := func(context.Context) (string, error) { return "", errors.New("upstream down") }
	fallback := func(_ context.Context, err error) (string, error) { return cached, nil }
	for i := 0; i < 2; i++ { // a failure, then a rejection: both served from the cache
		v, _ := b.ExecuteWithFallback(context.Background(), fetch, fallback)
		fmt.Println(v, b.State())
	}
	// Output:
	// price 9.99 (cached) open
	// price 9.99 (cached) open
}

func ExampleRetry() {
	b := circuit.MustNew[string](circuit.WithConsecutiveFailures(5))
	attempts := 0
	v, err := circuit.Retry(context.Background(), b,
		circuit.RetryPolicy{Attempts: 4, Backoff: circuit.ExponentialBackoff(time.Millisecond, 50*time.Millisecond, 0.2)},
		func(context.Context) (string, error) {
			attempts++
			if attempts < 3 {
				return "", errors.New("transient")
			}
			return "done", nil
		})
	fmt.Println(v, err, attempts)
	// Output: done <nil> 3
}

func ExampleWithBulkhead() {
	// At most 2 calls in flight; a third waits up to 10ms for a slot.
	b := circuit.MustNew[int](circuit.WithBulkhead(2, 10*time.Millisecond))
	done1, _ := b.Allow(context.Background())
	done2, _ := b.Allow(context.Background())
	_, err := b.Execute(context.Background(), func(context.Context) (int, error) { return 1, nil })
	fmt.Println(errors.Is(err, circuit.ErrBulkheadFull), b.Metrics().InFlight)
	done1(nil)
	done2(nil)
	// Output: true 2
}

func ExampleWithHungCalls() {
	clk := circuittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	// Trip when 3 calls have hung for more than 500ms, without waiting for
	// the client timeout to bring them back.
	b := circuit.MustNew[int](circuit.WithHungCalls(500*time.Millisecond, 3), circuit.WithClock(clk))
	for i := 0; i < 3; i++ {
		_, _ = b.Allow(context.Background()) // in flight, never returning
	}
	clk.Advance(time.Second)
	fmt.Println(b.State())
	// Output: open
}
