package circuitotel

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/seed33933975/circuit"
)

// The attributes of the instruments.
const (
	nameKey    = attribute.Key("circuit.name")    // the breaker's name, on every instrument and span event
	stateKey   = attribute.Key("circuit.state")   // circuit.breaker.state's state
	outcomeKey = attribute.Key("circuit.outcome") // how circuit.breaker.calls' calls counted
)

// stateValues are stateKey's values, indexed by circuit.State: underscores
// where State.String has hyphens, as OpenTelemetry's enum values have.
var stateValues = [...]string{
	circuit.Closed:     "closed",
	circuit.HalfOpen:   "half_open",
	circuit.Open:       "open",
	circuit.ForcedOpen: "forced_open",
	circuit.Disabled:   "disabled",
}

// stateValue returns st's value of stateKey; a state this package does not
// know reads as its number.
func stateValue(st circuit.State) string {
	if int(st) < len(stateValues) {
		return stateValues[st]
	}
	return st.String()
}

// outcomeValues are outcomeKey's values, in the order they are observed.
var outcomeValues = [...]string{"success", "failure", "excluded"}

// Register makes the instruments circuit.breaker.* on meter and registers
// one callback that observes the figures of every breaker of sources each
// time meter's reader collects. A breaker met twice under one name in a
// collection (in two sources, say) is observed once, the first time.
//
// To stop observing, call the Registration's Unregister. To add sources
// later, call Register again with them: the calls share the meter's
// instruments, and each has its own callback. Give each breaker to one call
// only, since names are told apart within a call, not across calls.
// Register returns an
// error if meter is nil, a source is nil, or meter fails to make an
// instrument or register the callback.
func Register(meter metric.Meter, sources ...circuit.Source) (metric.Registration, error) {
	if meter == nil {
		return nil, errors.New("circuitotel: Register with a nil metric.Meter")
	}
	if i := slices.Index(sources, nil); i >= 0 {
		return nil, fmt.Errorf("circuitotel: Register with a nil circuit.Source (source %d)", i)
	}
	ins, err := newInstruments(meter)
	if err != nil {
		return nil, err
	}
	r := &reader{ins: ins, sources: slices.Clone(sources), names: map[string]*nameAttrs{}}
	reg, err := meter.RegisterCallback(r.observe, ins.all()...)
	if err != nil {
		return nil, fmt.Errorf("circuitotel: registering the callback: %w", err)
	}
	return reg, nil
}

// instruments are the observable instruments of the figures.
type instruments struct {
	state                        metric.Int64ObservableGauge
	calls, slow, rejected, trips metric.Int64ObservableCounter
	failureRate, slowRate        metric.Float64ObservableGauge
	window, inFlight, hung       metric.Int64ObservableUpDownCounter
}

func newInstruments(m metric.Meter) (*instruments, error) {
	var ins instruments
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	ins.state, err = m.Int64ObservableGauge("circuit.breaker.state", metric.WithUnit("1"),
		metric.WithDescription("The circuit breaker's state: 1 for the current state (attribute circuit.state), 0 for the others."))
	check(err)
	ins.calls, err = m.Int64ObservableCounter("circuit.breaker.calls", metric.WithUnit("{call}"),
		metric.WithDescription("Calls through the circuit breaker since it was made, by how they counted (attribute circuit.outcome)."))
	check(err)
	ins.slow, err = m.Int64ObservableCounter("circuit.breaker.slow_calls", metric.WithUnit("{call}"),
		metric.WithDescription("Calls through the circuit breaker since it was made that took at least the slow-call threshold."))
	check(err)
	ins.rejected, err = m.Int64ObservableCounter("circuit.breaker.rejected_calls", metric.WithUnit("{call}"),
		metric.WithDescription("Calls the circuit breaker rejected since it was made: open, forced open, half-open full, bulkhead full."))
	check(err)
	ins.trips, err = m.Int64ObservableCounter("circuit.breaker.trips", metric.WithUnit("{trip}"),
		metric.WithDescription("Transitions of the circuit breaker into the open state since it was made."))
	check(err)
	ins.failureRate, err = m.Float64ObservableGauge("circuit.breaker.failure_rate", metric.WithUnit("1"),
		metric.WithDescription("Failures over counted calls in the circuit breaker's window, 0 to 1; "+
			"-1 while the window holds fewer calls than the rule's minimum."))
	check(err)
	ins.slowRate, err = m.Float64ObservableGauge("circuit.breaker.slow_call_rate", metric.WithUnit("1"),
		metric.WithDescription("Slow calls over counted calls in the circuit breaker's window, 0 to 1; "+
			"-1 while the window holds fewer calls than the rule's minimum."))
	check(err)
	ins.window, err = m.Int64ObservableUpDownCounter("circuit.breaker.window_calls", metric.WithUnit("{call}"),
		metric.WithDescription("Counted calls (successes and failures) in the circuit breaker's window."))
	check(err)
	ins.inFlight, err = m.Int64ObservableUpDownCounter("circuit.breaker.in_flight_calls", metric.WithUnit("{call}"),
		metric.WithDescription("Calls in flight through the circuit breaker (kept with a bulkhead or hung-call tracking, else 0)."))
	check(err)
	ins.hung, err = m.Int64ObservableUpDownCounter("circuit.breaker.hung_calls", metric.WithUnit("{call}"),
		metric.WithDescription("Calls in flight through the circuit breaker for longer than the hung-call limit."))
	check(err)
	if len(errs) > 0 {
		return nil, fmt.Errorf("circuitotel: making the instruments: %w", errors.Join(errs...))
	}
	return &ins, nil
}

