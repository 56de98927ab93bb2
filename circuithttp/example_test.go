package circuithttp_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuithttp"
)

func ExampleNewTransport() {
	// A dependency that is down.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer srv.Close()

	tr, err := circuithttp.NewTransport(nil,
		circuit.WithConsecutiveFailures(3),
		circuit.WithOpenTimeout(30*time.Second),
	)
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: tr}
	defer client.CloseIdleConnections()

	for range 5 {
		resp, err := client.Get(srv.URL)
		if errors.Is(err, circuit.ErrOpen) {
			wait, _ := circuit.RetryAfter(err)
			fmt.Printf("rejected without a request, retry in about %v\n", wait.Round(time.Second))
			continue
		}
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
	}
	m, _ := tr.Metrics(srv.Listener.Addr().String())
	fmt.Printf("%v: %d failures, %d rejected\n", m.State, m.Failures, m.Rejected)
	// Output:
	// 503 Service Unavailable
	// 503 Service Unavailable
	// 503 Service Unavailable
	// rejected without a request, retry in about 30s
	// rejected without a request, retry in about 30s
	// open: 3 failures, 2 rejected
}

func ExampleNew() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()

	tr, err := circuithttp.New(nil,
		// Only 5xx count as failures: this API answers 429 to a client over
		// its quota, which says nothing about the API's health.
		circuithttp.WithFailureStatus(func(code int) bool { return code >= 500 }),
		// One breaker per host name, whatever the port.
		circuithttp.WithKey(func(r *http.Request) string { return r.URL.Hostname() }),
		circuithttp.WithBreakerOptions(
			circuit.WithName("api"),
			circuit.WithConsecutiveFailures(3),
		),
	)
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()

	resp, err := client.Get(srv.URL) // srv.URL is http://127.0.0.1:port
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	tr.Breakers(func(name string, m circuit.Metrics) bool {
		fmt.Printf("%s: %v, %d call\n", name, m.State, m.Calls)
		return true
	})
	// Output: api/127.0.0.1: closed, 1 call
}

// A Transport is a circuit.Source: Breakers reads every host's breaker, as
// the metrics adapters and the status page do, and Metrics one host's.
func ExampleTransport_Breakers() {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer down.Close()

	tr, err := circuithttp.NewTransport(nil, circuit.WithConsecutiveFailures(2))
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: tr}
	defer client.CloseIdleConnections()
	for range 3 {
		for _, url := range []string{up.URL, down.URL} {
			if resp, err := client.Get(url); err == nil {
				resp.Body.Close()
			}
		}
	}

	open := 0
	tr.Breakers(func(name string, m circuit.Metrics) bool {
		if m.State == circuit.Open {
			open++
		}
		return true
	})
	fmt.Println("hosts open:", open)
	m, _ := tr.Metrics(up.Listener.Addr().String())
	fmt.Printf("the healthy host: %v, %d successes\n", m.State, m.Successes)
	m, _ = tr.Metrics(down.Listener.Addr().String())
	fmt.Printf("the failing host: %v, %d failures, %d rejected\n", m.State, m.Failures, m.Rejected)
	// Output:
	// hosts open: 1
	// the healthy host: closed, 3 successes
	// the failing host: open, 2 failures, 1 rejected
}
