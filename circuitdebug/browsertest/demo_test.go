package browsertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
)

// demo is a group of breakers with twenty minutes of history on a fake clock
// that ends now: one of each state, the window figures of live traffic, calls
// in flight.
type demo struct {
	group *circuit.Group[string, int]
	clk   *circuittest.Clock
	done  []func(error) // the calls left in flight
}

var errDown = errors.New("connection refused")

func newDemo(t *testing.T) *demo {
	t.Helper()
	const history = 20 * time.Minute
	d := &demo{clk: circuittest.NewClock(time.Now().Add(-history))}
	g, err := circuit.NewGroup[string, int](
		circuit.WithClock(d.clk),
		circuit.WithConsecutiveFailures(5),
		circuit.WithFailureRate(0.5, 20),
		circuit.WithSlowCalls(time.Second, 0.8),
		circuit.WithOpenTimeout(30*time.Second),
		circuit.WithBulkhead(64, 0),
	)
	require.NoError(t, err)
	d.group = g
	t.Cleanup(func() {
		for _, done := range d.done {
			done(nil)
		}
		require.NoError(t, g.Close())
	})
	for _, name := range []string{"payments", "search", "inventory", "ledger", "recommendations", "users", "geo/eu-west", "geo/us-east"} {
		g.Get(name)
	}
	d.history(history)
	d.traffic()
	return d
}

// history makes the transitions of the twenty minutes before now, then moves
// the clock to now.
func (d *demo) history(length time.Duration) {
	start := d.clk.Now()
	d.clk.Advance(2 * time.Minute)
	d.calls("inventory", 5, errDown) // trips
	d.clk.Advance(45 * time.Second)
	d.calls("inventory", 1, nil) // a trial call after the open timeout
	d.calls("inventory", 4, nil) // closes it
	d.clk.Advance(3 * time.Minute)
	d.group.Get("recommendations").Disable()
	d.clk.Advance(6 * time.Minute)
	d.group.Get("ledger").ForceOpen()
	d.clk.Advance(7 * time.Minute)
	d.calls("search", 5, errDown) // trips; half-open when read after the timeout
	d.clk.Advance(length - d.clk.Now().Sub(start))
}

// traffic runs the calls in the windows now: mostly successes, some failures
// and slow calls, and a few calls left in flight.
func (d *demo) traffic() {
	for i, name := range []string{"payments", "users", "inventory", "geo/eu-west", "geo/us-east"} {
		for range i + 1 { // failures among successes, never enough in a row to trip
			d.calls(name, 30-i*3, nil)
			d.calls(name, 1, errDown)
		}
		for range i {
			d.slowCall(name)
		}
	}
	for range 3 {
		done, err := d.group.Get("users").Allow(context.Background())
		if err == nil {
			d.done = append(d.done, done)
		}
	}
}

// calls runs n calls through name's breaker, each returning err.
func (d *demo) calls(name string, n int, err error) {
	b := d.group.Get(name)
	for range n {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, err })
	}
}

// slowCall runs one call that takes 1.5s by the fake clock.
func (d *demo) slowCall(name string) {
	_, _ = d.group.Get(name).Execute(context.Background(), func(context.Context) (int, error) {
		d.clk.Advance(1500 * time.Millisecond)
		return 1, nil
	})
}

// tripPayments makes the payments breaker trip on consecutive failures.
func (d *demo) tripPayments() { d.calls("payments", 5, errDown) }
