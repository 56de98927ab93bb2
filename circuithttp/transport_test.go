package circuithttp_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuithttp"
	"github.com/seed33933975/circuit/circuittest"
)

// server is an httptest server on 127.0.0.1 that answers GET /?status=N
// (default 200) with that status and the body "body N". /?retry=V adds a
// Retry-After: V header. It counts the requests that reach it.
type server struct {
	*httptest.Server
	hits atomic.Int64
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := new(server)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		code := http.StatusOK
		if v := r.URL.Query().Get("status"); v != "" {
			code, _ = strconv.Atoi(v)
		}
		if v := r.URL.Query().Get("retry"); v != "" {
			w.Header().Set("Retry-After", v)
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "body %d", code)
	}))
	t.Cleanup(s.Close)
	return s
}

// host is the key of the server's breaker: its URL's Host.
func (s *server) host() string { return s.Listener.Addr().String() }

// url is the server's URL for a response with status code, and extra query.
func (s *server) url(code int, query ...string) string {
	return s.URL + "/?status=" + strconv.Itoa(code) + strings.Join(query, "")
}

// newTransport returns a Transport over a base of its own, whose idle
// connections are closed when the test ends so that goleak finds no
// connection goroutines.
func newTransport(t *testing.T, opts ...circuithttp.Option) *circuithttp.Transport {
	t.Helper()
	tr, err := circuithttp.New(&http.Transport{}, opts...)
	require.NoError(t, err)
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// breakerOpts are the test breakers' options: a fake clock, the failure-rate
// rule off, and the given ones.
func breakerOpts(clk *circuittest.Clock, opts ...circuit.Option) circuithttp.Option {
	base := []circuit.Option{circuit.WithClock(clk), circuit.WithFailureRate(0, 0)}
	return circuithttp.WithBreakerOptions(append(base, opts...)...)
}

func newClock() *circuittest.Clock {
	return circuittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

// metrics returns the figures of tr's breaker for key, which must have been
// made.
func metrics(t *testing.T, tr *circuithttp.Transport, key string) circuit.Metrics {
	t.Helper()
	m, ok := tr.Metrics(key)
	require.True(t, ok, "no breaker for %q", key)
	return m
}

// get sends a GET for url through tr.
func get(t *testing.T, tr http.RoundTripper, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	require.NoError(t, err)
	return tr.RoundTrip(req)
}

// readBody reads and closes resp's body.
func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	return string(b)
}

func TestClassification(t *testing.T) {
	cases := []struct {
		name    string
		code    int
		failure bool
	}{
		{"200 OK is a success", 200, false},
		{"204 No Content is a success", 204, false},
		{"302 Found is a success", 302, false},
		{"400 Bad Request is a success: the caller's fault", 400, false},
		{"404 Not Found is a success", 404, false},
		{"429 Too Many Requests is a failure", 429, true},
		{"499 is a success", 499, false},
		{"500 Internal Server Error is a failure", 500, true},
		{"502 Bad Gateway is a failure", 502, true},
		{"503 Service Unavailable is a failure", 503, true},
		{"504 Gateway Timeout is a failure", 504, true},
		{"599 is a failure", 599, true},
	}
	srv := newServer(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransport(t, breakerOpts(newClock(), circuit.WithConsecutiveFailures(100)))
			resp, err := get(t, tr, srv.url(tc.code))
			require.NoError(t, err, "the caller gets every response with a nil error")
			require.NotNil(t, resp)
			assert.Equal(t, tc.code, resp.StatusCode)
			if tc.code != http.StatusNoContent {
				assert.Equal(t, fmt.Sprintf("body %d", tc.code), readBody(t, resp), "the body stays readable")
			} else {
				readBody(t, resp)
			}
			m := metrics(t, tr, srv.host())
			if tc.failure {
				assert.Equal(t, 1, m.Failures)
				assert.Equal(t, 0, m.Successes)
			} else {
				assert.Equal(t, 0, m.Failures)
				assert.Equal(t, 1, m.Successes)
			}
		})
	}
}

