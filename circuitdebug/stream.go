package circuitdebug

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"
)

// retryMillis is how long a browser waits before it reconnects a broken
// stream (the "retry" field of Server-Sent Events).
const retryMillis = "2000"

// serveStream sends a snapshot at once and then every interval, as
// Server-Sent Events named "snapshot" whose data is the JSON of ?format=json,
// until the request's context ends or a write fails. It runs on the request's
// goroutine and starts none, so nothing outlives the request.
func (p *Page) serveStream(w http.ResponseWriter, r *http.Request, v view) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Accel-Buffering", "no") // or a proxy such as nginx holds the events back
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	rc := http.NewResponseController(w)
	// A server's WriteTimeout would cut a stream that is meant to last; where
	// the writer cannot lift it this fails, and the stream ends with it.
	_ = rc.SetWriteDeadline(time.Time{})
	tick := time.NewTicker(p.interval())
	defer tick.Stop()
	first := true
	for {
		if !p.send(w, rc, v, first) {
			return
		}
		first = false
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

// send writes one event, and reports whether it reached the client.
func (p *Page) send(w http.ResponseWriter, rc *http.ResponseController, v view, first bool) bool {
	var buf bytes.Buffer
	if first {
		buf.WriteString("retry: " + retryMillis + "\n")
	}
	buf.WriteString("event: snapshot\ndata: ")
	// One JSON document with no newline inside: one data line.
	b, _ := json.Marshal(take(p.Sources, v, time.Now())) // cannot fail: every float is finite
	buf.Write(b)
	buf.WriteString("\n\n")
	if _, err := w.Write(buf.Bytes()); err != nil {
		return false
	}
	return rc.Flush() == nil
}

func (p *Page) interval() time.Duration {
	if p.Interval <= 0 {
		return defaultInterval
	}
	return p.Interval
}
