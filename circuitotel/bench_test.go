package circuitotel_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitotel"
)

// BenchmarkCollect is one collection of 1000 breakers by the SDK's manual
// reader: what a collection costs the service before export (for
// information; no target).
func BenchmarkCollect(b *testing.B) {
	g, err := circuit.NewGroup[int, int]()
	if err != nil {
		b.Fatal(err)
	}
	const breakers = 1000
	for k := range breakers {
		_, _ = g.Execute(context.Background(), k, func(context.Context) (int, error) { return 0, nil })
	}
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())
	if _, err := circuitotel.Register(provider.Meter("bench"), g); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var rm metricdata.ResourceMetrics
	b.ReportAllocs()
	for b.Loop() {
		if err := reader.Collect(ctx, &rm); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/breakers, "ns/breaker")
}

// BenchmarkSpanEvents is the observer's cost on a closed breaker's call
// path, when the call's context holds no recording span (the common case of
// an unsampled trace) and with none at all, against no observer.
func BenchmarkSpanEvents(b *testing.B) {
	fn := func(context.Context) (int, error) { return 1, nil }
	run := func(b *testing.B, ctx context.Context, opts ...circuit.Option) {
		cb := circuit.MustNew[int](opts...)
		b.ReportAllocs()
		for b.Loop() {
			_, _ = cb.Execute(ctx, fn)
		}
	}
	unsampled, span := noop.NewTracerProvider().Tracer("bench").Start(context.Background(), "call")
	defer span.End()
	b.Run("plain", func(b *testing.B) { run(b, context.Background()) })
	b.Run("observed", func(b *testing.B) {
		run(b, context.Background(), circuit.WithObserver(circuitotel.SpanEvents()))
	})
	b.Run("observed-unsampled", func(b *testing.B) {
		run(b, unsampled, circuit.WithObserver(circuitotel.SpanEvents()))
	})
}