func TestTransportErrorIsAFailure(t *testing.T) {
	srv := newServer(t)
	url := srv.url(200)
	host := srv.host()
	srv.Close() // nothing listens there now

	tr := newTransport(t, breakerOpts(newClock(), circuit.WithConsecutiveFailures(2)))
	for range 2 {
		resp, err := get(t, tr, url)
		require.Error(t, err)
		assert.Nil(t, resp)
		assert.NotErrorIs(t, err, circuit.ErrOpen, "the dial error itself, not a rejection")
	}
	assert.Equal(t, circuit.Open, metrics(t, tr, host).State, "two transport errors in a row trip it")
}

func TestCanceledRequestIsIgnored(t *testing.T) {
	t.Run("canceled before it is sent", func(t *testing.T) {
		srv := newServer(t)
		tr := newTransport(t, breakerOpts(newClock(), circuit.WithConsecutiveFailures(1)))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.url(200), nil)
		require.NoError(t, err)
		resp, err := tr.RoundTrip(req)
		require.ErrorIs(t, err, context.Canceled)
		assert.Nil(t, resp)
		m := metrics(t, tr, srv.host())
		assert.Equal(t, circuit.Closed, m.State)
		assert.Equal(t, 0, m.Failures)
		assert.Equal(t, 1, m.Excluded)
	})
	t.Run("canceled while the server works on it", func(t *testing.T) {
		arrived, release := make(chan struct{}), make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(arrived)
			<-release
		}))
		defer srv.Close()
		defer close(release)
		tr := newTransport(t, breakerOpts(newClock(), circuit.WithConsecutiveFailures(1)))
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-arrived
			cancel()
		}()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		_, err = tr.RoundTrip(req)
		require.ErrorIs(t, err, context.Canceled)
		m := metrics(t, tr, srv.Listener.Addr().String())
		assert.Equal(t, circuit.Closed, m.State, "the caller gave up: that says nothing of the host")
		assert.Equal(t, 0, m.Failures)
		assert.Equal(t, 1, m.Excluded)
	})
	t.Run("deadline exceeded is a failure", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		defer srv.Close()
		defer close(release)
		tr := newTransport(t, breakerOpts(newClock(), circuit.WithConsecutiveFailures(1)))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		_, err = tr.RoundTrip(req)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, circuit.Open, metrics(t, tr, srv.Listener.Addr().String()).State,
			"a host too slow for the caller's deadline failed")
	})
}

func TestPerHostIsolation(t *testing.T) {
	a, b := newServer(t), newServer(t)
	require.NotEqual(t, a.host(), b.host())
	tr := newTransport(t, breakerOpts(newClock(), circuit.WithConsecutiveFailures(3)))

	for i := range 10 {
		resp, err := get(t, tr, a.url(500))
		if i < 3 {
			require.NoError(t, err)
			readBody(t, resp)
		} else {
			require.ErrorIs(t, err, circuit.ErrOpen)
		}
		resp, err = get(t, tr, b.url(200))
		require.NoError(t, err, "host A failing never rejects a call to host B")
		assert.Equal(t, "body 200", readBody(t, resp))
	}

	assert.Equal(t, circuit.Open, metrics(t, tr, a.host()).State)
	assert.Equal(t, circuit.Closed, metrics(t, tr, b.host()).State)
	assert.EqualValues(t, 3, a.hits.Load(), "only the calls before the trip reached A")
	assert.EqualValues(t, 10, b.hits.Load())
	mb := metrics(t, tr, b.host())
	assert.Equal(t, 10, mb.Successes)
	assert.Zero(t, mb.Failures)
	assert.Zero(t, mb.Rejected)

	states := map[string]circuit.State{}
	tr.Breakers(func(name string, m circuit.Metrics) bool {
		states[name] = m.State
		return true
	})
	assert.Equal(t, map[string]circuit.State{a.host(): circuit.Open, b.host(): circuit.Closed}, states,
		"one breaker per host, named after it")
}

