package circuitdebug_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitdebug"
)

// getHTML fetches the page at url and checks it is one.
func getHTML(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, body := get(t, url)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	return resp, string(body)
}

func TestHTMLHeaders(t *testing.T) {
	srv := serve(t, circuitdebug.Handler(newGroup(t, "a")))

	resp, body := getHTML(t, srv.URL)

	h := resp.Header
	assert.Equal(t, "no-store", h.Get("Cache-Control"))
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	assert.Equal(t, "DENY", h.Get("X-Frame-Options"))
	assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
	csp := h.Get("Content-Security-Policy")
	assert.Contains(t, csp, "default-src 'none'")
	assert.Contains(t, csp, "connect-src 'self'", "the event stream")
	nonce := regexp.MustCompile(`script-src 'nonce-([^']+)'`).FindStringSubmatch(csp)
	require.Len(t, nonce, 2, csp)
	has(t, body, `<script nonce="`+nonce[1]+`">`, "the page's own script may run")
	has(t, body, `<style nonce="`+nonce[1]+`">`, "and its style")
	hasNot(t, body, "http://", "no external assets")
	hasNot(t, body, "https://", "no external assets")

	_, again := getHTML(t, srv.URL)
	hasNot(t, again, nonce[1], "a nonce serves once")
}

func TestHTMLTable(t *testing.T) {
	g := newGroup(t, "search", "payments")
	fail(g.Get("payments"), 2)
	srv := serve(t, circuitdebug.Handler(g))

	_, body := getHTML(t, srv.URL)

	for _, th := range []string{"Name", "State", "Failure rate", "Slow rate", "Calls", "In flight",
		"Successes", "Failures", "Slow", "Excluded", "Rejected", "Trips", "Recent transitions"} {
		assert.Regexp(t, `<th[^>]*>`+th+`[< ]`, body, "a header for %s", th)
	}
	has(t, body, `<tr data-name="payments" data-state="open" class="st-open">`)
	has(t, body, `<span class="badge st-open">open</span>`)
	assert.Less(t, strings.Index(body, `data-name="payments"`), strings.Index(body, `data-name="search"`),
		"the open breaker comes first")
	has(t, body, `<b>1</b> open</span><span class="chip st-closed"><b>1</b> closed</span>`,
		"the summary counts each state, the one that needs a look first")
	has(t, body, "Showing 1–2 of 2<")
	has(t, body, `→ <span class="badge sm st-open">open</span> <span class="reason">2 consecutive failures</span>`)
	has(t, body, `<span class="ago">0s ago</span>`)
	has(t, body, `class="num muted" title="2 failed of 2 calls in the window; 2 consecutive failures; the rate rules need 10 calls">100.0%`,
		"a rate over fewer calls than the rule needs is shown muted")
}

func TestHTMLEscapesNamesAndQuery(t *testing.T) {
	const evil = `<script>alert("x")</script>&'`
	g := newGroup(t, evil)
	g.Get(evil).ForceOpen()
	srv := serve(t, circuitdebug.Handler(g))

	_, body := getHTML(t, srv.URL+`/?q=`+strings.ReplaceAll("<script>", "<", "%3C"))

	hasNot(t, body, `<script>alert`)
	has(t, body, `<td class="name">&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;&#39;</td>`)
	has(t, body, `data-name="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;&#39;"`)
	has(t, body, `value="&lt;script&gt;"`, "the filter box")
	has(t, body, `matching “&lt;script&gt;”`)
	assert.Equal(t, 1, strings.Count(body, "<script"), "only the page's own script")
}

func TestHTMLPaging(t *testing.T) {
	g := newGroup(t, "a", "b", "c", "d", "e")
	srv := serve(t, circuitdebug.Handler(g))

	tests := []struct {
		name, query, shown, prev, next string
	}{
		{"first page", "?limit=2", "Showing 1–2 of 5", "", "?limit=2&amp;offset=2"},
		{"middle page", "?limit=2&offset=2", "Showing 3–4 of 5", "?limit=2&amp;offset=0", "?limit=2&amp;offset=4"},
		{"last page", "?limit=2&offset=4", "Showing 5–5 of 5", "?limit=2&amp;offset=2", ""},
		{"an offset that is not a multiple of limit", "?limit=2&offset=1", "Showing 2–3 of 5", "?limit=2&amp;offset=0", "?limit=2&amp;offset=3"},
		{"past the end", "?offset=9", "Showing 0 of 5", "?limit=200&amp;offset=0", ""},
		{"filtered", "?q=c&limit=1", "Showing 1–1 of 1 matching “c”", "", ""},
		{"filtered, nothing", "?q=zz", "Showing 0 of 0 matching “zz”", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, body := getHTML(t, srv.URL+"/"+tt.query)
			has(t, body, `<span id="shown" class="shown">`+tt.shown+`</span>`)
			assertLink(t, body, "prev", tt.prev)
			assertLink(t, body, "next", tt.next)
		})
	}
	_, body := getHTML(t, serve(t, circuitdebug.Handler(newGroup(t, "x1", "x2", "y"))).URL+"/?q=x&limit=1")
	assertLink(t, body, "next", "?limit=1&amp;offset=1&amp;q=x")
	_, body = getHTML(t, srv.URL+"/?q=zz")
	has(t, body, "No breaker's name contains “zz”.")
	_, body = getHTML(t, serve(t, circuitdebug.Handler()).URL)
	has(t, body, "No breakers.")
}

