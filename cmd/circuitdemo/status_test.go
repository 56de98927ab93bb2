package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// urlWriter passes the demo's output on and sends the status page's address
// once it is printed.
type urlWriter struct {
	mu   sync.Mutex
	sent bool
	base chan string
}

var statusLine = regexp.MustCompile(`status page: (http://[0-9.:]+)/`)

func (w *urlWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if m := statusLine.FindSubmatch(p); m != nil && !w.sent {
		w.sent = true
		w.base <- string(m[1])
	}
	return len(p), nil
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	return string(body)
}

// With -http the demo serves the status page and /metrics while it runs,
// and stops serving when it ends.
func TestHTTPServesTheStatusPageAndMetrics(t *testing.T) {
	cfg := shortConfig()
	cfg.Healthy = 500 * time.Millisecond // time to ask while it runs
	cfg.HTTP = "127.0.0.1:0"
	w := &urlWriter{base: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		_, err := run(context.Background(), cfg, w)
		done <- err
	}()
	base := <-w.base
	page := get(t, base+"/?format=json")
	assert.Contains(t, page, `"breakers"`)
	// The page comes up before the first call: a breaker shows in /metrics
	// once its host has been called, and the duration histogram once a call
	// has ended.
	var (
		mu      sync.Mutex
		metrics string
	)
	assert.Eventually(t, func() bool { // on a goroutine of its own: no require here
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		mu.Lock()
		defer mu.Unlock()
		metrics = string(body)
		return err == nil && strings.Contains(metrics, "circuit_breaker_call_duration_seconds_bucket")
	}, 5*time.Second, 10*time.Millisecond, "a call's duration in /metrics")
	mu.Lock()
	assert.Contains(t, metrics, `circuit_breaker_state{name="127.0.0.1:`)
	mu.Unlock()
	require.NoError(t, <-done)
	_, err := http.Get(base + "/")
	assert.Error(t, err, "the server stops with the demo")
}

func TestHTTPOnAnAddressInUseFails(t *testing.T) {
	cfg := shortConfig()
	cfg.HTTP = "256.0.0.1:1"
	_, err := run(context.Background(), cfg, io.Discard)
	assert.Error(t, err)
}
