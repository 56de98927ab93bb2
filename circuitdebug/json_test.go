package circuitdebug_test

import (
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitdebug"
)

func TestJSONDecodesToTheDocumentedSchema(t *testing.T) {
	g := newGroup(t, "payments", "search")
	succeed(g.Get("search"), 3)
	fail(g.Get("payments"), 2)
	before := time.Now()
	srv := serve(t, circuitdebug.Handler(g))

	d := getJSON(t, srv, "")

	assert.WithinDuration(t, time.Now(), d.Time, time.Since(before)+time.Second)
	assert.Equal(t, time.UTC, d.Time.Location())
	assert.Equal(t, 2, d.Total)
	assert.Equal(t, 2, d.Matched)
	assert.Equal(t, map[string]int{"open": 1, "closed": 1}, d.States)
	assert.Equal(t, 0, d.Offset)
	assert.Equal(t, 200, d.Limit)
	require.Len(t, d.Breakers, 2)
	pay, search := d.Breakers[0], d.Breakers[1]
	assert.Equal(t, "payments", pay.Name)
	assert.Equal(t, "open", pay.State)
	assert.Equal(t, 10, pay.MinCalls)
	assert.Equal(t, uint64(1), pay.Trips)
	require.Len(t, pay.Transitions, 1, "the trip is in the history")
	tr := pay.Transitions[0]
	assert.Equal(t, "closed", tr.From)
	assert.Equal(t, "open", tr.To)
	assert.Contains(t, tr.Reason, "consecutive failures")
	assert.WithinDuration(t, time.Now(), tr.At, time.Minute)
	assert.Equal(t, "search", search.Name)
	assert.Equal(t, "closed", search.State)
	assert.Equal(t, 3, search.Calls)
	assert.Equal(t, 3, search.Successes)
	assert.NotNil(t, search.Transitions, "a breaker that never moved has an empty history, not an unknown one")
	assert.Empty(t, search.Transitions)
}

func TestJSONRowsAreSortedNotClosedFirstThenByName(t *testing.T) {
	g := newGroup(t, "d", "b", "a", "e", "c")
	fail(g.Get("e"), 2)
	g.Get("c").ForceOpen()
	g.Get("d").Disable()
	one, err := circuit.New[int](circuit.WithName("b"))
	require.NoError(t, err)
	one.ForceOpen()
	srv := serve(t, circuitdebug.Handler(g, one))

	d := getJSON(t, srv, "")

	assert.Equal(t, []string{"b", "c", "d", "e", "a", "b"}, d.names(),
		"every breaker that is not closed, by name (the Breaker's b after the Group's), then the closed ones")
	assert.Equal(t, map[string]int{"closed": 2, "disabled": 1, "forced-open": 2, "open": 1}, d.States)
}

func TestJSONFilterAndPaging(t *testing.T) {
	keys := make([]string, 30)
	for i := range keys {
		keys[i] = fmt.Sprintf("host-%02d", i)
	}
	g := newGroup(t, append(keys, "DB-Primary", "db-replica")...)
	fail(g.Get("host-17"), 2)
	srv := serve(t, circuitdebug.Handler(g))

	tests := []struct {
		name, query   string
		matched       int
		offset, limit int
		first, last   string
		rows          int
	}{
		{"no parameters: everything, up to the default limit", "", 32, 0, 200, "host-17", "host-29", 32},
		{"q matches a substring of the name", "&q=replica", 1, 0, 200, "db-replica", "db-replica", 1},
		{"q ignores case", "&q=db-", 2, 0, 200, "DB-Primary", "db-replica", 2},
		{"q that matches nothing gives an empty list", "&q=nope", 0, 0, 200, "", "", 0},
		{"limit bounds the rows, the open one first", "&q=host&limit=5", 30, 0, 5, "host-17", "host-03", 5},
		{"offset skips rows", "&q=host&limit=5&offset=5", 30, 5, 5, "host-04", "host-08", 5},
		{"the last page is short", "&q=host&limit=7&offset=28", 30, 28, 7, "host-28", "host-29", 2},
		{"an offset past the end is an empty page", "&offset=99", 32, 99, 200, "", "", 0},
		{"limit 0 means the default", "&limit=0", 32, 0, 200, "host-17", "host-29", 32},
		{"limit is capped", "&limit=999999", 32, 0, 5000, "host-17", "host-29", 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := getJSON(t, srv, tt.query)
			assert.Equal(t, 32, d.Total)
			assert.Equal(t, tt.matched, d.Matched)
			assert.Equal(t, tt.offset, d.Offset)
			assert.Equal(t, tt.limit, d.Limit)
			require.Len(t, d.Breakers, tt.rows)
			assert.NotNil(t, d.Breakers, "an empty page is [], not null")
			if tt.rows > 0 {
				assert.Equal(t, tt.first, d.Breakers[0].Name)
				assert.Equal(t, tt.last, d.Breakers[tt.rows-1].Name)
			}
		})
	}
}

