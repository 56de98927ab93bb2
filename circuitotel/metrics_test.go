package circuitotel_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitotel"
)

func name(n string) attribute.KeyValue    { return attribute.String("circuit.name", n) }
func state(s string) attribute.KeyValue   { return attribute.String("circuit.state", s) }
func outcome(o string) attribute.KeyValue { return attribute.String("circuit.outcome", o) }

func dp[N int64 | float64](v N, attrs ...attribute.KeyValue) metricdata.DataPoint[N] {
	return metricdata.DataPoint[N]{Attributes: attribute.NewSet(attrs...), Value: v}
}

func counter(dps ...metricdata.DataPoint[int64]) metricdata.Sum[int64] {
	return metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: true, DataPoints: dps}
}

func upDown(dps ...metricdata.DataPoint[int64]) metricdata.Sum[int64] {
	return metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality, DataPoints: dps}
}

// A closed breaker after 3 successes (one slow), 2 failures and 1 excluded
// call, with minCalls 4 so that its rates show: every instrument, its kind,
// unit, description, attributes and values.
func TestRegisterEveryInstrument(t *testing.T) {
	b, clk := newBreaker(t, "payments", circuit.WithFailureRate(0.9, 4), circuit.WithSlowCalls(time.Second, 1))
	require.NoError(t, call(context.Background(), b, clk, 2*time.Second, nil)) // slow
	calls(b, clk, 2, nil)
	calls(b, clk, 2, errDown)
	calls(b, clk, 1, errExcluded)
	require.Equal(t, circuit.Closed, b.State())

	meter, reader := newMeter(t)
	_, err := circuitotel.Register(meter, b)
	require.NoError(t, err)

	p := name("payments")
	want := []metricdata.Metrics{
		{Name: "circuit.breaker.state", Unit: "1",
			Description: "The circuit breaker's state: 1 for the current state (attribute circuit.state), 0 for the others.",
			Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{
				dp[int64](1, p, state("closed")), dp[int64](0, p, state("half_open")), dp[int64](0, p, state("open")),
				dp[int64](0, p, state("forced_open")), dp[int64](0, p, state("disabled"))}}},
		{Name: "circuit.breaker.calls", Unit: "{call}",
			Description: "Calls through the circuit breaker since it was made, by how they counted (attribute circuit.outcome).",
			Data:        counter(dp[int64](3, p, outcome("success")), dp[int64](2, p, outcome("failure")), dp[int64](1, p, outcome("excluded")))},
		{Name: "circuit.breaker.slow_calls", Unit: "{call}",
			Description: "Calls through the circuit breaker since it was made that took at least the slow-call threshold.",
			Data:        counter(dp[int64](1, p))},
		{Name: "circuit.breaker.rejected_calls", Unit: "{call}",
			Description: "Calls the circuit breaker rejected since it was made: open, forced open, half-open full, bulkhead full.",
			Data:        counter(dp[int64](0, p))},
		{Name: "circuit.breaker.trips", Unit: "{trip}",
			Description: "Transitions of the circuit breaker into the open state since it was made.",
			Data:        counter(dp[int64](0, p))},
		{Name: "circuit.breaker.failure_rate", Unit: "1",
			Description: "Failures over counted calls in the circuit breaker's window, 0 to 1; -1 while the window holds fewer calls than the rule's minimum.",
			Data:        metricdata.Gauge[float64]{DataPoints: []metricdata.DataPoint[float64]{dp(0.4, p)}}},
		{Name: "circuit.breaker.slow_call_rate", Unit: "1",
			Description: "Slow calls over counted calls in the circuit breaker's window, 0 to 1; -1 while the window holds fewer calls than the rule's minimum.",
			Data:        metricdata.Gauge[float64]{DataPoints: []metricdata.DataPoint[float64]{dp(0.2, p)}}},
		{Name: "circuit.breaker.window_calls", Unit: "{call}",
			Description: "Counted calls (successes and failures) in the circuit breaker's window.",
			Data:        upDown(dp[int64](5, p))},
		{Name: "circuit.breaker.in_flight_calls", Unit: "{call}",
			Description: "Calls in flight through the circuit breaker (kept with a bulkhead or hung-call tracking, else 0).",
			Data:        upDown(dp[int64](0, p))},
		{Name: "circuit.breaker.hung_calls", Unit: "{call}",
			Description: "Calls in flight through the circuit breaker for longer than the hung-call limit.",
			Data:        upDown(dp[int64](0, p))},
	}
	got := collect(t, reader)
	assert.Len(t, got, len(want))
	for _, w := range want {
		g, ok := got[w.Name]
		if assert.True(t, ok, "no instrument %s", w.Name) {
			metricdatatest.AssertEqual(t, w, g, metricdatatest.IgnoreTimestamp())
		}
	}
}

