package circuitprom

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed33933975/circuit"
)

// Collector is a prometheus.Collector of circuit breakers' figures. It reads
// a Metrics snapshot of every breaker of its sources each time it is
// collected (scraped), and keeps nothing between collections but the
// call-duration histogram its Observer feeds.
//
// Every breaker is exported under its name, which should be unique among
// the Collector's sources: where two breakers share a name, the first one
// met in a collection is exported and the others are skipped, since
// Prometheus would reject the whole scrape otherwise. A name that is not
// valid UTF-8 is exported with U+FFFD in place of the invalid bytes.
//
// A Collector is safe for concurrent use; Prometheus may collect it from
// several scrapes at once. Make one with NewCollector; its zero value is not
// usable. Register one Collector per registry: a second would export the
// same names, and the registry refuses it.
type Collector struct {
	mu      sync.RWMutex
	sources []circuit.Source // appended to by Add under mu; read under mu

	duration *prometheus.HistogramVec
	// series caches duration's observer for each name and outcome, so that
	// the call path finds it with one map read and no lock. The map is
	// never changed once published: addSeries, under seriesMu, publishes a
	// copy with the new key.
	series   atomic.Pointer[map[seriesKey]prometheus.Observer]
	seriesMu sync.Mutex
}

// NewCollector returns a Collector of the breakers that sources hold.
// Sources may be added later with Add. A nil source panics.
func NewCollector(sources ...circuit.Source) *Collector {
	c := &Collector{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "circuit_breaker_call_duration_seconds",
			Help: "How long calls through the circuit breaker ran, by how they counted " +
				"(rejected calls, which did not run, are not observed).",
			Buckets: prometheus.DefBuckets,
		}, []string{"name", "outcome"}),
	}
	c.series.Store(&map[seriesKey]prometheus.Observer{})
	c.Add(sources...)
	return c
}

// Add adds sources to the Collector: their breakers are exported from the
// next collection on. A nil source panics.
func (c *Collector) Add(sources ...circuit.Source) {
	for _, s := range sources {
		if s == nil {
			panic("circuitprom: nil circuit.Source")
		}
	}
	c.mu.Lock()
	c.sources = append(c.sources, sources...)
	c.mu.Unlock()
}

// The descriptions of the figures read from snapshots.
var (
	stateDesc = prometheus.NewDesc("circuit_breaker_state",
		"The circuit breaker's state: 1 for the current state, 0 for the others.",
		[]string{"name", "state"}, nil)
	callsDesc = prometheus.NewDesc("circuit_breaker_calls_total",
		"Calls through the circuit breaker since it was made, by how they counted.",
		[]string{"name", "outcome"}, nil)
	slowDesc = prometheus.NewDesc("circuit_breaker_slow_calls_total",
		"Calls through the circuit breaker since it was made that took at least the slow-call threshold.",
		[]string{"name"}, nil)
	rejectedDesc = prometheus.NewDesc("circuit_breaker_rejected_calls_total",
		"Calls the circuit breaker rejected since it was made: open, forced open, half-open full, bulkhead full.",
		[]string{"name"}, nil)
	tripsDesc = prometheus.NewDesc("circuit_breaker_trips_total",
		"Transitions of the circuit breaker into the open state since it was made.",
		[]string{"name"}, nil)
	failureRateDesc = prometheus.NewDesc("circuit_breaker_failure_rate",
		"Failures over counted calls in the circuit breaker's window, 0 to 1; "+
			"-1 while the window holds fewer calls than the rule's minimum.",
		[]string{"name"}, nil)
	slowRateDesc = prometheus.NewDesc("circuit_breaker_slow_call_rate",
		"Slow calls over counted calls in the circuit breaker's window, 0 to 1; "+
			"-1 while the window holds fewer calls than the rule's minimum.",
		[]string{"name"}, nil)
	windowDesc = prometheus.NewDesc("circuit_breaker_window_calls",
		"Counted calls (successes and failures) in the circuit breaker's window.",
		[]string{"name"}, nil)
	inFlightDesc = prometheus.NewDesc("circuit_breaker_in_flight_calls",
		"Calls in flight through the circuit breaker (kept with a bulkhead or hung-call tracking, else 0).",
		[]string{"name"}, nil)
	hungDesc = prometheus.NewDesc("circuit_breaker_hung_calls",
		"Calls in flight through the circuit breaker for longer than the hung-call limit.",
		[]string{"name"}, nil)

	snapshotDescs = []*prometheus.Desc{stateDesc, callsDesc, slowDesc, rejectedDesc, tripsDesc,
		failureRateDesc, slowRateDesc, windowDesc, inFlightDesc, hungDesc}
)

