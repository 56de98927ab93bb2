package circuitprom_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitprom"
	"github.com/seed33933975/circuit/circuittest"
)

// snapshotNames are the metrics read from Metrics snapshots.
var snapshotNames = []string{
	"circuit_breaker_state",
	"circuit_breaker_calls_total",
	"circuit_breaker_slow_calls_total",
	"circuit_breaker_rejected_calls_total",
	"circuit_breaker_trips_total",
	"circuit_breaker_failure_rate",
	"circuit_breaker_slow_call_rate",
	"circuit_breaker_window_calls",
	"circuit_breaker_in_flight_calls",
	"circuit_breaker_hung_calls",
}

// A closed breaker after 3 successes (one slow), 2 failures and 1 excluded
// call, with minCalls 4 so that its rates show: every figure, every name,
// every label, every HELP and TYPE line.
func TestCollectEveryFigure(t *testing.T) {
	b, clk := newBreaker(t, "payments",
		circuit.WithFailureRate(0.9, 4),
		circuit.WithSlowCalls(time.Second, 1))
	require.NoError(t, call(b, clk, 2*time.Second, nil)) // slow
	calls(b, clk, 2, nil)
	calls(b, clk, 2, errDown)
	calls(b, clk, 1, errExcluded)
	require.Equal(t, circuit.Closed, b.State())

	const want = `
# HELP circuit_breaker_calls_total Calls through the circuit breaker since it was made, by how they counted.
# TYPE circuit_breaker_calls_total counter
circuit_breaker_calls_total{name="payments",outcome="excluded"} 1
circuit_breaker_calls_total{name="payments",outcome="failure"} 2
circuit_breaker_calls_total{name="payments",outcome="success"} 3
# HELP circuit_breaker_failure_rate Failures over counted calls in the circuit breaker's window, 0 to 1; -1 while the window holds fewer calls than the rule's minimum.
# TYPE circuit_breaker_failure_rate gauge
circuit_breaker_failure_rate{name="payments"} 0.4
# HELP circuit_breaker_hung_calls Calls in flight through the circuit breaker for longer than the hung-call limit.
# TYPE circuit_breaker_hung_calls gauge
circuit_breaker_hung_calls{name="payments"} 0
# HELP circuit_breaker_in_flight_calls Calls in flight through the circuit breaker (kept with a bulkhead or hung-call tracking, else 0).
# TYPE circuit_breaker_in_flight_calls gauge
circuit_breaker_in_flight_calls{name="payments"} 0
# HELP circuit_breaker_rejected_calls_total Calls the circuit breaker rejected since it was made: open, forced open, half-open full, bulkhead full.
# TYPE circuit_breaker_rejected_calls_total counter
circuit_breaker_rejected_calls_total{name="payments"} 0
# HELP circuit_breaker_slow_call_rate Slow calls over counted calls in the circuit breaker's window, 0 to 1; -1 while the window holds fewer calls than the rule's minimum.
# TYPE circuit_breaker_slow_call_rate gauge
circuit_breaker_slow_call_rate{name="payments"} 0.2
# HELP circuit_breaker_slow_calls_total Calls through the circuit breaker since it was made that took at least the slow-call threshold.
# TYPE circuit_breaker_slow_calls_total counter
circuit_breaker_slow_calls_total{name="payments"} 1
# HELP circuit_breaker_state The circuit breaker's state: 1 for the current state, 0 for the others.
# TYPE circuit_breaker_state gauge
circuit_breaker_state{name="payments",state="closed"} 1
circuit_breaker_state{name="payments",state="disabled"} 0
circuit_breaker_state{name="payments",state="forced_open"} 0
circuit_breaker_state{name="payments",state="half_open"} 0
circuit_breaker_state{name="payments",state="open"} 0
# HELP circuit_breaker_trips_total Transitions of the circuit breaker into the open state since it was made.
# TYPE circuit_breaker_trips_total counter
circuit_breaker_trips_total{name="payments"} 0
# HELP circuit_breaker_window_calls Counted calls (successes and failures) in the circuit breaker's window.
# TYPE circuit_breaker_window_calls gauge
circuit_breaker_window_calls{name="payments"} 5
`
	c := circuitprom.NewCollector(b)
	assert.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want)))
	// The histogram has no series until its observer is wired and called.
	assert.Equal(t, len(snapshotNames), len(families(t, c)))
}