// The totals since New are counters: they keep counting across a trip and a
// reset, where the window's figures start again.
func TestRegisterTotalsOutliveTheWindow(t *testing.T) {
	b, clk := newBreaker(t, "payments", circuit.WithConsecutiveFailures(3))
	calls(b, clk, 3, nil)
	calls(b, clk, 3, errDown) // trips
	require.Equal(t, circuit.Open, b.State())
	calls(b, clk, 2, nil) // rejected
	b.Reset()
	calls(b, clk, 1, nil)

	meter, reader := newMeter(t)
	_, err := circuitotel.Register(meter, b)
	require.NoError(t, err)
	got := collect(t, reader)
	p := name("payments")
	for _, f := range []struct {
		metric string
		attrs  []attribute.KeyValue
		want   float64
	}{
		{"circuit.breaker.calls", []attribute.KeyValue{p, outcome("success")}, 4},
		{"circuit.breaker.calls", []attribute.KeyValue{p, outcome("failure")}, 3},
		{"circuit.breaker.calls", []attribute.KeyValue{p, outcome("excluded")}, 0},
		{"circuit.breaker.rejected_calls", []attribute.KeyValue{p}, 2},
		{"circuit.breaker.trips", []attribute.KeyValue{p}, 1},
		{"circuit.breaker.window_calls", []attribute.KeyValue{p}, 1},
	} {
		v, ok := point(got[f.metric], f.attrs...)
		assert.True(t, ok, "%s %v", f.metric, f.attrs)
		assert.Equal(t, f.want, v, "%s %v", f.metric, f.attrs)
	}
}

func TestRegisterStateAttribute(t *testing.T) {
	cases := []struct {
		name  string
		drive func(b *circuit.Breaker[int], clk interface{ Advance(time.Duration) })
		want  string
	}{
		{"a new breaker is closed", func(*circuit.Breaker[int], interface{ Advance(time.Duration) }) {}, "closed"},
		{"consecutive failures open it", func(b *circuit.Breaker[int], _ interface{ Advance(time.Duration) }) {
			for range 5 {
				_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errDown })
			}
		}, "open"},
		{"the open timeout's end makes it half-open", func(b *circuit.Breaker[int], clk interface{ Advance(time.Duration) }) {
			b.ForceOpen()
			b.Reset()
			for range 5 {
				_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errDown })
			}
			clk.Advance(time.Minute)
		}, "half_open"},
		{"ForceOpen forces it open", func(b *circuit.Breaker[int], _ interface{ Advance(time.Duration) }) { b.ForceOpen() }, "forced_open"},
		{"Disable disables it", func(b *circuit.Breaker[int], _ interface{ Advance(time.Duration) }) { b.Disable() }, "disabled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, clk := newBreaker(t, "search", circuit.WithOpenTimeout(time.Minute))
			tc.drive(b, clk)
			meter, reader := newMeter(t)
			_, err := circuitotel.Register(meter, b)
			require.NoError(t, err)
			got := collect(t, reader)["circuit.breaker.state"]
			for _, s := range []string{"closed", "half_open", "open", "forced_open", "disabled"} {
				want := 0.0
				if s == tc.want {
					want = 1
				}
				v, ok := point(got, name("search"), state(s))
				assert.True(t, ok, s)
				assert.Equal(t, want, v, s)
			}
		})
	}
}

func TestRegisterRates(t *testing.T) {
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
			meter, reader := newMeter(t)
			_, err := circuitotel.Register(meter, b)
			require.NoError(t, err)
			got := collect(t, reader)
			v, _ := point(got["circuit.breaker.failure_rate"], name("orders"))
			assert.Equal(t, tc.wantFailure, v)
			wantSlow := 0.0
			if tc.wantFailure < 0 {
				wantSlow = -1
			}
			v, _ = point(got["circuit.breaker.slow_call_rate"], name("orders"))
			assert.Equal(t, wantSlow, v)
		})
	}
}

// source is a circuit.Source of snapshots a test sets, so that the mapping
// of every field of Metrics is pinned apart from the core.
type source struct {
	mu sync.Mutex
	m  map[string]circuit.Metrics
}

