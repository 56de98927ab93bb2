package circuitdebug

import (
	"crypto/rand"
	_ "embed" // the page's template, style and script
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed33933975/circuit"
)

var (
	//go:embed page.gohtml
	pageHTML string
	//go:embed page.css
	pageCSS string
	//go:embed page.js
	pageJS string
)

// pageTemplate renders the page as it is when asked for; page.js then keeps it
// up to date from the event stream, rendering the same markup. Change the two
// together.
var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"num":     num[int],
	"count":   num[uint64],
	"pct":     pct,
	"clock":   func(t time.Time) string { return t.UTC().Format("15:04:05") },
	"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"summary": summary,
}).Parse(pageHTML))

// shownTransitions is how many of a breaker's transitions its row shows; the
// earlier ones fold away.
const shownTransitions = 3

// pageData is what the template renders.
type pageData struct {
	snapshot
	Rows       []rowData
	Shown      string // "Showing 1–200 of 1,234 matching …"
	Prev, Next string // links to the neighbouring pages; "" where there is none
	Nonce      string // lets the page's own style and script run under its CSP
	CSS        template.CSS
	JS         template.JS
}

// rowData is one breaker's row, with what the template cannot work out.
type rowData struct {
	breakerView
	Kept      bool // its Source keeps transitions
	RateKnown bool // enough calls for the rate rules to count
	RateTitle string
	Recent    []transitionData // newest first
	Earlier   []transitionData // newest first, before Recent
}

type transitionData struct {
	transitionView
	Ago string // "5s ago", from the snapshot's time
}

// serveHTML writes the page.
func (p *Page) serveHTML(w http.ResponseWriter, v view) {
	nonce := newNonce()
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; "+
		"style-src 'nonce-"+nonce+"'; script-src 'nonce-"+nonce+"'; "+
		"connect-src 'self'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	d := newPageData(take(p.Sources, v, time.Now()), nonce)
	// An error here is the client's connection failing: nothing to tell it.
	_ = pageTemplate.Execute(w, d)
}

// newNonce returns a fresh CSP nonce. crypto/rand fails only when the
// system's source does (and from Go 1.24 on the program crashes then).
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func newPageData(s snapshot, nonce string) pageData {
	d := pageData{snapshot: s, Shown: shown(s), Nonce: nonce,
		CSS: template.CSS(pageCSS), JS: template.JS(pageJS)}
	if s.Offset > 0 {
		d.Prev = pageLink(s.Query, max(0, s.Offset-s.Limit), s.Limit)
	}
	if s.Offset+s.Limit < s.Matched {
		d.Next = pageLink(s.Query, s.Offset+s.Limit, s.Limit)
	}
	d.Rows = make([]rowData, len(s.Breakers))
	for i, b := range s.Breakers {
		d.Rows[i] = newRowData(b, s.Time)
	}
	return d
}

func newRowData(b breakerView, now time.Time) rowData {
	r := rowData{breakerView: b, Kept: b.Transitions != nil, RateKnown: b.Calls >= b.MinCalls,
		RateTitle: rateTitle(b)}
	newest := make([]transitionData, len(b.Transitions))
	for i, t := range b.Transitions {
		newest[len(newest)-1-i] = transitionData{transitionView: t, Ago: ago(t.At, now)}
	}
	n := min(len(newest), shownTransitions)
	r.Recent, r.Earlier = newest[:n], newest[n:]
	return r
}

// rateTitle explains a row's failure rate, as page.js's rateTitle does.
func rateTitle(b breakerView) string {
	s := num(b.Failures) + " failed of " + num(b.Calls) + " calls in the window; " +
		num(b.ConsecutiveFailures) + " consecutive failures"
	if b.Calls < b.MinCalls {
		s += "; the rate rules need " + num(b.MinCalls) + " calls"
	}
	return s
}

// shown says which rows the page shows, as page.js's shown does.
func shown(s snapshot) string {
	out := "Showing 0"
	if n := len(s.Breakers); n > 0 {
		out = "Showing " + num(s.Offset+1) + "–" + num(s.Offset+n)
	}
	out += " of " + num(s.Matched)
	if s.Query != "" {
		out += " matching “" + s.Query + "”"
	}
	return out
}

// pageLink is the query of another page of the same filter.
func pageLink(q string, offset, limit int) string {
	v := url.Values{"offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(limit)}}
	if q != "" {
		v.Set("q", q)
	}
	return "?" + v.Encode()
}

// stateCount is one chip of the summary.
type stateCount struct {
	State string
	Count int
}

// summary lists the states that have breakers, the ones that need a look
// first, as page.js's summary does.
func summary(states map[string]int) []stateCount {
	order := []string{circuit.Open.String(), circuit.ForcedOpen.String(),
		circuit.HalfOpen.String(), circuit.Disabled.String(), circuit.Closed.String()}
	var out []stateCount
	for _, st := range order {
		if n := states[st]; n > 0 {
			out = append(out, stateCount{st, n})
		}
	}
	known := len(out)
	for st, n := range states { // a State this package does not know yet
		if !slices.Contains(order, st) {
			out = append(out, stateCount{st, n})
		}
	}
	slices.SortFunc(out[known:], func(a, b stateCount) int { return strings.Compare(a.State, b.State) })
	return out
}

// num writes n with its thousands grouped by commas, as page.js's num does.
func num[N int | uint64](n N) string {
	s := strconv.FormatUint(uint64(max(n, 0)), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// pct writes a rate in [0, 1] as a percentage, as page.js's pct does.
func pct(r float64) string { return strconv.FormatFloat(r*100, 'f', 1, 64) + "%" }

// ago says how long before now at was, as page.js's ago does.
func ago(at, now time.Time) string {
	s := int64(max(now.Sub(at), 0) / time.Second)
	switch {
	case s < 60:
		return strconv.FormatInt(s, 10) + "s ago"
	case s < 3600:
		return strconv.FormatInt(s/60, 10) + "m ago"
	case s < 86400:
		return strconv.FormatInt(s/3600, 10) + "h ago"
	}
	return strconv.FormatInt(s/86400, 10) + "d ago"
}
