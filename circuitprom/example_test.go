package circuitprom_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitprom"
)

// printFamily prints the series of one metric family of reg, as a scrape
// would show them.
func printFamily(reg prometheus.Gatherer, name string) {
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			_, _ = expfmt.MetricFamilyToText(os.Stdout, mf)
		}
	}
}

func Example() {
	payments := circuit.MustNew[string](circuit.WithName("payments"))

	reg := prometheus.NewRegistry()
	reg.MustRegister(circuitprom.NewCollector(payments))
	// In a service: http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	payments.ForceOpen()
	printFamily(reg, "circuit_breaker_state")
	// Output:
	// # HELP circuit_breaker_state The circuit breaker's state: 1 for the current state, 0 for the others.
	// # TYPE circuit_breaker_state gauge
	// circuit_breaker_state{name="payments",state="closed"} 0
	// circuit_breaker_state{name="payments",state="disabled"} 0
	// circuit_breaker_state{name="payments",state="forced_open"} 1
	// circuit_breaker_state{name="payments",state="half_open"} 0
	// circuit_breaker_state{name="payments",state="open"} 0
}

// A Group is one Source for all its breakers, those made after the
// Collector too.
func ExampleNewCollector_group() {
	hosts, err := circuit.NewGroup[string, string](circuit.WithConsecutiveFailures(2))
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(circuitprom.NewCollector(hosts))

	down := errors.New("connection refused")
	for range 2 {
		_, _ = hosts.Execute(context.Background(), "eu.example.com", func(context.Context) (string, error) {
			return "", down
		})
	}
	_, _ = hosts.Execute(context.Background(), "us.example.com", func(context.Context) (string, error) {
		return "ok", nil
	})
	printFamily(reg, "circuit_breaker_trips_total")
	// Output:
	// # HELP circuit_breaker_trips_total Transitions of the circuit breaker into the open state since it was made.
	// # TYPE circuit_breaker_trips_total counter
	// circuit_breaker_trips_total{name="eu.example.com"} 1
	// circuit_breaker_trips_total{name="us.example.com"} 0
}

// The call-duration histogram is fed on the call path, by the observer
// given to each breaker with circuit.WithObserver.
func ExampleCollector_Observer() {
	col := circuitprom.NewCollector()
	search := circuit.MustNew[string](circuit.WithName("search"), circuit.WithObserver(col.Observer()))
	col.Add(search)
	reg := prometheus.NewRegistry()
	reg.MustRegister(col)

	for range 3 {
		_, _ = search.Execute(context.Background(), func(context.Context) (string, error) { return "hits", nil })
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "circuit_breaker_call_duration_seconds" {
			for _, m := range mf.GetMetric() {
				fmt.Println(m.GetLabel()[0].GetValue(), m.GetLabel()[1].GetValue(), m.GetHistogram().GetSampleCount(), "calls")
			}
		}
	}
	// Output:
	// search success 3 calls
}
