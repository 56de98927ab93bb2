package circuitprom_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitprom"
)

// histogram returns the call-duration series of name and outcome.
func histogram(t *testing.T, c *circuitprom.Collector, name, outcome string) *dto.Histogram {
	t.Helper()
	m := series(families(t, c), "circuit_breaker_call_duration_seconds", "name", name, "outcome", outcome)
	if m == nil {
		return nil
	}
	return m.GetHistogram()
}

// bucket returns the cumulative count of h's bucket with upper bound le.
func bucket(t *testing.T, h *dto.Histogram, le float64) uint64 {
	t.Helper()
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() == le {
			return b.GetCumulativeCount()
		}
	}
	t.Fatalf("no bucket le=%v", le)
	return 0
}

func TestObserverRecordsDurationsByOutcome(t *testing.T) {
	c := circuitprom.NewCollector()
	b, clk := newBreaker(t, "payments", circuit.WithObserver(c.Observer()), circuit.WithConsecutiveFailures(2))
	require.NoError(t, call(b, clk, 30*time.Millisecond, nil))
	require.NoError(t, call(b, clk, 200*time.Millisecond, nil))
	require.ErrorIs(t, call(b, clk, 3*time.Second, errExcluded), errExcluded)
	calls(b, clk, 2, errDown) // trips
	require.ErrorIs(t, call(b, clk, 0, nil), circuit.ErrOpen)

	success := histogram(t, c, "payments", "success")
	require.NotNil(t, success)
	assert.Equal(t, uint64(2), success.GetSampleCount())
	assert.InDelta(t, 0.23, success.GetSampleSum(), 1e-9)
	assert.Equal(t, uint64(0), bucket(t, success, 0.025))
	assert.Equal(t, uint64(1), bucket(t, success, 0.05))
	assert.Equal(t, uint64(2), bucket(t, success, 0.25))

	failure := histogram(t, c, "payments", "failure")
	require.NotNil(t, failure)
	assert.Equal(t, uint64(2), failure.GetSampleCount())
	assert.Equal(t, 0.0, failure.GetSampleSum())

	excluded := histogram(t, c, "payments", "excluded")
	require.NotNil(t, excluded)
	assert.Equal(t, uint64(1), excluded.GetSampleCount())
	assert.Equal(t, 3.0, excluded.GetSampleSum())

	assert.Nil(t, histogram(t, c, "payments", "rejected"), "a rejected call did not run")
}

// A call whose caller gave up is recorded as ignored: how long it ran
// before the caller left.
func TestObserverRecordsIgnoredCalls(t *testing.T) {
	c := circuitprom.NewCollector()
	b, clk := newBreaker(t, "search", circuit.WithObserver(c.Observer()))
	ctx, cancel := context.WithCancel(context.Background())
	_, err := b.Execute(ctx, func(ctx context.Context) (int, error) {
		clk.Advance(time.Second)
		cancel()
		return 0, ctx.Err()
	})
	require.ErrorIs(t, err, context.Canceled)
	h := histogram(t, c, "search", "ignored")
	require.NotNil(t, h)
	assert.Equal(t, uint64(1), h.GetSampleCount())
	assert.Equal(t, 1.0, h.GetSampleSum())
}

// The histogram belongs to the Collector whatever its sources: a breaker
// given the observer is timed even when the Collector does not read it.
func TestObserverNeedsNoSource(t *testing.T) {
	c := circuitprom.NewCollector()
	obs := c.Observer()
	obs(context.Background(), circuit.Observation{Name: "bad\xff", Outcome: circuit.OutcomeFailure, Duration: time.Second})
	h := histogram(t, c, "bad\uFFFD", "failure")
	require.NotNil(t, h)
	assert.Equal(t, uint64(1), h.GetSampleCount())
	assert.Nil(t, series(families(t, c), "circuit_breaker_state", "name", "bad\uFFFD", "state", "closed"))
}

// Under -race: goroutines that observe calls of several breakers at once,
// each name and outcome met first by many of them, lose no observation.
func TestObserverConcurrent(t *testing.T) {
	c := circuitprom.NewCollector()
	obs := c.Observer()
	const goroutines, each, names = 8, 500, 4
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				obs(context.Background(), circuit.Observation{
					Name:     fmt.Sprint("b", (g+i)%names),
					Outcome:  circuit.Outcome(i % 2),
					Duration: time.Millisecond,
				})
			}
		}()
	}
	wg.Wait()
	var total uint64
	for n := range names {
		for _, o := range []string{"success", "failure"} {
			h := histogram(t, c, fmt.Sprint("b", n), o)
			require.NotNil(t, h)
			total += h.GetSampleCount()
		}
	}
	assert.Equal(t, uint64(goroutines*each), total)
}

// On the call path the observer allocates nothing once a name and outcome
// have been seen.
func TestObserverAllocatesNothing(t *testing.T) {
	obs := circuitprom.NewCollector().Observer()
	o := circuit.Observation{Name: "payments", Outcome: circuit.OutcomeSuccess, Duration: time.Millisecond}
	ctx := context.Background()
	obs(ctx, o)
	assert.Zero(t, testing.AllocsPerRun(100, func() { obs(ctx, o) }))
}
