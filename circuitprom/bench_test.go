package circuitprom_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitprom"
)

// BenchmarkCollect is one collection of 1000 breakers: what a scrape costs
// the service before encoding (for information; no target).
func BenchmarkCollect(b *testing.B) {
	g, err := circuit.NewGroup[int, int]()
	if err != nil {
		b.Fatal(err)
	}
	const breakers = 1000
	for k := range breakers {
		_, _ = g.Execute(context.Background(), k, func(context.Context) (int, error) { return 0, nil })
	}
	c := circuitprom.NewCollector(g)
	ch := make(chan prometheus.Metric, breakers*16+1)
	b.ReportAllocs()
	for b.Loop() {
		c.Collect(ch)
		for len(ch) > 0 {
			<-ch
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/breakers, "ns/breaker")
}

// BenchmarkGather is a whole scrape's gathering of 1000 breakers through a
// registry, which also sorts and checks the series.
func BenchmarkGather(b *testing.B) {
	g, err := circuit.NewGroup[string, int]()
	if err != nil {
		b.Fatal(err)
	}
	for k := range 1000 {
		g.Get(fmt.Sprint("host-", k))
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(circuitprom.NewCollector(g))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkObserverParallel is the observer's cost on the call path, from
// every core at once on one breaker's series.
func BenchmarkObserverParallel(b *testing.B) {
	obs := circuitprom.NewCollector().Observer()
	o := circuit.Observation{Name: "payments", Outcome: circuit.OutcomeSuccess, Duration: 3 * time.Millisecond}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			obs(ctx, o)
		}
	})
}

// BenchmarkExecute compares a closed breaker's call path without an
// observer and with circuitprom's.
func BenchmarkExecute(b *testing.B) {
	fn := func(context.Context) (int, error) { return 1, nil }
	run := func(b *testing.B, opts ...circuit.Option) {
		cb := circuit.MustNew[int](opts...)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_, _ = cb.Execute(ctx, fn)
		}
	}
	b.Run("plain", func(b *testing.B) { run(b) })
	b.Run("observed", func(b *testing.B) {
		run(b, circuit.WithName("payments"), circuit.WithObserver(circuitprom.NewCollector().Observer()))
	})
}