func (s *source) Breakers(fn func(name string, m circuit.Metrics) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, m := range s.m {
		if !fn(name, m) {
			return
		}
	}
}

func (s *source) set(m map[string]circuit.Metrics) {
	s.mu.Lock()
	s.m = m
	s.mu.Unlock()
}

func TestRegisterMapsEveryField(t *testing.T) {
	m := circuit.Metrics{
		State: circuit.HalfOpen, Calls: 40, Successes: 30, Failures: 10, SlowCalls: 8, Excluded: 2,
		FailureRate: 0.25, SlowCallRate: 0.2, ConsecutiveFailures: 1, InFlight: 6, Hung: 2,
		Rejected: 17, Trips: 3, StoreErrors: 1, MinCalls: 20,
		Totals: circuit.Totals{Successes: 1000, Failures: 70, SlowCalls: 90, Excluded: 5},
	}
	meter, reader := newMeter(t)
	_, err := circuitotel.Register(meter, &source{m: map[string]circuit.Metrics{"ledger": m}})
	require.NoError(t, err)
	got := collect(t, reader)
	l := name("ledger")
	for _, f := range []struct {
		metric string
		attrs  []attribute.KeyValue
		want   float64
	}{
		{"circuit.breaker.state", []attribute.KeyValue{l, state("half_open")}, 1},
		{"circuit.breaker.state", []attribute.KeyValue{l, state("closed")}, 0},
		{"circuit.breaker.calls", []attribute.KeyValue{l, outcome("success")}, 1000},
		{"circuit.breaker.calls", []attribute.KeyValue{l, outcome("failure")}, 70},
		{"circuit.breaker.calls", []attribute.KeyValue{l, outcome("excluded")}, 5},
		{"circuit.breaker.slow_calls", []attribute.KeyValue{l}, 90},
		{"circuit.breaker.rejected_calls", []attribute.KeyValue{l}, 17},
		{"circuit.breaker.trips", []attribute.KeyValue{l}, 3},
		{"circuit.breaker.failure_rate", []attribute.KeyValue{l}, 0.25},
		{"circuit.breaker.slow_call_rate", []attribute.KeyValue{l}, 0.2},
		{"circuit.breaker.window_calls", []attribute.KeyValue{l}, 40},
		{"circuit.breaker.in_flight_calls", []attribute.KeyValue{l}, 6},
		{"circuit.breaker.hung_calls", []attribute.KeyValue{l}, 2},
	} {
		v, ok := point(got[f.metric], f.attrs...)
		assert.True(t, ok, "%s %v", f.metric, f.attrs)
		assert.Equal(t, f.want, v, "%s %v", f.metric, f.attrs)
	}
}

// A breaker that leaves its source (a Group's evicted member) is no longer
// reported; one that comes back is reported again.
func TestRegisterFollowsTheSource(t *testing.T) {
	src := &source{m: map[string]circuit.Metrics{"a": {}, "b": {}}}
	meter, reader := newMeter(t)
	_, err := circuitotel.Register(meter, src)
	require.NoError(t, err)
	trips := func() []string {
		var names []string
		for _, d := range collect(t, reader)["circuit.breaker.trips"].Data.(metricdata.Sum[int64]).DataPoints {
			v, _ := d.Attributes.Value("circuit.name")
			names = append(names, v.AsString())
		}
		return names
	}
	assert.ElementsMatch(t, []string{"a", "b"}, trips())
	src.set(map[string]circuit.Metrics{"b": {}})
	assert.ElementsMatch(t, []string{"b"}, trips())
	src.set(map[string]circuit.Metrics{"a": {Trips: 2}, "b": {}})
	assert.ElementsMatch(t, []string{"a", "b"}, trips())
}

// Of two breakers with one name, the first met is reported.
func TestRegisterDuplicateNamesReportTheFirst(t *testing.T) {
	first, _ := newBreaker(t, "dup")
	second, _ := newBreaker(t, "dup")
	second.ForceOpen()
	meter, reader := newMeter(t)
	_, err := circuitotel.Register(meter, first, second)
	require.NoError(t, err)
	got := collect(t, reader)["circuit.breaker.state"]
	v, _ := point(got, name("dup"), state("closed"))
	assert.Equal(t, 1.0, v)
	v, _ = point(got, name("dup"), state("forced_open"))
	assert.Equal(t, 0.0, v)
}