func (ins *instruments) all() []metric.Observable {
	return []metric.Observable{ins.state, ins.calls, ins.slow, ins.rejected, ins.trips,
		ins.failureRate, ins.slowRate, ins.window, ins.inFlight, ins.hung}
}

// reader is a registered callback: it observes the breakers of sources.
type reader struct {
	ins     *instruments
	sources []circuit.Source

	// mu serializes collections: readers of one provider may collect at
	// once, and names and gen belong to one collection at a time.
	mu sync.Mutex
	// names holds each name's attributes, made when the name is first met
	// and dropped after a collection that did not meet it (a Group's
	// evicted member), so that a collection allocates nothing for the
	// breakers it has seen before.
	names map[string]*nameAttrs
	gen   uint64 // collections so far
}

// nameAttrs are the observe options of one breaker name.
type nameAttrs struct {
	seen     uint64 // the last collection that met the name
	name     []metric.ObserveOption
	states   [len(stateValues)][]metric.ObserveOption
	outcomes [len(outcomeValues)][]metric.ObserveOption
}

func newNameAttrs(name string) *nameAttrs {
	opts := func(kvs ...attribute.KeyValue) []metric.ObserveOption {
		return []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
	}
	n := nameKey.String(name)
	a := &nameAttrs{name: opts(n)}
	for i, s := range stateValues {
		a.states[i] = opts(n, stateKey.String(s))
	}
	for i, o := range outcomeValues {
		a.outcomes[i] = opts(n, outcomeKey.String(o))
	}
	return a
}

func (r *reader) observe(_ context.Context, o metric.Observer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	for _, s := range r.sources {
		s.Breakers(func(name string, m circuit.Metrics) bool {
			name = strings.ToValidUTF8(name, "\uFFFD") // exporters must send UTF-8
			a := r.names[name]
			if a == nil {
				a = newNameAttrs(name)
				r.names[name] = a
			}
			if a.seen != r.gen {
				a.seen = r.gen
				r.ins.observe(o, a, m)
			}
			return true
		})
	}
	maps.DeleteFunc(r.names, func(_ string, a *nameAttrs) bool { return a.seen != r.gen })
	return nil
}

// observe observes one breaker's snapshot m.
func (ins *instruments) observe(o metric.Observer, a *nameAttrs, m circuit.Metrics) {
	for st, opts := range a.states {
		var v int64
		if m.State == circuit.State(st) {
			v = 1
		}
		o.ObserveInt64(ins.state, v, opts...)
	}
	o.ObserveInt64(ins.calls, count(m.Totals.Successes), a.outcomes[0]...)
	o.ObserveInt64(ins.calls, count(m.Totals.Failures), a.outcomes[1]...)
	o.ObserveInt64(ins.calls, count(m.Totals.Excluded), a.outcomes[2]...)
	o.ObserveInt64(ins.slow, count(m.Totals.SlowCalls), a.name...)
	o.ObserveInt64(ins.rejected, count(m.Rejected), a.name...)
	o.ObserveInt64(ins.trips, count(m.Trips), a.name...)
	o.ObserveFloat64(ins.failureRate, windowRate(m.FailureRate, m), a.name...)
	o.ObserveFloat64(ins.slowRate, windowRate(m.SlowCallRate, m), a.name...)
	o.ObserveInt64(ins.window, int64(m.Calls), a.name...)
	o.ObserveInt64(ins.inFlight, int64(m.InFlight), a.name...)
	o.ObserveInt64(ins.hung, int64(m.Hung), a.name...)
}

// count returns a total as an int64, which holds any count a breaker can
// reach; it saturates rather than wrap.
func count(v uint64) int64 { return int64(min(v, math.MaxInt64)) }

// windowRate returns rate, one of m's rates over the window, as exported:
// -1 while the window holds fewer calls than m.MinCalls, or none, because
// the trip rules ignore the rates then and a reader should not mistake 1
// failure in 1 call for a 100% failure rate.
func windowRate(rate float64, m circuit.Metrics) float64 {
	if m.Calls == 0 || m.Calls < m.MinCalls {
		return -1
	}
	return rate
}
