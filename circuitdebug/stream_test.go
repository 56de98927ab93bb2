package circuitdebug_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitdebug"
)

// event is one Server-Sent Event.
type event struct {
	name, data, retry string
}

// events reads the events of an event stream as they come, until it ends or
// ctx does.
func events(ctx context.Context, r io.Reader) <-chan event {
	out := make(chan event)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 4<<20)
		var e event
		for sc.Scan() {
			field, value, _ := strings.Cut(sc.Text(), ": ")
			switch field {
			case "event":
				e.name = value
			case "data":
				e.data += value
			case "retry":
				e.retry = value
			case "":
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
				e = event{}
			}
		}
	}()
	return out
}

// next waits for the next event of ch.
func next(t *testing.T, ch <-chan event) event {
	t.Helper()
	select {
	case e, ok := <-ch:
		require.True(t, ok, "the stream ended")
		return e
	case <-time.After(5 * time.Second):
		require.FailNow(t, "no event within 5s")
	}
	return event{}
}

// stream opens the event stream of srv with query, and returns its events;
// the returned function cancels the request.
func stream(t *testing.T, url string) (<-chan event, *http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() {
		cancel()
		_ = resp.Body.Close()
	})
	return events(ctx, resp.Body), resp, cancel
}

func TestStreamSendsSnapshotsUntilTheClientGoes(t *testing.T) {
	g := newGroup(t, "a", "b", "c")
	returned := make(chan struct{})
	page := &circuitdebug.Page{Sources: []circuit.Source{g}, Interval: 20 * time.Millisecond}
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		page.ServeHTTP(w, r)
	}))

	ch, resp, cancel := stream(t, srv.URL+"/?stream=1&q=b")

	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	first := next(t, ch)
	assert.Equal(t, "snapshot", first.name)
	assert.Equal(t, "2000", first.retry, "the first event tells the browser how soon to reconnect")
	var d doc
	require.NoError(t, json.Unmarshal([]byte(first.data), &d))
	assert.Equal(t, []string{"b"}, d.names(), "the stream takes the page's filter")
	assert.Equal(t, "closed", d.Breakers[0].State)

	g.Get("b").ForceOpen()
	second := next(t, ch)
	assert.Empty(t, second.retry)
	require.NoError(t, json.Unmarshal([]byte(second.data), &d))
	assert.Equal(t, "forced-open", d.Breakers[0].State, "the next snapshot shows the change")
	assert.False(t, d.Time.Before(time.Now().Add(-time.Second)))

	cancel()
	select {
	case <-returned:
	case <-time.After(2 * time.Second):
		t.Fatal("the handler still runs 2s after the client went")
	}
}

func TestStreamDefaultIntervalIsASecond(t *testing.T) {
	srv := serve(t, circuitdebug.Handler(newGroup(t, "a")))
	ch, _, _ := stream(t, srv.URL+"/?stream=1")

	next(t, ch)
	start := time.Now()
	next(t, ch)

	assert.InDelta(t, time.Second, time.Since(start), float64(500*time.Millisecond))
}

// brokenWriter is a ResponseWriter whose client is gone, or that cannot flush.
type brokenWriter struct {
	http.ResponseWriter
	writeErr error
}

func (w brokenWriter) Write(b []byte) (int, error) {
	if w.writeErr != nil {
		return 0, w.writeErr
	}
	return len(b), nil
}

func TestStreamStopsWhenItCannotWriteOrFlush(t *testing.T) {
	page := circuitdebug.Handler(newGroup(t, "a"))
	for _, w := range []brokenWriter{
		{ResponseWriter: httptest.NewRecorder(), writeErr: errors.New("connection reset")},
		{ResponseWriter: httptest.NewRecorder()}, // no Flush: the wrapper hides it
	} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			page.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/?stream=1", nil))
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatalf("the stream goes on with a writer that fails (%v)", w.writeErr)
		}
	}
}

func TestStreamOutlivesTheServersWriteTimeout(t *testing.T) {
	page := &circuitdebug.Page{Sources: []circuit.Source{newGroup(t, "a")}, Interval: 20 * time.Millisecond}
	srv := start(t, &http.Server{Handler: page, ReadHeaderTimeout: time.Second, WriteTimeout: 100 * time.Millisecond})
	ch, _, _ := stream(t, srv.URL+"/?stream=1")

	deadline := time.Now().Add(400 * time.Millisecond)
	for time.Now().Before(deadline) {
		next(t, ch) // the stream ends, and next fails, if the timeout cuts it
	}
}