// The totals since New are counters: they keep counting across a trip and a
// reset, where the window's figures start again.
func TestCollectTotalsOutliveTheWindow(t *testing.T) {
	b, clk := newBreaker(t, "payments", circuit.WithConsecutiveFailures(3))
	calls(b, clk, 3, nil)
	calls(b, clk, 3, errDown) // trips
	require.Equal(t, circuit.Open, b.State())
	calls(b, clk, 2, nil) // rejected
	b.Reset()
	calls(b, clk, 1, nil)

	mfs := families(t, circuitprom.NewCollector(b))
	assert.Equal(t, 4.0, value(t, mfs, "circuit_breaker_calls_total", "name", "payments", "outcome", "success"))
	assert.Equal(t, 3.0, value(t, mfs, "circuit_breaker_calls_total", "name", "payments", "outcome", "failure"))
	assert.Equal(t, 0.0, value(t, mfs, "circuit_breaker_calls_total", "name", "payments", "outcome", "excluded"))
	assert.Equal(t, 2.0, value(t, mfs, "circuit_breaker_rejected_calls_total", "name", "payments"))
	assert.Equal(t, 1.0, value(t, mfs, "circuit_breaker_trips_total", "name", "payments"))
	assert.Equal(t, 1.0, value(t, mfs, "circuit_breaker_window_calls", "name", "payments"), "the reset emptied the window")
}

func TestCollectStateGauge(t *testing.T) {
	cases := []struct {
		name  string
		drive func(b *circuit.Breaker[int], clk *circuittest.Clock)
		want  string
	}{
		{"a new breaker is closed", func(*circuit.Breaker[int], *circuittest.Clock) {}, "closed"},
		{"consecutive failures open it", func(b *circuit.Breaker[int], clk *circuittest.Clock) {
			calls(b, clk, 5, errDown)
		}, "open"},
		{"the open timeout's end makes it half-open", func(b *circuit.Breaker[int], clk *circuittest.Clock) {
			calls(b, clk, 5, errDown)
			clk.Advance(time.Minute)
		}, "half_open"},
		{"ForceOpen forces it open", func(b *circuit.Breaker[int], _ *circuittest.Clock) { b.ForceOpen() }, "forced_open"},
		{"Disable disables it", func(b *circuit.Breaker[int], _ *circuittest.Clock) { b.Disable() }, "disabled"},
		{"Reset closes a forced-open breaker", func(b *circuit.Breaker[int], _ *circuittest.Clock) {
			b.ForceOpen()
			b.Reset()
		}, "closed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, clk := newBreaker(t, "search", circuit.WithOpenTimeout(time.Minute))
			tc.drive(b, clk)
			mfs := families(t, circuitprom.NewCollector(b))
			for _, s := range []string{"closed", "half_open", "open", "forced_open", "disabled"} {
				want := 0.0
				if s == tc.want {
					want = 1
				}
				assert.Equal(t, want, value(t, mfs, "circuit_breaker_state", "name", "search", "state", s), "state %s", s)
			}
		})
	}
}

func TestCollectRates(t *testing.T) {
	cases := []struct {
		name                string
		successes, failures int
		wantFailure         float64
	}{
		{"an empty window's rates are unknown", 0, 0, -1},
		{"fewer calls than minCalls: unknown, not 100%", 0, 3, -1},
		{"exactly minCalls: the rate shows", 2, 2, 0.5},
		{"more than minCalls", 3, 1, 0.25},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, clk := newBreaker(t, "orders", circuit.WithFailureRate(0.9, 4),
				circuit.WithConsecutiveFailures(0), circuit.WithSlowCalls(time.Second, 1))
			calls(b, clk, tc.successes, nil)
			calls(b, clk, tc.failures, errDown)
			mfs := families(t, circuitprom.NewCollector(b))
			assert.Equal(t, tc.wantFailure, value(t, mfs, "circuit_breaker_failure_rate", "name", "orders"))
			wantSlow := 0.0
			if tc.wantFailure < 0 {
				wantSlow = -1
			}
			assert.Equal(t, wantSlow, value(t, mfs, "circuit_breaker_slow_call_rate", "name", "orders"))
		})
	}
}