func TestPerHostIsolationConcurrent(t *testing.T) {
	a, b := newServer(t), newServer(t)
	tr := newTransport(t, breakerOpts(newClock(), circuit.WithConsecutiveFailures(5)))
	client := &http.Client{Transport: tr}

	var wg sync.WaitGroup
	var bErrs atomic.Int64
	for range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range 25 {
				if resp, err := client.Get(a.url(503)); err == nil {
					_ = resp.Body.Close()
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range 25 {
				resp, err := client.Get(b.url(200))
				if err != nil {
					bErrs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		}()
	}
	wg.Wait()

	assert.Zero(t, bErrs.Load())
	assert.Equal(t, circuit.Open, metrics(t, tr, a.host()).State)
	assert.Equal(t, circuit.Closed, metrics(t, tr, b.host()).State)
	ma := metrics(t, tr, a.host())
	assert.EqualValues(t, 200, int64(ma.Rejected)+a.hits.Load(), "every call to A was sent or rejected, never both")
	assert.Less(t, a.hits.Load(), int64(200))
}

func TestOpenSendsNothing(t *testing.T) {
	srv := newServer(t)
	clk := newClock()
	tr := newTransport(t, breakerOpts(clk, circuit.WithConsecutiveFailures(2), circuit.WithOpenTimeout(30*time.Second)))

	for range 2 {
		resp, err := get(t, tr, srv.url(500))
		require.NoError(t, err)
		assert.Equal(t, "body 500", readBody(t, resp))
	}
	require.Equal(t, circuit.Open, metrics(t, tr, srv.host()).State)
	require.EqualValues(t, 2, srv.hits.Load())

	clk.Advance(10 * time.Second)
	for range 5 {
		resp, err := get(t, tr, srv.url(200))
		assert.Nil(t, resp, "a rejected call gets no response")
		require.ErrorIs(t, err, circuit.ErrOpen)
		d, ok := circuit.RetryAfter(err)
		require.True(t, ok)
		assert.Equal(t, 20*time.Second, d, "RetryAfter reads the time left in the open period")
	}

	t.Run("through an http.Client", func(t *testing.T) {
		client := &http.Client{Transport: tr}
		resp, err := client.Get(srv.url(200))
		assert.Nil(t, resp)
		require.ErrorIs(t, err, circuit.ErrOpen, "errors.Is sees through *url.Error")
		d, ok := circuit.RetryAfter(err)
		require.True(t, ok)
		assert.Equal(t, 20*time.Second, d)
	})

	assert.EqualValues(t, 2, srv.hits.Load(), "no request reached the server while open")
	assert.EqualValues(t, 6, metrics(t, tr, srv.host()).Rejected)

	clk.Advance(20 * time.Second)
	resp, err := get(t, tr, srv.url(200))
	require.NoError(t, err, "after the open timeout a trial call is sent")
	readBody(t, resp)
	assert.EqualValues(t, 3, srv.hits.Load())
	assert.Equal(t, circuit.Closed, metrics(t, tr, srv.host()).State, "the trial succeeded")
}

func TestHalfOpenFullSendsNothing(t *testing.T) {
	var hits atomic.Int64
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Query().Get("status") == "500" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		arrived <- struct{}{}
		<-release
	}))
	defer srv.Close()
	host := srv.Listener.Addr().String()
	clk := newClock()
	tr := newTransport(t, breakerOpts(clk, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Second)))

	resp, err := get(t, tr, srv.URL+"/?status=500")
	require.NoError(t, err)
	readBody(t, resp)
	require.Equal(t, circuit.Open, metrics(t, tr, host).State)
	clk.Advance(time.Second)

	trial := make(chan error, 1)
	go func() {
		resp, err := get(t, tr, srv.URL)
		if err == nil {
			_ = resp.Body.Close()
		}
		trial <- err
	}()
	<-arrived // the one trial call is in flight

	resp, err = get(t, tr, srv.URL)
	assert.Nil(t, resp)
	require.ErrorIs(t, err, circuit.ErrTooManyRequests)
	_, ok := circuit.RetryAfter(err)
	assert.False(t, ok, "a full half-open round gives no time to wait")
	assert.EqualValues(t, 2, hits.Load(), "the rejected call was not sent")

	close(release)
	require.NoError(t, <-trial)
	assert.Equal(t, circuit.Closed, metrics(t, tr, host).State)
}

