package circuitdebug_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitdebug"
)

// BenchmarkPage5000 is one response for a group of 5,000 breakers (a few of
// them open), the default 200 rows: what an open page costs each second.
func BenchmarkPage5000(b *testing.B) {
	g, err := circuit.NewGroup[string, int](circuit.WithConsecutiveFailures(2))
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	for i := range 5000 {
		g.Get(fmt.Sprintf("host-%04d", i))
	}
	for i := 0; i < 5000; i += 500 {
		g.Get(fmt.Sprintf("host-%04d", i)).ForceOpen()
	}
	h := circuitdebug.Handler(g)
	for _, format := range []string{"json", "html"} {
		b.Run(format, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/?format="+format, nil)
			b.ReportAllocs()
			for range b.N {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}
