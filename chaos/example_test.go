package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/chaos"
	"github.com/seed33933975/circuit/circuithttp"
	"github.com/seed33933975/circuit/circuittest"
)

// A handler's dependency, wrapped first by an Injector and then by a breaker:
// with the faults on, the breaker opens and the fallback serves; with them
// off, the breaker closes after its open timeout. The fake clock makes the
// timeout pass without waiting.
func Example() {
	clk := circuittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := circuit.MustNew[string](circuit.WithName("inventory"), circuit.WithConsecutiveFailures(3),
		circuit.WithOpenTimeout(30*time.Second), circuit.WithClock(clk))
	in, err := chaos.New(1, chaos.Error(1, errors.New("connection refused")))
	if err != nil {
		panic(err)
	}

	stock := chaos.Wrap(in, func(context.Context) (string, error) { return "in stock", nil })
	handler := func(ctx context.Context) string {
		v, _ := b.ExecuteWithFallback(ctx, stock, func(_ context.Context, err error) (string, error) {
			if errors.Is(err, circuit.ErrOpen) {
				return "unknown (breaker open)", nil
			}
			return "unknown (" + err.Error() + ")", nil
		})
		return v
	}

	in.Disable() // healthy at first
	fmt.Println(handler(context.Background()), "-", b.State())

	in.Enable()   // the dependency goes down
	for range 4 { // three failures trip the breaker; the fourth call is not made
		fmt.Println(handler(context.Background()), "-", b.State())
	}
	fmt.Println("faults injected:", in.Injected())

	in.Disable()                  // the dependency recovers
	clk.Advance(30 * time.Second) // the open timeout passes: one trial call closes it
	fmt.Println(handler(context.Background()), "-", b.State())
	// Output:
	// in stock - closed
	// unknown (connection refused) - closed
	// unknown (connection refused) - closed
	// unknown (connection refused) - open
	// unknown (breaker open) - open
	// faults injected: 3
	// in stock - closed
}

// The same through HTTP: every request gets a made-up 503 without reaching
// the server, and circuithttp opens the host's breaker.
func ExampleInjector_RoundTripper() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "in stock")
	}))
	defer srv.Close()

	in, err := chaos.New(1, chaos.HTTPStatus(1, http.StatusServiceUnavailable))
	if err != nil {
		panic(err)
	}
	clk := circuittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tr, err := circuithttp.NewTransport(in.RoundTripper(nil), circuit.WithClock(clk),
		circuit.WithConsecutiveFailures(3), circuit.WithOpenTimeout(30*time.Second))
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: tr}
	defer client.CloseIdleConnections()

	get := func() {
		resp, err := client.Get(srv.URL)
		if errors.Is(err, circuit.ErrOpen) {
			fmt.Println("rejected: breaker open")
			return
		}
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("%s %q\n", resp.Status, body)
	}
	for range 4 {
		get()
	}
	in.Disable()
	clk.Advance(30 * time.Second)
	get()
	m, _ := tr.Metrics(srv.Listener.Addr().String())
	fmt.Println(m.State, "- faults injected:", in.Injected())
	// Output:
	// 503 Service Unavailable ""
	// 503 Service Unavailable ""
	// 503 Service Unavailable ""
	// rejected: breaker open
	// 200 OK "in stock"
	// closed - faults injected: 3
}

func ExampleNew() {
	_, err := chaos.New(1, chaos.Error(1.5, errors.New("timeout")))
	fmt.Println(err)
	fmt.Println(errors.Is(err, circuit.ErrInvalidOption))
	// Output:
	// circuit: invalid option chaos.Error: rate 1.5 outside [0, 1]
	// true
}

// The faults a seed gives are the same on every run, so a test can pin down
// exact figures. Here about one call in five fails.
func ExampleWrap() {
	in, err := chaos.New(42, chaos.Error(0.2, errors.New("timeout")))
	if err != nil {
		panic(err)
	}
	lookup := chaos.Wrap(in, func(context.Context) (int, error) { return 7, nil })

	failed := 0
	for range 1000 {
		if _, err := lookup(context.Background()); err != nil {
			failed++
		}
	}
	fmt.Println(failed, "of 1000 calls failed;", in.Injected(), "faults injected")
	// Output: 202 of 1000 calls failed; 202 faults injected
}