func TestJSONOfASourceThatIsNotAHistory(t *testing.T) {
	src := source{
		"weird": {State: circuit.State(9), FailureRate: math.NaN(), SlowCallRate: math.Inf(1), Calls: 1},
		"fine": {State: circuit.Closed, FailureRate: 0.25, Calls: 4, Failures: 1, Rejected: 7, Trips: 2,
			Totals: circuit.Totals{Successes: 10, Failures: 3, SlowCalls: 2, Excluded: 1}},
	}
	srv := serve(t, circuitdebug.Handler(src))

	d := getJSON(t, srv, "")

	require.Len(t, d.Breakers, 2)
	weird := d.Breakers[0]
	assert.Equal(t, "State(9)", weird.State, "a state the page does not know sorts with the ones that need a look")
	assert.Zero(t, weird.FailureRate, "NaN, which JSON cannot carry, reads as 0")
	assert.Zero(t, weird.SlowCallRate, "so does an infinity")
	assert.Nil(t, weird.Transitions, "null: the source keeps no history")
	fine := d.Breakers[1]
	assert.InDelta(t, 0.25, fine.FailureRate, 1e-9)
	assert.Equal(t, uint64(7), fine.Rejected)
	assert.Equal(t, uint64(2), fine.Trips)
	assert.Equal(t, uint64(10), fine.Totals.Successes)
	assert.Equal(t, uint64(3), fine.Totals.Failures)
	assert.Equal(t, uint64(2), fine.Totals.SlowCalls)
	assert.Equal(t, uint64(1), fine.Totals.Excluded)
}

func TestBadRequests(t *testing.T) {
	srv := serve(t, circuitdebug.Handler(newGroup(t, "a")))
	tests := []struct {
		name, method, query string
		status              int
		body                string
	}{
		{"POST is not allowed", http.MethodPost, "", http.StatusMethodNotAllowed, "method not allowed"},
		{"a negative offset", http.MethodGet, "?offset=-1", http.StatusBadRequest, `circuitdebug: bad query: offset="-1": want an integer >= 0`},
		{"a limit that is no number", http.MethodGet, "?limit=ten", http.StatusBadRequest, `limit="ten"`},
		{"an unknown format", http.MethodGet, "?format=xml", http.StatusBadRequest, `format="xml"`},
		{"a stream that is no boolean", http.MethodGet, "?stream=yes", http.StatusBadRequest, `stream="yes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, tt.method, srv.URL+"/"+tt.query)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Contains(t, string(body), tt.body)
			if tt.status == http.StatusMethodNotAllowed {
				assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
			}
		})
	}
}

func TestHandlerPanicsOnANilSource(t *testing.T) {
	assert.PanicsWithValue(t, "circuitdebug: Handler given a nil Source", func() { circuitdebug.Handler(nil) })
}

func TestManyBreakers(t *testing.T) {
	g := newGroup(t)
	for i := range 5000 {
		g.Get(fmt.Sprintf("svc-%04d", i))
	}
	g.Get("svc-4321").ForceOpen()
	srv := serve(t, circuitdebug.Handler(g))

	d := getJSON(t, srv, "")

	assert.Equal(t, 5000, d.Total)
	assert.Equal(t, 5000, d.Matched)
	require.Len(t, d.Breakers, 200)
	assert.Equal(t, "svc-4321", d.Breakers[0].Name, "the one forced open is on the first page")
	assert.Equal(t, "svc-0000", d.Breakers[1].Name)
}