func TestRetryAfter(t *testing.T) {
	const openTimeout = 10 * time.Second
	cases := []struct {
		name     string
		code     int
		header   string // Retry-After; "date+120s" is an HTTP date 120s from now
		opts     []circuithttp.Option
		wantOpen time.Duration // the open period the trip sets
		approx   bool          // an HTTP date: within a second below wantOpen
	}{
		{"503 Retry-After in seconds holds it open longer", 503, "120", nil, 120 * time.Second, false},
		{"429 Retry-After in seconds holds it open longer", 429, "45", nil, 45 * time.Second, false},
		{"503 Retry-After as an HTTP date holds it open longer", 503, "date+120s", nil, 120 * time.Second, true},
		{"429 Retry-After as an HTTP date holds it open longer", 429, "date+120s", nil, 120 * time.Second, true},
		{"Retry-After shorter than the open timeout leaves the timeout", 503, "3", nil, openTimeout, false},
		{"Retry-After on a 500 is ignored", 500, "120", nil, openTimeout, false},
		{"malformed Retry-After is ignored", 503, "soon", nil, openTimeout, false},
		{"Retry-After in the past is ignored", 503, "Mon, 01 Jan 2001 00:00:00 GMT", nil, openTimeout, false},
		{"WithMaxRetryAfter caps it", 503, "3600", []circuithttp.Option{circuithttp.WithMaxRetryAfter(time.Minute)}, time.Minute, false},
	}
	srv := newServer(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			header := tc.header
			if header == "date+120s" {
				header = time.Now().Add(120 * time.Second).UTC().Format(http.TimeFormat)
			}
			clk := newClock()
			opts := append([]circuithttp.Option{
				breakerOpts(clk, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(openTimeout)),
			}, tc.opts...)
			tr := newTransport(t, opts...)

			resp, err := get(t, tr, srv.url(tc.code, "&retry=", url.QueryEscape(header)))
			require.NoError(t, err)
			require.Equal(t, tc.code, resp.StatusCode)
			assert.Equal(t, header, resp.Header.Get("Retry-After"), "the caller still sees the header")
			assert.Equal(t, fmt.Sprintf("body %d", tc.code), readBody(t, resp))

			_, err = get(t, tr, srv.url(200))
			require.ErrorIs(t, err, circuit.ErrOpen)
			d, ok := circuit.RetryAfter(err)
			require.True(t, ok)
			if tc.approx {
				assert.InDelta(t, float64(tc.wantOpen), float64(d), float64(2*time.Second))
				return
			}
			assert.Equal(t, tc.wantOpen, d)

			clk.Advance(tc.wantOpen - time.Nanosecond)
			assert.Equal(t, circuit.Open, metrics(t, tr, srv.host()).State, "still open just before the period ends")
			clk.Advance(time.Nanosecond)
			assert.Equal(t, circuit.HalfOpen, metrics(t, tr, srv.host()).State)
		})
	}
}

// trackedBody is a request body that records how it was used.
type trackedBody struct {
	r      io.Reader
	reads  atomic.Int64
	closes atomic.Int64
}

func (b *trackedBody) Read(p []byte) (int, error) {
	b.reads.Add(1)
	return b.r.Read(p)
}

func (b *trackedBody) Close() error {
	b.closes.Add(1)
	return nil
}

