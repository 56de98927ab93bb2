// Package sharetest holds what the tests of shared state have in common: the
// core's, on an in-memory Store, and redisstore's, on a real Redis.
//
// RunStoreSuite is the one suite of scenarios that every circuit.Store must
// pass; both sides run it on their store. The helpers run a few replicas on
// one fake clock, whose syncs run on real tickers, and wait for them to
// agree; the tests that only one side has use them too.
package sharetest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
)

// schedulingSlack is added to bounds of real time: sync goroutines are
// scheduled late now and then on a loaded 2-core machine under -race.
const schedulingSlack = 250 * time.Millisecond

// Replicas returns n breakers called name on clk that share state through
// store, syncing every every, with opts after the sharing options. They are
// closed when the test ends.
func Replicas(t testing.TB, n int, name string, store circuit.Store, every time.Duration,
	clk *circuittest.Clock, opts ...circuit.Option) []*circuit.Breaker[int] {
	t.Helper()
	bs := make([]*circuit.Breaker[int], n)
	for i := range bs {
		o := append([]circuit.Option{circuit.WithName(name), circuit.WithClock(clk), circuit.WithStore(store, every)}, opts...)
		bs[i] = circuit.MustNew[int](o...)
		t.Cleanup(func() { assert.NoError(t, bs[i].Close()) })
	}
	return bs
}

// RateOnly is the failure-rate rule alone (50% over at least minCalls),
// over a minute's window, with a 5s open timeout.
func RateOnly(minCalls int) []circuit.Option {
	return []circuit.Option{circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0.5, minCalls),
		circuit.WithWindow(time.Minute, 6), circuit.WithOpenTimeout(5 * time.Second)}
}

// States returns the state of each breaker, in order.
func States(bs []*circuit.Breaker[int]) []circuit.State {
	out := make([]circuit.State, len(bs))
	for i, b := range bs {
		out[i] = b.State()
	}
	return out
}

// WaitFor waits until every breaker is in want, calling each (if not nil)
// before every look; if they never are, it reports the states last seen.
func WaitFor(t testing.TB, want circuit.State, bs []*circuit.Breaker[int], each func()) {
	t.Helper()
	all := make([]circuit.State, len(bs))
	for i := range all {
		all[i] = want
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		if each != nil {
			each()
		}
		assert.Equal(c, all, States(bs))
	}, 5*time.Second, time.Millisecond)
}

// errDown is what a dependency answers while it is not healthy.
var errDown = errors.New("sharetest: dependency down")

// dependency stands behind the breakers of a fleet, and counts the calls
// that reach it from a half-open breaker: the trial calls.
type dependency struct {
	healthy atomic.Bool  // false: every call fails with errDown
	probes  atomic.Int64 // calls made while their breaker was half-open
}

// callAll makes one call to d through each breaker.
func (d *dependency) callAll(bs []*circuit.Breaker[int]) {
	for _, b := range bs {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) {
			if b.State() == circuit.HalfOpen {
				d.probes.Add(1)
			}
			if !d.healthy.Load() {
				return 0, errDown
			}
			return 1, nil
		})
	}
}
