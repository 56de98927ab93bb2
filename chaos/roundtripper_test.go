package chaos_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit/chaos"
)

// server is a dependency on 127.0.0.1 that counts the requests it receives.
type server struct {
	*httptest.Server
	hits atomic.Int64
}

func newServer(t *testing.T) *server {
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		_, _ = io.WriteString(w, "real")
	}))
	t.Cleanup(s.Close)
	return s
}

// body is a request body that records being closed.
type body struct {
	io.Reader
	closed atomic.Bool
}

func (b *body) Close() error { b.closed.Store(true); return nil }

func newBody() *body { return &body{Reader: strings.NewReader("payload")} }

// client returns an http.Client whose transport is the injector's
// RoundTripper over the server's own transport.
func client(t *testing.T, s *server, faults ...chaos.Fault) (*chaos.Injector, *http.Client) {
	in, err := chaos.New(1, faults...)
	require.NoError(t, err)
	return in, &http.Client{Transport: in.RoundTripper(s.Client().Transport)}
}

func post(ctx context.Context, t *testing.T, c *http.Client, url string, b *body) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, b)
	require.NoError(t, err)
	return c.Do(req)
}

func TestHTTPStatusIsAWellFormedResponse(t *testing.T) {
	cases := []struct {
		code   int
		status string
	}{
		{503, "503 Service Unavailable"},
		{429, "429 Too Many Requests"},
		{200, "200 OK"},
		{599, "599"}, // no standard text
	}
	for _, c := range cases {
		t.Run(c.status, func(t *testing.T) {
			s := newServer(t)
			in, hc := client(t, s, chaos.HTTPStatus(1, c.code))
			b := newBody()

			resp, err := post(context.Background(), t, hc, s.URL+"/path", b)

			require.NoError(t, err, "http.Client takes it as a real response")
			assert.Equal(t, c.code, resp.StatusCode)
			assert.Equal(t, c.status, resp.Status)
			assert.Equal(t, "HTTP/1.1", resp.Proto)
			assert.True(t, resp.ProtoAtLeast(1, 1))
			assert.NotNil(t, resp.Header)
			assert.Zero(t, resp.ContentLength)
			require.NotNil(t, resp.Request)
			assert.Equal(t, s.URL+"/path", resp.Request.URL.String())
			got, err := io.ReadAll(resp.Body)
			assert.NoError(t, err)
			assert.Empty(t, got)
			assert.NoError(t, resp.Body.Close())

			assert.Zero(t, s.hits.Load(), "nothing reached the server")
			assert.True(t, b.closed.Load(), "request body closed")
			assert.Equal(t, uint64(1), in.Injected())
		})
	}
	t.Run("the response's request is the request", func(t *testing.T) {
		in, err := chaos.New(1, chaos.HTTPStatus(1, 502))
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodGet, "http://dependency.test/", nil)
		resp, err := in.RoundTripper(nil).RoundTrip(req)
		require.NoError(t, err)
		assert.Same(t, req, resp.Request)
		assert.Equal(t, http.NoBody, resp.Body)
	})
}

func TestRoundTripperErrorIsATransportError(t *testing.T) {
	s := newServer(t)
	in, hc := client(t, s, chaos.Error(1, errInjected))
	b := newBody()

	resp, err := post(context.Background(), t, hc, s.URL, b)

	assert.Nil(t, resp)
	var ue *url.Error
	assert.ErrorAs(t, err, &ue)
	assert.ErrorIs(t, err, errInjected)
	assert.Zero(t, s.hits.Load(), "nothing reached the server")
	assert.True(t, b.closed.Load(), "request body closed")
	assert.Equal(t, uint64(1), in.Injected())
}

func TestRoundTripperHang(t *testing.T) {
	s := newServer(t)
	_, hc := client(t, s, chaos.Hang(1))
	b := newBody()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()

	resp, err := post(ctx, t, hc, s.URL, b)

	assert.Nil(t, resp)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Zero(t, s.hits.Load(), "nothing reached the server")
	assert.True(t, b.closed.Load(), "request body closed")
}

func TestRoundTripperLatency(t *testing.T) {
	t.Run("sends the request after the delay", func(t *testing.T) {
		s := newServer(t)
		in, hc := client(t, s, chaos.Latency(1, 2*time.Millisecond))
		start := time.Now()

		resp, err := post(context.Background(), t, hc, s.URL, newBody())

		require.NoError(t, err)
		defer resp.Body.Close()
		assert.GreaterOrEqual(t, time.Since(start), 2*time.Millisecond)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, int64(1), s.hits.Load())
		assert.Equal(t, uint64(1), in.Injected())
	})
	t.Run("a context that ends during the delay sends nothing", func(t *testing.T) {
		s := newServer(t)
		_, hc := client(t, s, chaos.Latency(1, time.Hour))
		b := newBody()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel()

		resp, err := post(ctx, t, hc, s.URL, b)

		assert.Nil(t, resp)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Zero(t, s.hits.Load())
		assert.True(t, b.closed.Load(), "request body closed")
	})
}

func TestRoundTripperPassesThrough(t *testing.T) {
	t.Run("while disabled", func(t *testing.T) {
		s := newServer(t)
		in, hc := client(t, s, chaos.Error(1, errInjected), chaos.HTTPStatus(1, 503))
		in.Disable()

		resp, err := post(context.Background(), t, hc, s.URL, newBody())

		require.NoError(t, err)
		got, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		assert.Equal(t, "real", string(got))
		assert.Equal(t, int64(1), s.hits.Load())
		assert.Zero(t, in.Injected())
	})
	t.Run("when no fault fires", func(t *testing.T) {
		s := newServer(t)
		in, hc := client(t, s, chaos.HTTPStatus(0, 503))

		resp, err := post(context.Background(), t, hc, s.URL, newBody())

		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, int64(1), s.hits.Load())
		assert.Zero(t, in.Injected())
	})
	t.Run("a nil base is http.DefaultTransport", func(t *testing.T) {
		s := newServer(t)
		in, err := chaos.New(1)
		require.NoError(t, err)
		hc := &http.Client{Transport: in.RoundTripper(nil)}
		defer hc.CloseIdleConnections() // reaches http.DefaultTransport

		resp, err := hc.Get(s.URL)

		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, int64(1), s.hits.Load())
	})
}

func TestRoundTripperCloseIdleConnections(t *testing.T) {
	closer := &idleCloser{}
	in, err := chaos.New(1)
	require.NoError(t, err)

	(&http.Client{Transport: in.RoundTripper(closer)}).CloseIdleConnections()
	assert.True(t, closer.closed, "reaches a base that has the method")

	plain := roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("unused") })
	assert.NotPanics(t, (&http.Client{Transport: in.RoundTripper(plain)}).CloseIdleConnections,
		"a base without it is left alone")
}

type idleCloser struct {
	http.RoundTripper
	closed bool
}

func (c *idleCloser) CloseIdleConnections() { c.closed = true }
