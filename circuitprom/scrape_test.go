package circuitprom_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitprom"
)

// serve exposes reg over HTTP on 127.0.0.1, as a service's /metrics does,
// and returns the URL of its /metrics.
func serve(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

// get fetches url with a client of its own, closed at the end of the test.
func get(t *testing.T, url string, header ...string) *http.Response {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// A scrape over HTTP, in the text format Prometheus reads, holds every
// breaker's figures and the histogram of its observed calls.
func TestScrapeOverHTTP(t *testing.T) {
	c := circuitprom.NewCollector()
	b, clk := newBreaker(t, "payments", circuit.WithObserver(c.Observer()), circuit.WithConsecutiveFailures(2))
	c.Add(b)
	calls(b, clk, 3, nil)
	calls(b, clk, 2, errDown) // trips
	require.ErrorIs(t, call(b, clk, 0, nil), circuit.ErrOpen)

	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	resp := get(t, serve(t, reg), "Accept", "text/plain")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"), resp.Header.Get("Content-Type"))

	parser := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	for _, name := range snapshotNames {
		assert.Contains(t, mfs, name)
	}
	assert.Equal(t, 1.0, value(t, mfs, "circuit_breaker_state", "name", "payments", "state", "open"))
	assert.Equal(t, 0.0, value(t, mfs, "circuit_breaker_state", "name", "payments", "state", "closed"))
	assert.Equal(t, 1.0, value(t, mfs, "circuit_breaker_trips_total", "name", "payments"))
	assert.Equal(t, 1.0, value(t, mfs, "circuit_breaker_rejected_calls_total", "name", "payments"))
	h := series(mfs, "circuit_breaker_call_duration_seconds", "name", "payments", "outcome", "success")
	require.NotNil(t, h)
	assert.Equal(t, uint64(3), h.GetHistogram().GetSampleCount())
	assert.Equal(t, 3.0, value(t, mfs, "circuit_breaker_calls_total", "name", "payments", "outcome", "success"))
	assert.Equal(t, 2.0, value(t, mfs, "circuit_breaker_calls_total", "name", "payments", "outcome", "failure"))
}

// Concurrent scrapes over HTTP of a Collector whose breakers are in use and
// growing in number (under -race).
func TestConcurrentScrapes(t *testing.T) {
	g, err := circuit.NewGroup[int, int]()
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	reg.MustRegister(circuitprom.NewCollector(g))
	url := serve(t, reg)
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	t.Cleanup(client.CloseIdleConnections)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ctx.Err() == nil; i++ {
			_, _ = g.Execute(ctx, i%100, func(context.Context) (int, error) { return 0, nil })
		}
	}()
	const scrapers = 3
	errs := make(chan error, scrapers)
	for range scrapers {
		go func() { errs <- scrape(client, url, 5) }()
	}
	for range scrapers {
		assert.NoError(t, <-errs)
	}
	cancel()
	<-done
}

// scrape fetches url n times and reports the first failure.
func scrape(client *http.Client, url string, n int) error {
	for range n {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		parser := expfmt.NewTextParser(model.LegacyValidation)
		_, err = parser.TextToMetricFamilies(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
	}
	return nil
}
