package circuitprom

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// A collection of many breakers sends 16 samples each. Made with
// prometheus.MustNewConstMetric every sample would build and validate its
// own label pairs, some ten allocations; here the pairs are made once per
// breaker, the state and outcome pairs once for all, and a breaker's
// samples share one allocation (BenchmarkCollect).

// The label pairs of every state and outcome, shared by all samples:
// nothing writes to a collected metric's label pairs.
var (
	statePairs   = labelPairs("state", stateLabels[:])
	outcomePairs = labelPairs("outcome", outcomeLabels[:])
	nameLabel    = "name"
)

func labelPairs(name string, values []string) []*dto.LabelPair {
	pairs := make([]*dto.LabelPair, len(values))
	for i := range values {
		pairs[i] = &dto.LabelPair{Name: &name, Value: &values[i]}
	}
	return pairs
}

type valueType uint8

const (
	gaugeValue valueType = iota
	counterValue
)

// sample is one series' value: a prometheus.Metric.
type sample struct {
	desc *prometheus.Desc
	// labels are sorted by name, as Write must give them, and have no spare
	// capacity: a wrapper that appends its own labels (prometheus.WrapRegistererWith)
	// then copies them rather than writing into another sample's.
	labels []*dto.LabelPair
	kind   valueType
	value  float64
}

// Desc returns the sample's description.
func (s *sample) Desc() *prometheus.Desc { return s.desc }

// Write writes the sample's labels and value to out.
func (s *sample) Write(out *dto.Metric) error {
	out.Label = s.labels
	v := s.value
	if s.kind == counterValue {
		out.Counter = &dto.Counter{Value: &v}
	} else {
		out.Gauge = &dto.Gauge{Value: &v}
	}
	return nil
}

// breakerSamples holds a breaker's samples and their label pairs, in one
// allocation.
type breakerSamples struct {
	nameValue string
	namePair  dto.LabelPair
	name      [1]*dto.LabelPair
	pairs     [len(stateLabels) + len(outcomeLabels)][2]*dto.LabelPair
	samples   [len(stateLabels) + len(outcomeLabels) + 8]sample
	n         int // samples used
}

func newBreakerSamples(name string) *breakerSamples {
	bs := &breakerSamples{nameValue: name}
	bs.namePair = dto.LabelPair{Name: &nameLabel, Value: &bs.nameValue}
	bs.name[0] = &bs.namePair
	for i := range stateLabels {
		bs.pairs[i] = [2]*dto.LabelPair{&bs.namePair, statePairs[i]} // "name" < "state"
	}
	for i := range outcomeLabels {
		bs.pairs[len(stateLabels)+i] = [2]*dto.LabelPair{&bs.namePair, outcomePairs[i]} // "name" < "outcome"
	}
	return bs
}

// withState returns the labels name and state st.
func (bs *breakerSamples) withState(st int) []*dto.LabelPair { return bs.pairs[st][:] }

// withOutcome returns the labels name and the outcome outcomeLabels[o].
func (bs *breakerSamples) withOutcome(o int) []*dto.LabelPair { return bs.pairs[len(stateLabels)+o][:] }

// add sends the next sample, of desc with labels and value v.
func (bs *breakerSamples) add(ch chan<- prometheus.Metric, desc *prometheus.Desc, kind valueType, v float64, labels []*dto.LabelPair) {
	s := &bs.samples[bs.n]
	bs.n++
	*s = sample{desc: desc, labels: labels, kind: kind, value: v}
	ch <- s
}