func TestRequestBody(t *testing.T) {
	srv := newServer(t)
	clk := newClock()
	tr := newTransport(t, breakerOpts(clk, circuit.WithConsecutiveFailures(1)))

	post := func(code int) (*trackedBody, *http.Response, error) {
		body := &trackedBody{r: strings.NewReader("payload")}
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.url(code), body)
		require.NoError(t, err)
		req.ContentLength = int64(len("payload"))
		resp, err := tr.RoundTrip(req)
		return body, resp, err
	}

	body, resp, err := post(500)
	require.NoError(t, err)
	readBody(t, resp)
	assert.Positive(t, body.reads.Load(), "a sent request's body is sent")
	assert.EqualValues(t, 1, body.closes.Load(), "and closed once, by the base transport")
	require.Equal(t, circuit.Open, metrics(t, tr, srv.host()).State)

	body, resp, err = post(200)
	require.ErrorIs(t, err, circuit.ErrOpen)
	assert.Nil(t, resp)
	assert.Zero(t, body.reads.Load(), "a rejected request's body is not read")
	assert.EqualValues(t, 1, body.closes.Load(), "but it is closed, as the RoundTripper contract requires")
	assert.EqualValues(t, 1, srv.hits.Load())
}

func TestWithFailureStatus(t *testing.T) {
	srv := newServer(t)
	tr := newTransport(t,
		breakerOpts(newClock(), circuit.WithConsecutiveFailures(1)),
		circuithttp.WithFailureStatus(func(code int) bool { return code == http.StatusNotFound }),
	)
	resp, err := get(t, tr, srv.url(503))
	require.NoError(t, err)
	readBody(t, resp)
	m := metrics(t, tr, srv.host())
	assert.Equal(t, circuit.Closed, m.State, "503 is a success by this predicate")
	assert.Equal(t, 1, m.Successes)

	resp, err = get(t, tr, srv.url(404))
	require.NoError(t, err)
	assert.Equal(t, "body 404", readBody(t, resp))
	assert.Equal(t, circuit.Open, metrics(t, tr, srv.host()).State, "404 is a failure by this predicate")
}

func TestWithKey(t *testing.T) {
	srv := newServer(t)
	tr := newTransport(t,
		breakerOpts(newClock(), circuit.WithConsecutiveFailures(1)),
		circuithttp.WithKey(func(r *http.Request) string { return r.Header.Get("X-Tenant") }),
	)
	send := func(tenant string, code int) error {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.url(code), nil)
		require.NoError(t, err)
		req.Header.Set("X-Tenant", tenant)
		resp, err := tr.RoundTrip(req)
		if err == nil {
			readBody(t, resp)
		}
		return err
	}

	require.NoError(t, send("a", 500))
	assert.ErrorIs(t, send("a", 200), circuit.ErrOpen, "tenant a's breaker tripped")
	assert.NoError(t, send("b", 200), "tenant b on the same host has its own breaker")
	assert.Equal(t, circuit.Open, metrics(t, tr, "a").State)
	assert.Equal(t, circuit.Closed, metrics(t, tr, "b").State)
}

func TestWithBreakerOptionsAndName(t *testing.T) {
	srv := newServer(t)
	var (
		mu          sync.Mutex
		transitions []circuit.Transition
	)
	tr := newTransport(t,
		circuithttp.WithBreakerOptions(circuit.WithName("api"), circuit.WithClock(newClock())),
		circuithttp.WithBreakerOptions(circuit.WithConsecutiveFailures(1), circuit.WithOnStateChange(func(tr circuit.Transition) {
			mu.Lock()
			defer mu.Unlock()
			transitions = append(transitions, tr)
		})),
	)
	resp, err := get(t, tr, srv.url(502))
	require.NoError(t, err)
	readBody(t, resp)

	_, err = get(t, tr, srv.url(200))
	require.ErrorIs(t, err, circuit.ErrOpen)
	assert.Contains(t, err.Error(), `"api/`+srv.host()+`"`, "the error names the breaker: group name and host")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, transitions, 1)
	assert.Equal(t, "api/"+srv.host(), transitions[0].Name)
	assert.Equal(t, circuit.Open, transitions[0].To)
	assert.Equal(t, "1 consecutive failure", transitions[0].Reason)
}