// Exporters send strings as UTF-8; a Group's key may be anything.
func TestRegisterInvalidUTF8Name(t *testing.T) {
	b, _ := newBreaker(t, "bad\xffname")
	meter, reader := newMeter(t)
	_, err := circuitotel.Register(meter, b)
	require.NoError(t, err)
	_, ok := point(collect(t, reader)["circuit.breaker.trips"], name("bad\uFFFDname"))
	assert.True(t, ok)
}

// A Group is a Source: its members are reported, those made after Register
// too.
func TestRegisterGroup(t *testing.T) {
	g, err := circuit.NewGroup[string, int]()
	require.NoError(t, err)
	meter, reader := newMeter(t)
	_, err = circuitotel.Register(meter, g)
	require.NoError(t, err)
	g.Get("eu").ForceOpen()
	g.Get("us")
	got := collect(t, reader)["circuit.breaker.state"]
	v, _ := point(got, name("eu"), state("forced_open"))
	assert.Equal(t, 1.0, v)
	v, _ = point(got, name("us"), state("closed"))
	assert.Equal(t, 1.0, v)
}

func TestUnregister(t *testing.T) {
	b, _ := newBreaker(t, "payments")
	meter, reader := newMeter(t)
	reg, err := circuitotel.Register(meter, b)
	require.NoError(t, err)
	require.NoError(t, reg.Unregister())
	for _, m := range collect(t, reader) {
		_, ok := point(m, name("payments"))
		assert.False(t, ok, m.Name)
	}
}

// Under -race: two readers of one provider collect at once while the
// breakers are in use.
func TestConcurrentCollections(t *testing.T) {
	g, err := circuit.NewGroup[int, int]()
	require.NoError(t, err)
	meter, reader := newMeter(t)
	_, err = circuitotel.Register(meter, g)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ctx.Err() == nil; i++ {
			_, _ = g.Execute(ctx, i%50, func(context.Context) (int, error) { return 0, nil })
		}
	}()
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				var rm metricdata.ResourceMetrics
				assert.NoError(t, reader.Collect(context.Background(), &rm))
			}
		}()
	}
	wg.Wait()
	cancel()
	<-done
}

func TestRegisterErrors(t *testing.T) {
	b, _ := newBreaker(t, "payments")
	_, err := circuitotel.Register(nil, b)
	assert.EqualError(t, err, "circuitotel: Register with a nil metric.Meter")

	meter, _ := newMeter(t)
	_, err = circuitotel.Register(meter, b, nil)
	assert.EqualError(t, err, "circuitotel: Register with a nil circuit.Source (source 1)")

	errMeter := errors.New("meter refused")
	_, err = circuitotel.Register(failingMeter{instrument: errMeter}, b)
	assert.ErrorIs(t, err, errMeter)
	assert.ErrorContains(t, err, "circuitotel: making the instruments")

	_, err = circuitotel.Register(failingMeter{callback: errMeter}, b)
	assert.ErrorIs(t, err, errMeter)
	assert.ErrorContains(t, err, "circuitotel: registering the callback")
}

// failingMeter is a meter that fails to make instruments or to register a
// callback.
type failingMeter struct {
	noop.Meter
	instrument, callback error
}

func (m failingMeter) Int64ObservableGauge(name string, opts ...metric.Int64ObservableGaugeOption) (metric.Int64ObservableGauge, error) {
	g, _ := m.Meter.Int64ObservableGauge(name, opts...)
	return g, m.instrument
}

func (m failingMeter) RegisterCallback(f metric.Callback, instruments ...metric.Observable) (metric.Registration, error) {
	if m.callback != nil {
		return nil, m.callback
	}
	return m.Meter.RegisterCallback(f, instruments...)
}

// Sources registered apart on one meter share its instruments, each with its
// own callback; unregistering one leaves the other.
func TestRegisterTwice(t *testing.T) {
	a, _ := newBreaker(t, "a")
	b, _ := newBreaker(t, "b")
	meter, reader := newMeter(t)
	regA, err := circuitotel.Register(meter, a)
	require.NoError(t, err)
	_, err = circuitotel.Register(meter, b)
	require.NoError(t, err)
	got := collect(t, reader)["circuit.breaker.state"]
	_, okA := point(got, name("a"), state("closed"))
	_, okB := point(got, name("b"), state("closed"))
	assert.True(t, okA && okB)

	require.NoError(t, regA.Unregister())
	got = collect(t, reader)["circuit.breaker.state"]
	_, okA = point(got, name("a"), state("closed"))
	_, okB = point(got, name("b"), state("closed"))
	assert.False(t, okA)
	assert.True(t, okB)
}
