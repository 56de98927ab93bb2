package circuit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
)

// Allow is for calls that cannot be wrapped in a function: ask first, then
// report how the call went.
func ExampleBreaker_Allow() {
	b := circuit.MustNew[struct{}](circuit.WithConsecutiveFailures(1))
	done, err := b.Allow(context.Background())
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	done(errors.New("connection reset")) // the call failed
	_, err = b.Allow(context.Background())
	fmt.Println(err)
	// Output: circuit: breaker is open
}

// RetryAfter tells a rejected caller how long the breaker stays open, for a
// Retry-After header or a retry timer.
func ExampleRetryAfter() {
	clk := circuittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := circuit.MustNew[int](circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Minute),
		circuit.WithClock(clk))
	_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("boom") })
	clk.Advance(20 * time.Second)
	_, err := b.Execute(context.Background(), func(context.Context) (int, error) { return 1, nil })
	wait, ok := circuit.RetryAfter(err)
	fmt.Println(wait, ok)
	// Output: 40s true
}

// mapStore is a Store for one process, to show the contract: it sums the
// replicas' deltas and keeps the first trip. Use redisstore across
// processes.
type mapStore struct {
	mu      sync.Mutex
	buckets map[int64]circuit.Bucket
	trip    *circuit.Trip
}

func (s *mapStore) Sync(_ context.Context, r circuit.Report) (circuit.View, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range r.Deltas {
		b := s.buckets[d.Epoch]
		b.Epoch = d.Epoch
		b.Successes, b.Failures = b.Successes+d.Successes, b.Failures+d.Failures
		b.Slow, b.Excluded = b.Slow+d.Slow, b.Excluded+d.Excluded
		s.buckets[d.Epoch] = b
	}
	if r.Trip != nil && (s.trip == nil || !s.trip.Until.After(r.Now)) {
		s.trip = r.Trip
	}
	if s.trip != nil && r.Closed == s.trip.Round {
		s.trip = nil
	}
	v := circuit.View{Replicas: 1, Trip: s.trip}
	for _, b := range s.buckets {
		v.Buckets = append(v.Buckets, b)
	}
	return v, nil
}

// WithStore shares a breaker's state across replicas; here two breakers of
// one name share a store, and a trip of one opens the other.
func ExampleWithStore() {
	store := &mapStore{buckets: map[int64]circuit.Bucket{}}
	opts := []circuit.Option{circuit.WithName("payments"), circuit.WithStore(store, 10*time.Millisecond),
		circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0.5, 4)}
	a := circuit.MustNew[int](opts...)
	opened := make(chan circuit.Transition, 1)
	b := circuit.MustNew[int](append(opts, circuit.WithOnStateChange(func(t circuit.Transition) { opened <- t }))...)
	defer a.Close()
	defer b.Close()
	for range 4 {
		_, _ = a.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("boom") })
	}
	t := <-opened // at b's next sync, on the cluster's figures or a's trip
	fmt.Println(a.State(), t.To)
	// Output: open open
}

// circuittest.Clock drives a breaker's time in a test: no sleeping.
func ExampleWithClock() {
	clk := circuittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := circuit.MustNew[int](circuit.WithClock(clk), circuit.WithConsecutiveFailures(1),
		circuit.WithOpenTimeout(10*time.Second))
	b.ForceOpen()
	b.Reset()
	_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("boom") })
	fmt.Println(b.State())
	clk.Advance(10 * time.Second)
	fmt.Println(b.State())
	// Output:
	// open
	// half-open
}

// A retry budget caps the retries of every client that shares it to a share
// of their first attempts; the throttle rejects locally in proportion to how
// much the dependency fails. Together they stop retry storms.
func ExampleNewRetryBudget() {
	budget, err := circuit.NewRetryBudget(0.1, 10) // retries: 10% of first attempts, plus 10 a second
	if err != nil {
		panic(err)
	}
	b := circuit.MustNew[int](circuit.WithAdaptiveThrottle(2),
		circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0.95, 10)) // trip only when it is down
	policy := circuit.RetryPolicy{Attempts: 3, Backoff: circuit.ConstantBackoff(10 * time.Millisecond), Budget: budget}
	v, err := circuit.Retry(context.Background(), b, policy, func(context.Context) (int, error) { return 42, nil })
	fmt.Println(v, err)
	// Output: 42 <nil>
}

// An observer sees every call: here it counts outcomes.
func ExampleWithObserver() {
	counts := map[circuit.Outcome]int{}
	b := circuit.MustNew[int](circuit.WithConsecutiveFailures(1),
		circuit.WithObserver(func(_ context.Context, o circuit.Observation) {
			counts[o.Outcome]++
			for _, t := range o.Changes {
				fmt.Println("this call:", t.From, "->", t.To, "("+t.Reason+")")
			}
		}))
	for _, err := range []error{nil, errors.New("boom"), nil} {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, err })
	}
	fmt.Println(counts)
	// Output:
	// this call: closed -> open (1 consecutive failure)
	// map[success:1 failure:1 rejected:1]
}

// A bounded Group for keys that callers choose (hosts of webhooks, say).
func ExampleWithGroupLimit() {
	g, err := circuit.NewGroup[string, int](circuit.WithName("webhooks"), circuit.WithGroupLimit(2, time.Minute))
	if err != nil {
		panic(err)
	}
	defer g.Close()
	for _, host := range []string{"a.example", "b.example", "c.example"} {
		fmt.Println(g.Get(host).Name())
	}
	fmt.Println(g.Len())
	// Output:
	// webhooks/a.example
	// webhooks/b.example
	// webhooks/overflow
	// 2
}
