package circuitprom_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
)

var (
	errDown     = errors.New("dependency down")
	errExcluded = errors.New("not the dependency's fault")
)

// epoch is where every fake clock starts.
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

// call runs one call through b that takes d by clk and returns err.
func call(b *circuit.Breaker[int], clk *circuittest.Clock, d time.Duration, err error) error {
	_, got := b.Execute(context.Background(), func(context.Context) (int, error) {
		clk.Advance(d)
		return 0, err
	})
	return got
}

// calls runs n calls through b that take no time and return err.
func calls(b *circuit.Breaker[int], clk *circuittest.Clock, n int, err error) {
	for range n {
		_ = call(b, clk, 0, err)
	}
}

// families gathers c through a pedantic registry, which also checks that
// what c collects matches what it describes, and returns the families by
// name.
func families(t *testing.T, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	byName := make(map[string]*dto.MetricFamily, len(mfs))
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	return byName
}

// series returns the metric of family name in mfs whose labels are exactly
// labels (name, value pairs), or nil.
func series(mfs map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	mf := mfs[name]
	if mf == nil {
		return nil
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		if len(got) == len(want) && equal(got, want) {
			return m
		}
	}
	return nil
}

func equal(a, b map[string]string) bool {
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// value returns the value of a gauge or counter series, failing the test
// when there is none.
func value(t *testing.T, mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	m := series(mfs, name, labels...)
	require.NotNil(t, m, "no series %s%v", name, labels)
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	}
	t.Fatalf("series %s%v is neither gauge nor counter", name, labels)
	return 0
}

// binary returns the path of an external program the tests run. Missing,
// it skips the test, except under CI=true, where it fails it: CI must run
// every test.
func binary(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (CI=true): apt-get install -y prometheus", name)
	}
	t.Skipf("%s is not installed (apt-get install -y prometheus); CI=true makes this a failure", name)
	return ""
}
