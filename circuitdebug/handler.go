package circuitdebug

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/seed33933975/circuit"
)

const (
	// defaultInterval is how often the event stream sends a snapshot when
	// Page.Interval is not set.
	defaultInterval = time.Second
	// defaultLimit is how many rows a response holds when the request names
	// no limit; maxLimit bounds what it may name.
	defaultLimit = 200
	maxLimit     = 5000
)

// Page is the status page. It serves, from whatever path it is mounted on,
// the HTML page, its JSON (?format=json) and its event stream (?stream=1);
// see the package doc. Handler returns one with the defaults; make one
// directly to set Interval.
//
// A Page is safe for concurrent use; its fields must not change while it
// serves.
type Page struct {
	// Sources hold the breakers shown. None may be nil.
	Sources []circuit.Source
	// Interval is how often the event stream sends a snapshot: one second
	// when zero or negative.
	Interval time.Duration
}

// Handler returns the status page of the breakers that sources hold (each
// *circuit.Breaker and *circuit.Group is a Source), with a snapshot every
// second on the event stream. It panics if a source is nil.
func Handler(sources ...circuit.Source) http.Handler {
	for _, s := range sources {
		if s == nil {
			panic("circuitdebug: Handler given a nil Source")
		}
	}
	return &Page{Sources: sources}
}

// ServeHTTP serves a GET or HEAD of the page, its JSON or its event stream,
// as the query asks.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "circuitdebug: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	req, err := parseRequest(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch {
	case req.stream:
		p.serveStream(w, r, req.view)
	case req.json:
		p.serveJSON(w, req.view)
	default:
		p.serveHTML(w, req.view)
	}
}

// request is what a query asks for.
type request struct {
	view
	stream bool // ?stream=1: the event stream
	json   bool // ?format=json
}

// errBadQuery is wrapped by every error parseRequest returns.
var errBadQuery = errors.New("circuitdebug: bad query")

// parseRequest reads q, offset, limit, format and stream. An offset past the
// end is not an error: it gives an empty page.
func parseRequest(v url.Values) (request, error) {
	req := request{view: view{q: v.Get("q"), limit: defaultLimit}}
	var err error
	if req.offset, err = parseCount(v, "offset", 0); err != nil {
		return req, err
	}
	if req.limit, err = parseCount(v, "limit", defaultLimit); err != nil {
		return req, err
	}
	if req.limit == 0 {
		req.limit = defaultLimit
	}
	req.limit = min(req.limit, maxLimit)
	switch f := v.Get("format"); f {
	case "", "html":
	case "json":
		req.json = true
	default:
		return req, badQuery("format", f, `want "html" or "json"`)
	}
	if s := v.Get("stream"); s != "" {
		if req.stream, err = strconv.ParseBool(s); err != nil {
			return req, badQuery("stream", s, `want "1" or "0"`)
		}
	}
	return req, nil
}

// parseCount reads the non-negative integer parameter name, def when absent.
func parseCount(v url.Values, name string, def int) (int, error) {
	s := v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, badQuery(name, s, "want an integer >= 0")
	}
	return n, nil
}

func badQuery(name, value, want string) error {
	return fmt.Errorf("%w: %s=%q: %s", errBadQuery, name, value, want)
}

// serveJSON writes one snapshot as JSON.
func (p *Page) serveJSON(w http.ResponseWriter, v view) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// An error here is the client's connection failing: nothing to tell it.
	_ = json.NewEncoder(w).Encode(take(p.Sources, v, time.Now()))
}
