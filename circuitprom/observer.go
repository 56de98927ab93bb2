package circuitprom

import (
	"context"
	"maps"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed33933975/circuit"
)

// seriesKey names one series of the call-duration histogram.
type seriesKey struct {
	name    string
	outcome circuit.Outcome
}

// Observer returns an observer for circuit.WithObserver that records how
// long each call ran in the histogram circuit_breaker_call_duration_seconds,
// labelled with the breaker's name and the call's outcome (success, failure,
// excluded, or ignored for a call its caller canceled). Rejected calls are
// not recorded: they did not run, and circuit_breaker_rejected_calls_total
// counts them. The buckets are prometheus.DefBuckets, 5ms to 10s.
//
// The histogram is exported by the Collector itself, so the breakers given
// the observer need not be among its sources; but a breaker's name must mean
// the same breaker in both. Each name and outcome met keeps its series until
// the program ends.
//
// The observer runs on the call path: it costs one map read and one
// histogram observation per call, takes no lock once a name and outcome
// have been seen, and allocates nothing.
func (c *Collector) Observer() func(context.Context, circuit.Observation) {
	return c.observe
}

func (c *Collector) observe(_ context.Context, o circuit.Observation) {
	if o.Outcome == circuit.OutcomeRejected {
		return
	}
	h, ok := (*c.series.Load())[seriesKey{o.Name, o.Outcome}]
	if !ok {
		h = c.addSeries(seriesKey{o.Name, o.Outcome})
	}
	h.Observe(o.Duration.Seconds())
}

// addSeries returns the histogram's series for k, made on its first call
// and published in a copy of the cache.
func (c *Collector) addSeries(k seriesKey) prometheus.Observer {
	c.seriesMu.Lock()
	defer c.seriesMu.Unlock()
	old := *c.series.Load()
	if h, ok := old[k]; ok {
		return h // added while this call waited for the lock
	}
	h := c.duration.WithLabelValues(strings.ToValidUTF8(k.name, "\uFFFD"), k.outcome.String())
	next := maps.Clone(old)
	next[k] = h
	c.series.Store(&next)
	return h
}