// Calls held in flight with Allow, with hung-call tracking on, are in flight
// at once and hung once they pass the limit.
func TestCollectInFlightAndHung(t *testing.T) {
	b, clk := newBreaker(t, "inventory", circuit.WithHungCalls(time.Second, 5))
	var dones []func(error)
	for range 3 {
		done, err := b.Allow(context.Background())
		require.NoError(t, err)
		dones = append(dones, done)
	}
	clk.Advance(900 * time.Millisecond)
	done, err := b.Allow(context.Background())
	require.NoError(t, err)
	dones = append(dones, done)
	// The first 3 are 1.5s old, past the limit by more than its 1/8
	// granularity; the last is 0.6s old.
	clk.Advance(600 * time.Millisecond)

	c := circuitprom.NewCollector(b)
	mfs := families(t, c)
	assert.Equal(t, 4.0, value(t, mfs, "circuit_breaker_in_flight_calls", "name", "inventory"))
	assert.Equal(t, 3.0, value(t, mfs, "circuit_breaker_hung_calls", "name", "inventory"))

	for _, done := range dones {
		done(nil)
	}
	mfs = families(t, c)
	assert.Equal(t, 0.0, value(t, mfs, "circuit_breaker_in_flight_calls", "name", "inventory"))
	assert.Equal(t, 0.0, value(t, mfs, "circuit_breaker_hung_calls", "name", "inventory"))
}

// A Group is a Source: each member is exported, and members made after the
// Collector are exported from the next collection on.
func TestCollectGroup(t *testing.T) {
	g, err := circuit.NewGroup[string, int]()
	require.NoError(t, err)
	c := circuitprom.NewCollector(g)
	assert.Equal(t, 0, testutil.CollectAndCount(c), "no member yet")

	g.Get("eu").ForceOpen()
	g.Get("us")
	mfs := families(t, c)
	assert.Equal(t, 1.0, value(t, mfs, "circuit_breaker_state", "name", "eu", "state", "forced_open"))
	assert.Equal(t, 1.0, value(t, mfs, "circuit_breaker_state", "name", "us", "state", "closed"))
	assert.Equal(t, 2*(5+3+8), testutil.CollectAndCount(c), "16 series per breaker")
}

func TestAddSources(t *testing.T) {
	a, _ := newBreaker(t, "a")
	b, _ := newBreaker(t, "b")
	c := circuitprom.NewCollector()
	assert.Equal(t, 0, testutil.CollectAndCount(c))
	c.Add(a)
	c.Add(b)
	mfs := families(t, c)
	assert.NotNil(t, series(mfs, "circuit_breaker_trips_total", "name", "a"))
	assert.NotNil(t, series(mfs, "circuit_breaker_trips_total", "name", "b"))
}

func TestNilSourcePanics(t *testing.T) {
	assert.PanicsWithValue(t, "circuitprom: nil circuit.Source", func() { circuitprom.NewCollector(nil) })
	c := circuitprom.NewCollector()
	assert.PanicsWithValue(t, "circuitprom: nil circuit.Source", func() { c.Add(nil) })
}

// Prometheus rejects a whole scrape that holds one series twice: of two
// breakers with one name, the first is exported and the second skipped.
func TestDuplicateNamesExportTheFirst(t *testing.T) {
	first, _ := newBreaker(t, "dup")
	second, _ := newBreaker(t, "dup")
	second.ForceOpen()
	mfs := families(t, circuitprom.NewCollector(first, second))
	assert.Equal(t, 1.0, value(t, mfs, "circuit_breaker_state", "name", "dup", "state", "closed"))
	assert.Len(t, mfs["circuit_breaker_trips_total"].GetMetric(), 1)
}

// A label value must be UTF-8; a Group's key may be anything.
func TestInvalidUTF8Name(t *testing.T) {
	b, _ := newBreaker(t, "bad\xffname")
	mfs := families(t, circuitprom.NewCollector(b))
	assert.Equal(t, 1.0, value(t, mfs, "circuit_breaker_state", "name", "bad\uFFFDname", "state", "closed"))
}

func TestLint(t *testing.T) {
	b, clk := newBreaker(t, "payments")
	c := circuitprom.NewCollector(b)
	_ = call(b, clk, time.Millisecond, nil)
	obs := c.Observer()
	obs(context.Background(), circuit.Observation{Name: "payments", Duration: time.Millisecond})
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems)
}

