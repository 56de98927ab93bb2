package main

import (
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// phase is the part of the run the server is in.
type phase int

const (
	healthy phase = iota
	down
	recovered
)

func (p phase) String() string {
	switch p {
	case healthy:
		return "healthy"
	case down:
		return "down"
	case recovered:
		return "recovered"
	}
	return fmt.Sprintf("phase(%d)", int(p))
}

// phaseAt returns the phase at elapsed time d into the run.
func (c config) phaseAt(d time.Duration) phase {
	switch {
	case d < c.Healthy:
		return healthy
	case d < c.Healthy+c.Down:
		return down
	}
	return recovered
}

// describe says what the server does in phase p.
func (c config) describe(p phase) string {
	if p == down {
		return fmt.Sprintf("the server answers 503, or stalls %v and answers 504 (client timeout %v)", c.Stall, c.Timeout)
	}
	if p == recovered {
		return "the server answers 200 OK again"
	}
	return "the server answers 200 OK"
}

// flakyServer is the demo's dependency. It is healthy or down according to the
// phase of the run. While it is down it alternates between an immediate 503 and
// a stall that ends in a 504. The stall ends early if the client goes away.
type flakyServer struct {
	cfg   config
	start time.Time
	ln    net.Listener
	srv   *http.Server
	n     atomic.Uint64 // requests in the down phase, to alternate
}

// listen opens the server's listener on a free port of 127.0.0.1.
func listen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// serve starts serving on ln. The phases are timed from start.
func serve(ln net.Listener, cfg config, start time.Time) *flakyServer {
	f := &flakyServer{cfg: cfg, start: start, ln: ln}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	return f
}

func (f *flakyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.cfg.phaseAt(time.Since(f.start)) != down {
		_, _ = fmt.Fprintln(w, "ok")
		return
	}
	if f.n.Add(1)%2 == 1 {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	t := time.NewTimer(f.cfg.Stall)
	defer t.Stop()
	select {
	case <-t.C:
		http.Error(w, "upstream timed out", http.StatusGatewayTimeout)
	case <-r.Context().Done(): // the client gave up
	}
}

func (f *flakyServer) url() string { return "http://" + f.ln.Addr().String() }

// close stops the server and closes its connections. The client's calls
// are all over by then. A stall whose client went away ends with its request's
// context, which closing its connection cancels. Shutdown would wait up to
// five seconds for connections the client dialed but never used.
func (f *flakyServer) close() error {
	if err := f.srv.Close(); err != nil {
		return fmt.Errorf("stopping the flaky server: %w", err)
	}
	return nil
}