// outcomeLabels are the values of circuit_breaker_calls_total's label
// outcome, in the order collectBreaker sends them.
var outcomeLabels = [...]string{"success", "failure", "excluded"}

// stateLabels are the values of circuit_breaker_state's label state, indexed
// by circuit.State: Prometheus label values by convention use underscores
// where State.String uses hyphens.
var stateLabels = [...]string{
	circuit.Closed:     "closed",
	circuit.HalfOpen:   "half_open",
	circuit.Open:       "open",
	circuit.ForcedOpen: "forced_open",
	circuit.Disabled:   "disabled",
}

// Describe sends the descriptions of every metric the Collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range snapshotDescs {
		ch <- d
	}
	c.duration.Describe(ch)
}

// Collect reads a Metrics snapshot of each breaker of the Collector's
// sources and sends its figures, then the call-duration histogram.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	sources := c.sources // Add only appends: the first len(sources) never change
	c.mu.RUnlock()
	seen := make(map[string]struct{})
	for _, s := range sources {
		s.Breakers(func(name string, m circuit.Metrics) bool {
			name = strings.ToValidUTF8(name, "\uFFFD")
			if _, dup := seen[name]; !dup {
				seen[name] = struct{}{}
				collectBreaker(ch, name, m)
			}
			return true
		})
	}
	c.duration.Collect(ch)
}

// collectBreaker sends the figures of one breaker's snapshot m.
func collectBreaker(ch chan<- prometheus.Metric, name string, m circuit.Metrics) {
	bs := newBreakerSamples(name)
	for st := range stateLabels {
		bs.add(ch, stateDesc, gaugeValue, oneIf(m.State == circuit.State(st)), bs.withState(st))
	}
	bs.add(ch, callsDesc, counterValue, float64(m.Totals.Successes), bs.withOutcome(0))
	bs.add(ch, callsDesc, counterValue, float64(m.Totals.Failures), bs.withOutcome(1))
	bs.add(ch, callsDesc, counterValue, float64(m.Totals.Excluded), bs.withOutcome(2))
	bs.add(ch, slowDesc, counterValue, float64(m.Totals.SlowCalls), bs.name[:])
	bs.add(ch, rejectedDesc, counterValue, float64(m.Rejected), bs.name[:])
	bs.add(ch, tripsDesc, counterValue, float64(m.Trips), bs.name[:])
	bs.add(ch, failureRateDesc, gaugeValue, windowRate(m.FailureRate, m), bs.name[:])
	bs.add(ch, slowRateDesc, gaugeValue, windowRate(m.SlowCallRate, m), bs.name[:])
	bs.add(ch, windowDesc, gaugeValue, float64(m.Calls), bs.name[:])
	bs.add(ch, inFlightDesc, gaugeValue, float64(m.InFlight), bs.name[:])
	bs.add(ch, hungDesc, gaugeValue, float64(m.Hung), bs.name[:])
}

// windowRate returns rate, one of m's rates over the window, as the
// exporters show it: -1 while the window holds fewer calls than m.MinCalls,
// or none, because the trip rules ignore the rates then and a reader should
// not mistake 1 failure in 1 call for a 100% failure rate.
func windowRate(rate float64, m circuit.Metrics) float64 {
	if m.Calls == 0 || m.Calls < m.MinCalls {
		return -1
	}
	return rate
}

func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