// Two registries can each hold a Collector; one registry refuses a second,
// which would export the same names.
func TestRegisterOncePerRegistry(t *testing.T) {
	b, _ := newBreaker(t, "payments")
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(circuitprom.NewCollector(b)))
	assert.Error(t, reg.Register(circuitprom.NewCollector(b)))
	assert.NoError(t, prometheus.NewRegistry().Register(circuitprom.NewCollector(b)))
}

// source is a circuit.Source of fixed snapshots, so that the mapping of
// every field of Metrics to a series is pinned apart from the core.
type source map[string]circuit.Metrics

func (s source) Breakers(fn func(name string, m circuit.Metrics) bool) {
	for name, m := range s {
		if !fn(name, m) {
			return
		}
	}
}

func TestCollectMapsEveryField(t *testing.T) {
	m := circuit.Metrics{
		State: circuit.HalfOpen, Calls: 40, Successes: 30, Failures: 10, SlowCalls: 8, Excluded: 2,
		FailureRate: 0.25, SlowCallRate: 0.2, ConsecutiveFailures: 1, InFlight: 6, Hung: 2,
		Rejected: 17, Trips: 3, StoreErrors: 1, MinCalls: 20,
		Totals: circuit.Totals{Successes: 1000, Failures: 70, SlowCalls: 90, Excluded: 5},
	}
	mfs := families(t, circuitprom.NewCollector(source{"ledger": m}))
	figures := []struct {
		metric string
		labels []string
		want   float64
	}{
		{"circuit_breaker_state", []string{"state", "half_open"}, 1},
		{"circuit_breaker_state", []string{"state", "closed"}, 0},
		{"circuit_breaker_calls_total", []string{"outcome", "success"}, 1000},
		{"circuit_breaker_calls_total", []string{"outcome", "failure"}, 70},
		{"circuit_breaker_calls_total", []string{"outcome", "excluded"}, 5},
		{"circuit_breaker_slow_calls_total", nil, 90},
		{"circuit_breaker_rejected_calls_total", nil, 17},
		{"circuit_breaker_trips_total", nil, 3},
		{"circuit_breaker_failure_rate", nil, 0.25},
		{"circuit_breaker_slow_call_rate", nil, 0.2},
		{"circuit_breaker_window_calls", nil, 40},
		{"circuit_breaker_in_flight_calls", nil, 6},
		{"circuit_breaker_hung_calls", nil, 2},
	}
	for _, f := range figures {
		assert.Equal(t, f.want, value(t, mfs, f.metric, append([]string{"name", "ledger"}, f.labels...)...), "%s%v", f.metric, f.labels)
	}
}

// A state the Collector does not know (a newer core's) reads 0 in every
// state series, rather than a wrong 1.
func TestCollectUnknownState(t *testing.T) {
	mfs := families(t, circuitprom.NewCollector(source{"x": {State: circuit.State(9)}}))
	for _, m := range mfs["circuit_breaker_state"].GetMetric() {
		assert.Zero(t, m.GetGauge().GetValue())
	}
}

// Every member of a large group is exported.
func TestCollectEveryMemberOfAGroup(t *testing.T) {
	g, err := circuit.NewGroup[int, int]()
	require.NoError(t, err)
	for k := range 50 {
		g.Get(k)
	}
	assert.Equal(t, 50*16, testutil.CollectAndCount(circuitprom.NewCollector(g)))
}

// A registry wrapped with constant labels appends them to each sample's
// labels and sorts them: the samples' shared label pairs must come out
// unchanged, scrape after scrape (under -race, two at once).
func TestWrappedRegistry(t *testing.T) {
	a, _ := newBreaker(t, "a")
	b, _ := newBreaker(t, "b")
	b.ForceOpen()
	reg := prometheus.NewPedanticRegistry()
	prometheus.WrapRegistererWith(prometheus.Labels{"zone": "eu", "aaa": "first"}, reg).
		MustRegister(circuitprom.NewCollector(a, b))
	gather := func() string {
		mfs, err := reg.Gather()
		require.NoError(t, err)
		var out strings.Builder
		for _, mf := range mfs {
			_, err := expfmt.MetricFamilyToText(&out, mf)
			require.NoError(t, err)
		}
		return out.String()
	}
	first := gather()
	assert.Contains(t, first, `circuit_breaker_state{aaa="first",name="b",state="forced_open",zone="eu"} 1`)
	done := make(chan string)
	go func() { done <- gather() }()
	assert.Equal(t, first, gather())
	assert.Equal(t, first, <-done)
}