// assertLink checks that the pager's link id goes to href, or is hidden when
// href is "".
func assertLink(t *testing.T, body, id, href string) {
	t.Helper()
	if href == "" {
		assert.Regexp(t, `<a id="`+id+`" href=""\s+hidden>`, body)
		return
	}
	has(t, body, `<a id="`+id+`" href="`+href+`">`)
}

func TestHTMLTransitions(t *testing.T) {
	now := time.Now()
	at := func(d time.Duration) circuit.Transition {
		return circuit.Transition{From: circuit.Closed, To: circuit.Open, At: now.Add(-d), Reason: "r" + d.String()}
	}
	src := history{
		source: source{"kept": {}, "quiet": {}, "odd": {State: circuit.State(9), Hung: 2, InFlight: 3, Rejected: 1234567},
			"odder": {State: circuit.State(8)}},
		recent: map[string][]circuit.Transition{
			"kept": {at(50 * time.Hour), at(5 * time.Hour), at(5 * time.Minute), at(-time.Second)},
			"odd":  nil,
		},
	}
	srv := serve(t, circuitdebug.Handler(src, source{"lost": {}}))

	_, body := getHTML(t, srv.URL)

	kept := row(t, body, "kept")
	assert.Less(t, strings.Index(kept, "r-1s"), strings.Index(kept, "r5m0s"), "newest first")
	assert.Regexp(t, `0s ago.*5m ago.*5h ago</span>.*<details><summary>1 earlier</summary><ol><li>.*2d ago`, kept,
		"three shown, the earlier folded; a time ahead of the page's reads as 0s")
	has(t, row(t, body, "quiet"), `<span class="muted">none</span>`)
	has(t, row(t, body, "lost"), `<span class="muted">not kept</span>`)
	odd := row(t, body, "odd")
	has(t, odd, `3 <span class="warn">2 hung</span>`)
	has(t, odd, `>1,234,567<`)
	has(t, body, `<span class="chip st-closed"><b>3</b> closed</span><span class="chip st-State(8)"><b>1</b> State(8)</span><span class="chip st-State(9)"><b>1</b> State(9)</span>`,
		"states the page does not know are counted last, by name")
}

// row returns the markup of the row of the breaker name.
func row(t *testing.T, body, name string) string {
	t.Helper()
	start := strings.Index(body, `<tr data-name="`+name+`"`)
	require.GreaterOrEqual(t, start, 0, "no row for %s", name)
	end := strings.Index(body[start:], "</tr>")
	return body[start : start+end]
}

func TestMountedUnderAPrefix(t *testing.T) {
	g := newGroup(t, "a")
	mux := http.NewServeMux()
	mux.Handle("/debug/circuit/", http.StripPrefix("/debug/circuit", circuitdebug.Handler(g)))
	mux.Handle("/status", circuitdebug.Handler(g))
	srv := serve(t, mux)

	for _, path := range []string{"/debug/circuit/", "/status"} {
		_, body := getHTML(t, srv.URL+path)
		has(t, body, `data-name="a"`, path)
		resp, body2 := get(t, srv.URL+path+"?format=json")
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Contains(t, string(body2), `"name":"a"`, path)
	}
}

func TestHEAD(t *testing.T) {
	srv := serve(t, circuitdebug.Handler(newGroup(t, "a")))
	for _, q := range []string{"", "?format=json", "?stream=1"} {
		resp, body := do(t, http.MethodHead, srv.URL+"/"+q)
		assert.Equal(t, http.StatusOK, resp.StatusCode, q)
		assert.Empty(t, body, q)
	}
}
