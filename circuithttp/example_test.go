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
	m := tr.Group().Get(srv.Listener.Addr().String()).Metrics()
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
	_ = client
	fmt.Println(tr.Group().Get("api.example.com").Name())
	// Output: api/api.example.com
}
