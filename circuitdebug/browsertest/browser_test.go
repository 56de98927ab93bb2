package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitdebug"
)

// The page is mounted as a service would mount it, under a prefix.
const mount = "/debug/circuit/"

func TestStatusPageInChromium(t *testing.T) {
	exe := chromium(t)
	d := newDemo(t)
	srv := serve(t, d.group)
	ctx, problems := browser(t, exe)

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+mount)))
	waitFor(t, ctx, 5*time.Second, `document.getElementById("live-text").textContent === "live"`)
	eval[bool](t, ctx, `window.sameDocument = true`)
	headers := eval[[]string](t, ctx, `[...document.querySelectorAll("table thead th")].map((th) => th.textContent)`)
	for _, h := range []string{"Name", "State", "Failure rate", "Slow rate", "Calls", "In flight",
		"Successes", "Failures", "Slow", "Excluded", "Rejected", "Trips"} {
		assert.Contains(t, headers, h, "the table has a header for each figure")
	}
	assert.Equal(t, "closed", rowState(t, ctx, "payments"))

	d.tripPayments()
	tripped := time.Now()
	waitFor(t, ctx, 2*time.Second, `document.querySelector('tr[data-name="payments"]')?.dataset.state === "open"`)
	t.Logf("the payments row turned open %v after the trip", time.Since(tripped).Round(time.Millisecond))
	assert.Equal(t, "open", eval[string](t, ctx, `document.querySelector('tr[data-name="payments"] .badge').textContent`),
		"the state is written out, not only coloured")
	screenshot(t, ctx)

	t.Run("a name is text, never markup", func(t *testing.T) { checkEscaping(t, ctx, d) })
	t.Run("the filter applies as one types", func(t *testing.T) { checkFilter(t, ctx) })
	t.Run("the error check hears errors", func(t *testing.T) { checkListener(t, ctx) })
	assert.True(t, eval[bool](t, ctx, `window.sameDocument === true`), "the page changed without a reload")
	assert.Empty(t, problems(), "the page logged errors")
}

// checkEscaping adds a breaker whose name is markup, and checks that the live
// update shows it as text.
func checkEscaping(t *testing.T, ctx context.Context, d *demo) {
	const evil = `<img src=x onerror="window.injected=1">`
	d.group.Get(evil)
	name, err := json.Marshal(evil)
	require.NoError(t, err)
	waitFor(t, ctx, 2*time.Second, `[...document.querySelectorAll("#rows td.name")].some((td) => td.textContent === `+string(name)+`)`)
	assert.True(t, eval[bool](t, ctx, `document.querySelector("#rows img") === null && window.injected === undefined`))
}

// checkFilter types into the filter box and waits for the rows to follow,
// with the URL.
func checkFilter(t *testing.T, ctx context.Context) {
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#q"), "geo/")))
	waitFor(t, ctx, 3*time.Second, `document.querySelectorAll("#rows tr").length === 2`)
	assert.Equal(t, []string{"geo/eu-west", "geo/us-east"},
		eval[[]string](t, ctx, `[...document.querySelectorAll("#rows tr")].map((tr) => tr.dataset.name)`))
	assert.Equal(t, "Showing 1–2 of 2 matching “geo/”", eval[string](t, ctx, `document.getElementById("shown").textContent`))
	assert.Equal(t, "?q=geo%2F", eval[string](t, ctx, `location.search`), "a reload would show the same rows")
}

// checkListener shows that the check for errors is no formality: in another
// tab, a page that throws, logs an error and fails a load is heard three times.
func checkListener(t *testing.T, ctx context.Context) {
	tab, closeTab := chromedp.NewContext(ctx)
	defer closeTab()
	problems := listen(t, tab)
	const page = `data:text/html,<img src="http://127.0.0.1:1/x.png"><script>console.error("logged"); throw new Error("thrown")</script>`
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(page)))
	waitFor(t, tab, 5*time.Second, `document.readyState === "complete"`)
	require.Eventually(t, func() bool { return len(problems()) >= 3 }, 5*time.Second, 20*time.Millisecond,
		"heard: %q", problems())
	got := strings.Join(problems(), "\n")
	assert.Contains(t, got, "thrown")
	assert.Contains(t, got, "logged")
	assert.Contains(t, got, "127.0.0.1:1/x.png")
}

