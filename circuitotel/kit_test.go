package circuitotel_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
)

var (
	errDown     = errors.New("dependency down")
	errExcluded = errors.New("not the dependency's fault")
)

var epoch = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// newBreaker returns a breaker on a fake clock, named name, with opts.
func newBreaker(t testing.TB, name string, opts ...circuit.Option) (*circuit.Breaker[int], *circuittest.Clock) {
	t.Helper()
	clk := circuittest.NewClock(epoch)
	b, err := circuit.New[int](append([]circuit.Option{circuit.WithName(name), circuit.WithClock(clk),
		circuit.WithExclude(func(err error) bool { return errors.Is(err, errExcluded) })}, opts...)...)
	require.NoError(t, err)
	return b, clk
}

// call runs one call through b with ctx that takes d by clk and returns err.
func call(ctx context.Context, b *circuit.Breaker[int], clk *circuittest.Clock, d time.Duration, err error) error {
	_, got := b.Execute(ctx, func(context.Context) (int, error) {
		clk.Advance(d)
		return 0, err
	})
	return got
}

// calls runs n calls through b that take no time and return err.
func calls(b *circuit.Breaker[int], clk *circuittest.Clock, n int, err error) {
	for range n {
		_ = call(context.Background(), b, clk, 0, err)
	}
}

// newMeter returns a meter whose instruments a manual reader collects.
func newMeter(t testing.TB) (metric.Meter, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	return provider.Meter("circuitotel_test"), reader
}

// collect collects reader and returns its metrics by name.
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	byName := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			byName[m.Name] = m
		}
	}
	return byName
}

// point returns the value of the data point of metric m with exactly the
// attributes attrs, and whether there is one.
func point(m metricdata.Metrics, attrs ...attribute.KeyValue) (float64, bool) {
	want := attribute.NewSet(attrs...)
	switch d := m.Data.(type) {
	case metricdata.Gauge[int64]:
		return find(d.DataPoints, want)
	case metricdata.Gauge[float64]:
		return find(d.DataPoints, want)
	case metricdata.Sum[int64]:
		return find(d.DataPoints, want)
	case metricdata.Sum[float64]:
		return find(d.DataPoints, want)
	}
	return 0, false
}

func find[N int64 | float64](dps []metricdata.DataPoint[N], want attribute.Set) (float64, bool) {
	for _, dp := range dps {
		if dp.Attributes.Equals(&want) {
			return float64(dp.Value), true
		}
	}
	return 0, false
}
