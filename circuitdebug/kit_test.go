package circuitdebug_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
)

// doc is the JSON schema of the package doc, written out again so that a
// renamed field fails the tests.
type doc struct {
	Time     time.Time      `json:"time"`
	Total    int            `json:"total"`
	States   map[string]int `json:"states"`
	Query    string         `json:"query"`
	Matched  int            `json:"matched"`
	Offset   int            `json:"offset"`
	Limit    int            `json:"limit"`
	Breakers []struct {
		Name                string  `json:"name"`
		State               string  `json:"state"`
		Calls               int     `json:"calls"`
		Successes           int     `json:"successes"`
		Failures            int     `json:"failures"`
		SlowCalls           int     `json:"slow_calls"`
		Excluded            int     `json:"excluded"`
		FailureRate         float64 `json:"failure_rate"`
		SlowCallRate        float64 `json:"slow_call_rate"`
		MinCalls            int     `json:"min_calls"`
		ConsecutiveFailures int     `json:"consecutive_failures"`
		InFlight            int     `json:"in_flight"`
		Hung                int     `json:"hung"`
		Rejected            uint64  `json:"rejected"`
		Trips               uint64  `json:"trips"`
		StoreErrors         uint64  `json:"store_errors"`
		Totals              struct {
			Successes uint64 `json:"successes"`
			Failures  uint64 `json:"failures"`
			SlowCalls uint64 `json:"slow_calls"`
			Excluded  uint64 `json:"excluded"`
		} `json:"totals"`
		Transitions []struct {
			From   string    `json:"from"`
			To     string    `json:"to"`
			At     time.Time `json:"at"`
			Reason string    `json:"reason"`
		} `json:"transitions"`
	} `json:"breakers"`
}

func (d doc) names() []string {
	out := make([]string, len(d.Breakers))
	for i, b := range d.Breakers {
		out[i] = b.Name
	}
	return out
}

var errDown = errors.New("down")

// newGroup returns a group whose members trip after two failures in a row,
// with a member for each key.
func newGroup(t *testing.T, keys ...string) *circuit.Group[string, int] {
	t.Helper()
	g, err := circuit.NewGroup[string, int](circuit.WithConsecutiveFailures(2),
		circuit.WithFailureRate(0.5, 10), circuit.WithOpenTimeout(time.Hour))
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })
	for _, k := range keys {
		g.Get(k)
	}
	return g
}

// fail runs n failing calls through b.
func fail(b *circuit.Breaker[int], n int) {
	for range n {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errDown })
	}
}

// succeed runs n successful calls through b.
func succeed(b *circuit.Breaker[int], n int) {
	for range n {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 1, nil })
	}
}

// serve starts a server on 127.0.0.1 for h, closed when the test ends.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	return start(t, &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second})
}

// start starts srv on 127.0.0.1, closed when the test ends.
func start(t *testing.T, srv *http.Server) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ts := &httptest.Server{Listener: l, Config: srv}
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// get fetches url and returns the response, its body read and closed.
func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	return do(t, http.MethodGet, url)
}

func do(t *testing.T, method, url string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// getJSON fetches the JSON of the page at srv with query.
func getJSON(t *testing.T, srv *httptest.Server, query string) doc {
	t.Helper()
	resp, body := get(t, srv.URL+"/?format=json"+query)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	var d doc
	require.NoError(t, json.Unmarshal(body, &d), string(body))
	return d
}

// source is a Source that is not a breaker: no History, figures as given.
type source map[string]circuit.Metrics

func (s source) Breakers(fn func(string, circuit.Metrics) bool) {
	for name, m := range s {
		if !fn(name, m) {
			return
		}
	}
}

// history is a source that keeps the transitions given.
type history struct {
	source
	recent map[string][]circuit.Transition
}

func (h history) Transitions(fn func(string, []circuit.Transition) bool) {
	for name := range h.source {
		if !fn(name, h.recent[name]) {
			return
		}
	}
}

// has checks that body contains want, and shows only want when it does not:
// a page is too long to read in a failure.
func has(t *testing.T, body, want string, msgAndArgs ...any) bool {
	t.Helper()
	if strings.Contains(body, want) {
		return true
	}
	return assert.Fail(t, "the page lacks "+strconv.Quote(want), msgAndArgs...)
}

// hasNot checks that body does not contain unwanted.
func hasNot(t *testing.T, body, unwanted string, msgAndArgs ...any) bool {
	t.Helper()
	if !strings.Contains(body, unwanted) {
		return true
	}
	return assert.Fail(t, "the page has "+strconv.Quote(unwanted), msgAndArgs...)
}
