package circuittest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
)

// A test drives a breaker's open timeout with the fake clock: no sleeping.
func ExampleClock() {
	clk := circuittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := circuit.MustNew[int](circuit.WithClock(clk), circuit.WithConsecutiveFailures(1),
		circuit.WithOpenTimeout(30*time.Second))
	_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("down") })
	fmt.Println(b.State())
	clk.Advance(29 * time.Second)
	fmt.Println(b.State())
	clk.Advance(time.Second)
	fmt.Println(b.State())
	// Output:
	// open
	// open
	// half-open
}
