package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed33933975/circuit"
)

// scenario is one storm: the server's capacity and the clients' load.
type scenario struct {
	duration time.Duration
	rate     int // client requests a second
	capacity int // successes a second
	attempts int
	backoff  time.Duration
}

// setup is one way for clients to call the server.
type setup struct {
	name string
	// client returns the call a client request makes, given one attempt,
	// and a function that releases what it holds.
	client func(sc scenario) (callFunc, func(), error)
}

// callFunc makes one client request, calling attempt once or more.
var errUnavailable = errors.New("503 service unavailable")

var setups = []setup{
	{"plain retry", plainRetry},
	{"retry + breaker", func(sc scenario) (callFunc, func(), error) {
		return breakerRetry(sc, nil)
	}},
	{"retry + budget", func(sc scenario) (callFunc, func(), error) {
		return breakerRetry(sc, []circuit.Option{circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0.95, 50)})
	}},
	{"retry + budget + throttle", func(sc scenario) (callFunc, func(), error) {
		return breakerRetry(sc, []circuit.Option{circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0.95, 10),
			circuit.WithAdaptiveThrottle(2)})
	}},
}

type callFunc = func(ctx context.Context, attempt func(context.Context) (int, error)) error

// plainRetry retries every failure, as clients without a breaker do.
func plainRetry(sc scenario) (callFunc, func(), error) {
	return func(ctx context.Context, attempt func(context.Context) (int, error)) error {
		var err error
		for i := range sc.attempts {
			if _, err = attempt(ctx); err == nil {
				return nil
			}
			if i < sc.attempts-1 {
				time.Sleep(sc.backoff)
			}
		}
		return err
	}, func() {}, nil
}

// breakerRetry retries through a breaker made with opts; opts other than nil
// also get a shared retry budget of 10% of first attempts.
func breakerRetry(sc scenario, opts []circuit.Option) (callFunc, func(), error) {
	b, err := circuit.New[int](opts...)
	if err != nil {
		return nil, nil, err
	}
	policy := circuit.RetryPolicy{Attempts: sc.attempts, Backoff: circuit.ConstantBackoff(sc.backoff)}
	if opts != nil {
		if policy.Budget, err = circuit.NewRetryBudget(0.1, 10); err != nil {
			return nil, nil, err
		}
	}
	return func(ctx context.Context, attempt func(context.Context) (int, error)) error {
		_, err := circuit.Retry(ctx, b, policy, attempt)
		return err
	}, func() { _ = b.Close() }, nil
}

// result is what one setup's run measured.
type result struct {
	requests, served, succeeded int64
	latencies                   []time.Duration
}

func (r *result) amplification() float64 { return float64(r.served) / float64(max(r.requests, 1)) }
func (r *result) goodput(d time.Duration) float64 {
	return float64(r.succeeded) / d.Seconds()
}
func (r *result) p99() time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	slices.Sort(r.latencies)
	return r.latencies[len(r.latencies)*99/100]
}

// run starts the server, drives the load through s for sc.duration, and
// stops everything before it returns.
func (sc scenario) run(ctx context.Context, s setup) (*result, error) {
	srv, err := startServer(sc.capacity)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	call, done, err := s.client(sc)
	if err != nil {
		return nil, err
	}
	defer done()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	attempt := func(ctx context.Context) (int, error) { return get(ctx, client, srv.url) }

	res := &result{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(sc.rate))
	defer tick.Stop()
	end := time.After(sc.duration)
	for loop := true; loop; {
		select {
		case <-ctx.Done():
			loop = false
		case <-end:
			loop = false
		case <-tick.C:
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				err := call(ctx, attempt)
				mu.Lock()
				defer mu.Unlock()
				res.requests++
				res.latencies = append(res.latencies, time.Since(start))
				if err == nil {
					res.succeeded++
				}
			}()
		}
	}
	wg.Wait()
	res.served = srv.received.Load()
	return res, nil
}

// get makes one attempt: a 200 is a success, a 503 errUnavailable.
func get(ctx context.Context, c *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%w (%d)", errUnavailable, resp.StatusCode)
	}
	return 1, nil
}

// server serves up to capacity successes a second (a token bucket with a
// tenth of a second's burst) and answers 503 at once beyond it.
type server struct {
	url      string
	received atomic.Int64
	http     *http.Server
	done     chan struct{}

	mu     sync.Mutex
	tokens float64
	last   time.Time
	rate   float64
}

func startServer(capacity int) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{url: "http://" + ln.Addr().String() + "/", rate: float64(capacity), last: time.Now(), done: make(chan struct{})}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.http.Serve(ln)
	}()
	return s, nil
}

func (s *server) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.received.Add(1)
	if !s.take() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	time.Sleep(time.Millisecond) // the work
	w.WriteHeader(http.StatusOK)
}

func (s *server) take() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.tokens = min(s.tokens+now.Sub(s.last).Seconds()*s.rate, s.rate/10)
	s.last = now
	if s.tokens < 1 {
		return false
	}
	s.tokens--
	return true
}

func (s *server) close() {
	_ = s.http.Close()
	<-s.done
}