func TestInvalidOptions(t *testing.T) {
	cases := []struct {
		name string
		opts []circuithttp.Option
		want string
	}{
		{"nil failure predicate", []circuithttp.Option{circuithttp.WithFailureStatus(nil)}, "WithFailureStatus: predicate is nil"},
		{"nil key function", []circuithttp.Option{circuithttp.WithKey(nil)}, "WithKey: function is nil"},
		{"zero max Retry-After", []circuithttp.Option{circuithttp.WithMaxRetryAfter(0)}, "WithMaxRetryAfter: d 0s is not positive"},
		{"negative max Retry-After", []circuithttp.Option{circuithttp.WithMaxRetryAfter(-time.Second)}, "WithMaxRetryAfter: d -1s is not positive"},
		{"nil option", []circuithttp.Option{nil}, "Option: option 0 is nil"},
		{"invalid breaker option", []circuithttp.Option{circuithttp.WithBreakerOptions(circuit.WithConsecutiveFailures(-1))}, "WithConsecutiveFailures"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := circuithttp.New(nil, tc.opts...)
			assert.Nil(t, tr)
			require.ErrorIs(t, err, circuit.ErrInvalidOption)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("NewTransport reports invalid circuit options", func(t *testing.T) {
		tr, err := circuithttp.NewTransport(nil, circuit.WithOpenTimeout(0))
		assert.Nil(t, tr)
		require.ErrorIs(t, err, circuit.ErrInvalidOption)
	})
}

// stubTransport is a base RoundTripper that does not touch the network.
type stubTransport struct {
	roundTrip func(*http.Request) (*http.Response, error)
	idle      atomic.Int64
}

func (s *stubTransport) RoundTrip(r *http.Request) (*http.Response, error) { return s.roundTrip(r) }
func (s *stubTransport) CloseIdleConnections()                             { s.idle.Add(1) }

func TestCloseIdleConnectionsReachesBase(t *testing.T) {
	base := &stubTransport{}
	tr, err := circuithttp.NewTransport(base)
	require.NoError(t, err)
	(&http.Client{Transport: tr}).CloseIdleConnections()
	assert.EqualValues(t, 1, base.idle.Load())
	assert.NoError(t, tr.Close(), "without a store, Close has nothing to stop")
	assert.EqualValues(t, 1, base.idle.Load(), "Close leaves the base's connections alone")
}

func TestPanicInBaseIsAFailure(t *testing.T) {
	base := &stubTransport{roundTrip: func(*http.Request) (*http.Response, error) { panic("boom") }}
	clk := newClock()
	tr, err := circuithttp.New(base, breakerOpts(clk, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Second)))
	require.NoError(t, err)

	assert.PanicsWithValue(t, "boom", func() { _, _ = get(t, tr, "http://example.test/") }, "the panic goes on")
	assert.Equal(t, circuit.Open, metrics(t, tr, "example.test").State, "and counted as a failure")

	clk.Advance(time.Second)
	assert.PanicsWithValue(t, "boom", func() { _, _ = get(t, tr, "http://example.test/") })
	assert.Equal(t, circuit.Open, metrics(t, tr, "example.test").State, "a panicking trial releases its permit and reopens the breaker")
}

func TestNilURL(t *testing.T) {
	tr, err := circuithttp.NewTransport(&stubTransport{})
	require.NoError(t, err)
	body := &trackedBody{r: strings.NewReader("x")}
	resp, err := tr.RoundTrip(&http.Request{Method: http.MethodPost, Body: body})
	assert.Nil(t, resp)
	require.Error(t, err)
	assert.EqualValues(t, 1, body.closes.Load())
}

func TestTransportIsASourceAndAHistory(t *testing.T) {
	a, b := newServer(t), newServer(t)
	tr := newTransport(t, breakerOpts(newClock(), circuit.WithName("api"), circuit.WithConsecutiveFailures(1)))
	var src circuit.Source = tr
	var hist circuit.History = tr

	resp, err := get(t, tr, a.url(500))
	require.NoError(t, err)
	readBody(t, resp)
	resp, err = get(t, tr, b.url(200))
	require.NoError(t, err)
	readBody(t, resp)

	got := map[string]circuit.Metrics{}
	src.Breakers(func(name string, m circuit.Metrics) bool {
		got[name] = m
		return true
	})
	require.Len(t, got, 2, "a breaker per host: %v", got)
	assert.Equal(t, circuit.Open, got["api/"+a.host()].State, "named after the host, under WithName's name")
	assert.Equal(t, 1, got["api/"+a.host()].Failures)
	assert.Equal(t, circuit.Closed, got["api/"+b.host()].State)
	assert.Equal(t, 1, got["api/"+b.host()].Successes)
	assert.Equal(t, got["api/"+a.host()], metrics(t, tr, a.host()), "Metrics reads one host's breaker, by its key")

	visited := 0
	src.Breakers(func(string, circuit.Metrics) bool {
		visited++
		return false
	})
	assert.Equal(t, 1, visited, "Breakers stops when fn returns false")

	recent := map[string][]circuit.Transition{}
	hist.Transitions(func(name string, ts []circuit.Transition) bool {
		recent[name] = ts
		return true
	})
	require.Len(t, recent["api/"+a.host()], 1)
	assert.Equal(t, circuit.Open, recent["api/"+a.host()][0].To)
	assert.Empty(t, recent["api/"+b.host()])
	visited = 0
	hist.Transitions(func(string, []circuit.Transition) bool {
		visited++
		return false
	})
	assert.Equal(t, 1, visited, "Transitions stops when fn returns false")
}

func TestMetricsOfAKeyNotSeen(t *testing.T) {
	srv := newServer(t)
	tr := newTransport(t)
	m, ok := tr.Metrics(srv.host())
	assert.False(t, ok, "no request yet: no breaker")
	assert.Equal(t, circuit.Metrics{}, m)
	assert.Equal(t, circuit.Closed, m.State, "zero Metrics read as closed")

	resp, err := get(t, tr, srv.url(200))
	require.NoError(t, err)
	readBody(t, resp)
	_, ok = tr.Metrics(srv.host())
	assert.True(t, ok)
	_, ok = tr.Metrics("other.example:80")
	assert.False(t, ok, "only the keys requests were sent with")
}

// A Transport not made by NewTransport or New is a programming error, which
// panics at once with a message that names it, as net/http panics on a nil
// handler.
func TestMisusePanics(t *testing.T) {
	const (
		nilMsg  = "circuit: method called on a nil *circuithttp.Transport"
		zeroMsg = "circuit: circuithttp.Transport used without NewTransport or New (its zero value is not usable)"
	)
	calls := map[string]func(tr *circuithttp.Transport){
		"RoundTrip": func(tr *circuithttp.Transport) {
			req := httptest.NewRequest(http.MethodGet, "http://example.test/", nil)
			_, _ = tr.RoundTrip(req)
		},
		"RoundTrip through an http.Client": func(tr *circuithttp.Transport) {
			_, _ = (&http.Client{Transport: tr}).Get("http://example.test/")
		},
		"Breakers": func(tr *circuithttp.Transport) { tr.Breakers(func(string, circuit.Metrics) bool { return true }) },
		"Transitions": func(tr *circuithttp.Transport) {
			tr.Transitions(func(string, []circuit.Transition) bool { return true })
		},
		"Metrics":              func(tr *circuithttp.Transport) { tr.Metrics("example.test") },
		"Close":                func(tr *circuithttp.Transport) { _ = tr.Close() },
		"CloseIdleConnections": func(tr *circuithttp.Transport) { tr.CloseIdleConnections() },
	}
	for method, call := range calls {
		t.Run(method+" on a zero Transport", func(t *testing.T) {
			assert.PanicsWithValue(t, zeroMsg, func() { call(&circuithttp.Transport{}) })
		})
		t.Run(method+" on a nil *Transport", func(t *testing.T) {
			assert.PanicsWithValue(t, nilMsg, func() { call(nil) })
		})
	}
	for _, msg := range []string{nilMsg, zeroMsg} {
		assert.True(t, strings.HasPrefix(msg, "circuit: "), "the core's prefix: %q", msg)
	}
}