// eval evaluates expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expression string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression))
	require.NoError(t, err, expression)
	return v
}

// chromium returns the browser's path: $CHROMIUM if set, else chromium on
// the PATH or at /usr/bin/chromium. Outside CI a machine without one skips
// the test; under CI=true that is a failure, so that CI cannot pass without
// running it.
func chromium(t *testing.T) string {
	t.Helper()
	names := []string{"chromium", "/usr/bin/chromium"}
	if env := os.Getenv("CHROMIUM"); env != "" {
		names = []string{env}
	}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("no browser at %q (Debian: apt-get install chromium); under CI=true the browser test must run", names)
	}
	t.Skipf("no browser at %q (Debian: apt-get install chromium)", names)
	return ""
}

// serve starts a server on 127.0.0.1 with the page under mount, closed when
// the test ends.
func serve(t *testing.T, src circuit.Source) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(mount, http.StripPrefix(strings.TrimSuffix(mount, "/"), circuitdebug.Handler(src)))
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// browser starts a headless chromium with a fresh profile, stopped (and
// waited for) when the test ends, and returns its tab and a function that
// lists the errors the page has logged or thrown so far.
func browser(t *testing.T, exe string) (context.Context, func() []string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 540), // the page is longer: the screenshot takes all of it
	)
	limit, stop := context.WithTimeout(context.Background(), time.Minute)
	actx, acancel := chromedp.NewExecAllocator(limit, opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()  // closes the browser
		acancel() // and waits for its process
		stop()
	})
	return ctx, listen(t, ctx)
}

// listen starts collecting the errors the page of ctx logs or throws, and
// returns a function that lists them so far.
func listen(t *testing.T, ctx context.Context) func() []string {
	t.Helper()
	var mu sync.Mutex
	var problems []string
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if p := problem(ev); p != "" {
			mu.Lock()
			problems = append(problems, p)
			mu.Unlock()
		}
	}))
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

// problem describes ev if it is an error the page logged or threw: an
// uncaught exception, console.error or console.assert, or an error of the
// browser's log (a blocked or failed load, a CSP violation).
func problem(ev any) string {
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		if d.Exception != nil {
			return fmt.Sprintf("exception: %s %s (%s:%d)", d.Text, d.Exception.Description, d.URL, d.LineNumber)
		}
		return fmt.Sprintf("exception: %s (%s:%d)", d.Text, d.URL, d.LineNumber)
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return ""
		}
		var args []string
		for _, a := range ev.Args {
			args = append(args, a.Description+string(a.Value))
		}
		return "console." + string(ev.Type) + ": " + strings.Join(args, " ")
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			return fmt.Sprintf("log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		}
	}
	return ""
}

// waitFor polls the page until expression is true, for at most within.
func waitFor(t *testing.T, ctx context.Context, within time.Duration, expression string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expression,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(within)))
	require.NoError(t, err, "waiting %v for %s", within, expression)
}

// rowState returns the state the page shows for the breaker name.
func rowState(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	return eval[string](t, ctx, fmt.Sprintf(`document.querySelector('tr[data-name=%q]').dataset.state`, name))
}

// screenshot saves the page as a test artifact, and as testdata/screenshot.png
// with UPDATE_SCREENSHOT=1.
func screenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	dir := os.Getenv("TEST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, "circuitdebug-statuspage.png")
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s (%d bytes)", path, len(png))
	if os.Getenv("UPDATE_SCREENSHOT") == "1" {
		require.NoError(t, os.WriteFile(filepath.Join("testdata", "screenshot.png"), png, 0o644))
		t.Log("screenshot: testdata/screenshot.png updated")
	}
}
