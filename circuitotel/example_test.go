package circuitotel_test

import (
	"context"
	"errors"
	"fmt"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitotel"
)

func ExampleRegister() {
	payments := circuit.MustNew[string](circuit.WithName("payments"))

	// In a service the provider's reader is a PeriodicReader with an OTLP
	// exporter, or the Prometheus exporter; a ManualReader shows the data.
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())

	reg, err := circuitotel.Register(provider.Meter("shop"), payments)
	if err != nil {
		panic(err)
	}
	defer reg.Unregister()

	payments.ForceOpen()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name != "circuit.breaker.state" {
			continue
		}
		for _, dp := range m.Data.(metricdata.Gauge[int64]).DataPoints {
			if dp.Value == 1 {
				name, _ := dp.Attributes.Value("circuit.name")
				state, _ := dp.Attributes.Value("circuit.state")
				fmt.Println(name.AsString(), state.AsString())
			}
		}
	}
	// Output:
	// payments forced_open
}

func ExampleSpanEvents() {
	// In a service the provider exports spans; a SpanRecorder keeps them.
	rec := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer provider.Shutdown(context.Background())
	tracer := provider.Tracer("shop")

	payments := circuit.MustNew[string](circuit.WithName("payments"),
		circuit.WithConsecutiveFailures(1),
		circuit.WithObserver(circuitotel.SpanEvents()))

	ctx, span := tracer.Start(context.Background(), "checkout")
	for range 2 {
		_, _ = payments.Execute(ctx, func(context.Context) (string, error) {
			return "", errors.New("connection refused")
		})
	}
	span.End()

	for _, e := range rec.Ended()[0].Events() {
		fmt.Print(e.Name)
		for _, kv := range e.Attributes {
			if kv.Key == "circuit.to" || kv.Key == "circuit.reason" {
				fmt.Printf(" %s=%q", kv.Key, kv.Value.AsString())
			}
		}
		fmt.Println()
	}
	// Output:
	// circuit.failure
	// circuit.transition circuit.to="open" circuit.reason="1 consecutive failure"
	// circuit.rejected
}
