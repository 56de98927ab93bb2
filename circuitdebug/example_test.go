package circuitdebug_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitdebug"
)

// The page is mounted under a prefix, next to pprof; its JSON is the same
// path with ?format=json, its event stream ?stream=1.
func ExampleHandler() {
	payments := circuit.MustNew[string](circuit.WithName("payments"))
	hosts, _ := circuit.NewGroup[string, []byte](circuit.WithName("hosts"))
	hosts.Get("eu.example.com")
	payments.ForceOpen()

	mux := http.NewServeMux()
	mux.Handle("/debug/circuit/", http.StripPrefix("/debug/circuit", circuitdebug.Handler(payments, hosts)))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/circuit/?format=json", nil))
	var page struct {
		Breakers []struct{ Name, State string }
	}
	_ = json.NewDecoder(rec.Body).Decode(&page)
	for _, b := range page.Breakers {
		fmt.Println(b.Name, b.State)
	}
	// Output:
	// payments forced-open
	// hosts/eu.example.com closed
}
