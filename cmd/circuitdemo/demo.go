package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuithttp"
	"github.com/seed33933975/circuit/circuitprom"
)

// counts are calls by outcome.
type counts struct{ OK, Failed, Rejected int }

// latency sums the latencies of some calls.
type latency struct {
	N     int
	Total time.Duration
}

func (l *latency) add(d time.Duration) { l.N++; l.Total += d }

func (l latency) mean() time.Duration {
	if l.N == 0 {
		return 0
	}
	return l.Total / time.Duration(l.N)
}

// tick is one line of the timeline: the calls that ended in (previous tick,
// At], and the breaker's state at At.
type tick struct {
	At    time.Duration // since the start of the run
	Phase phase
	State circuit.State
	counts
}

// event is a change of the breaker's state.
type event struct {
	At       time.Duration // since the start of the run
	From, To circuit.State
	Reason   string
}

// result is what a run saw.
type result struct {
	Config      config
	Duration    time.Duration // from the first call until the last ended
	Ticks       []tick
	Transitions []event
	Final       circuit.State
	// Latencies by outcome.
	OK, Failed, Rejected latency
	// Reached holds the calls sent while the server was down: they reached
	// the failing server, and their callers waited for its answer.
	Reached latency
}

// Saved is the latency the rejections saved the callers. Each rejected call
// would have waited like a call that reached the failing server, but it took
// only the rejection's time.
func (r *result) Saved() time.Duration {
	if r.Reached.N == 0 {
		return 0
	}
	return time.Duration(r.Rejected.N) * max(r.Reached.mean()-r.Rejected.mean(), 0)
}

// States returns the breaker's states in order: Closed, then the To of every
// transition.
func (r *result) States() []circuit.State {
	s := []circuit.State{circuit.Closed}
	for _, e := range r.Transitions {
		s = append(s, e.To)
	}
	return s
}

// demo is one run in progress.
type demo struct {
	cfg    config
	start  time.Time
	client *http.Client

	mu     sync.Mutex // guards out and everything below
	out    io.Writer
	res    result
	cur    counts        // calls ended since the last tick
	outErr error         // the first write error
	lastAt time.Duration // of the last tick
}

// run runs the demo: it serves the flaky server, calls it through a
// circuithttp.Transport for cfg's phases, writes the timeline and the summary to
// out, and returns what it saw. It returns early, with the summary so far, when
// ctx ends. Every goroutine it starts has ended when it returns.
func run(ctx context.Context, cfg config, out io.Writer) (*result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	d := &demo{cfg: cfg, out: out}
	d.res.Config = cfg

	base := &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
	defer base.CloseIdleConnections()
	metrics := circuitprom.NewCollector()
	tr, err := circuithttp.NewTransport(base,
		circuit.WithConsecutiveFailures(cfg.Failures),
		circuit.WithFailureRate(cfg.FailureRate, cfg.MinCalls),
		circuit.WithOpenTimeout(cfg.OpenTimeout),
		circuit.WithHalfOpenTrials(cfg.Trials),
		circuit.WithOnStateChange(d.onTransition),
		circuit.WithObserver(metrics.Observer()),
	)
	if err != nil {
		return nil, err
	}
	d.client = &http.Client{Transport: tr}
	if cfg.HTTP != "" {
		metrics.Add(tr)
		stop, err := d.serveStatus(cfg.HTTP, tr, metrics)
		if err != nil {
			return nil, err
		}
		defer stop()
	}

	ln, err := listen()
	if err != nil {
		return nil, err
	}
	d.start = time.Now()
	srv := serve(ln, cfg, d.start)
	// The state of the server's breaker. The Transport makes it at the first
	// call; until then there is none, and zero Metrics read as closed.
	host := ln.Addr().String()
	state := func() circuit.State {
		m, _ := tr.Metrics(host)
		return m.State
	}

	d.header(srv.url())
	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		d.dispatch(ctx, srv.url())
	}()

	ticker := time.NewTicker(cfg.Tick)
	for done := false; !done; {
		select {
		case <-ticker.C:
		case <-dispatched:
			done = true
		}
		d.tick(state(), done)
	}
	ticker.Stop()

	d.res.Final = state()
	d.summary()
	base.CloseIdleConnections()
	if err := srv.close(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	res := d.res
	return &res, d.outErr
}

// dispatch starts a call every 1/Rate seconds until the phases are over or ctx
// ends, and waits for the calls to end.
func (d *demo) dispatch(ctx context.Context, url string) {
	var calls sync.WaitGroup
	defer calls.Wait()
	t := time.NewTicker(time.Duration(float64(time.Second) / d.cfg.Rate))
	defer t.Stop()
	last := phase(-1)
	for {
		at := time.Since(d.start)
		if at >= d.cfg.total() {
			return
		}
		if p := d.cfg.phaseAt(at); p != last {
			last = p
			d.printf("%s  ── %s: %s\n", elapsed(at), p, d.cfg.describe(p))
		}
		calls.Add(1)
		go func() {
			defer calls.Done()
			d.call(ctx, url, d.cfg.phaseAt(at))
		}()
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// call makes one call and records its outcome. p is the phase it started in.
func (d *demo) call(ctx context.Context, url string, p phase) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		panic(err) // the URL is ours: cannot happen
	}
	began := time.Now()
	resp, err := d.client.Do(req)
	if err == nil {
		// Drain the body so that the connection is reused.
		_, err = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	took := time.Since(began)
	if ctx.Err() == context.Canceled {
		return // the run was stopped: this call says nothing
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case errors.Is(err, circuit.ErrOpen) || errors.Is(err, circuit.ErrTooManyRequests):
		d.cur.Rejected++
		d.res.Rejected.add(took)
		return
	case err != nil || circuithttp.DefaultFailureStatus(resp.StatusCode):
		d.cur.Failed++
		d.res.Failed.add(took)
	default:
		d.cur.OK++
		d.res.OK.add(took)
	}
	if p == down {
		d.res.Reached.add(took)
	}
}

// onTransition is the breaker's WithOnStateChange: it prints the change as it
// happens. At is the breaker's own time of the change. For open → half-open
// that is the end of the open period, which may be a little before the call
// or read that noticed it.
func (d *demo) onTransition(t circuit.Transition) {
	at := max(t.At.Sub(d.start), 0)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.res.Transitions = append(d.res.Transitions, event{At: at, From: t.From, To: t.To, Reason: t.Reason})
	d.writef("%s  ▸ %-22s %s\n", elapsed(at), t.From.String()+" → "+t.To.String(), t.Reason)
}

func (d *demo) header(url string) {
	c := d.cfg
	var rules []string
	if c.Failures > 0 {
		rules = append(rules, fmt.Sprintf("%d consecutive failures", c.Failures))
	}
	if c.FailureRate > 0 {
		rules = append(rules, fmt.Sprintf("a failure rate of %g%% over at least %d calls", c.FailureRate*100, c.MinCalls))
	}
	d.printf("circuitdemo: calling a flaky server at %s, %g calls/s, through circuithttp\n", url, c.Rate)
	d.printf("phases:  healthy %v, down %v, recovered %v\n", c.Healthy, c.Down, c.Recovered)
	d.printf("breaker: opens on %s; stays open %v; then %d trial calls\n\n",
		strings.Join(rules, " or "), c.OpenTimeout, c.Trials)
	d.printf("%8s  %-9s  %-9s  %6s  %6s  %8s\n", "time", "phase", "state", "ok", "failed", "rejected")
}

// tick prints the timeline line for the calls that ended since the last one.
// The last tick, at the end of the run, is printed only if it saw calls or
// time.
func (d *demo) tick(st circuit.State, last bool) {
	at := time.Since(d.start)
	d.mu.Lock()
	defer d.mu.Unlock()
	if last && d.cur == (counts{}) && at-d.lastAt < d.cfg.Tick/10 {
		d.res.Duration = at
		return
	}
	// The phase the tick's calls mostly ran in: at the middle of the tick.
	p := d.cfg.phaseAt(min((d.lastAt+at)/2, d.cfg.total()-1))
	d.res.Ticks = append(d.res.Ticks, tick{At: at, Phase: p, State: st, counts: d.cur})
	d.writef("%s  %-9s  %-9s  %6d  %6d  %8d\n", elapsed(at), p, st, d.cur.OK, d.cur.Failed, d.cur.Rejected)
	d.cur = counts{}
	d.lastAt = at
	d.res.Duration = at
}

func (d *demo) summary() {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := &d.res
	calls := r.OK.N + r.Failed.N + r.Rejected.N
	var path []string
	for _, s := range r.States() {
		path = append(path, s.String())
	}
	d.writef("\nsummary: %d calls in %s; the breaker went %s\n", calls, fmtDuration(r.Duration), strings.Join(path, " → "))
	d.writef("  %-10s %7s  %12s\n", "outcome", "calls", "mean latency")
	d.writef("  %-10s %7d  %12s\n", "ok", r.OK.N, fmtDuration(r.OK.mean()))
	d.writef("  %-10s %7d  %12s\n", "failed", r.Failed.N, fmtDuration(r.Failed.mean()))
	d.writef("  %-10s %7d  %12s   no request sent\n", "rejected", r.Rejected.N, fmtDuration(r.Rejected.mean()))
	d.writef("while it was down, %d calls reached the failing server and waited %s on average;\n",
		r.Reached.N, fmtDuration(r.Reached.mean()))
	d.writef("%d calls were rejected in %s instead: latency saved ≈ %d × %s = %s\n",
		r.Rejected.N, fmtDuration(r.Rejected.mean()), r.Rejected.N,
		fmtDuration(max(r.Reached.mean()-r.Rejected.mean(), 0)), fmtDuration(r.Saved()))
}

// printf writes to the output under the lock.
func (d *demo) printf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writef(format, args...)
}

// writef writes to the output; d.mu must be held.
func (d *demo) writef(format string, args ...any) {
	if _, err := fmt.Fprintf(d.out, format, args...); err != nil && d.outErr == nil {
		d.outErr = err
	}
}

// elapsed formats a time into the run for the timeline's first column.
func elapsed(d time.Duration) string { return fmt.Sprintf("%7.2fs", d.Seconds()) }

// fmtDuration rounds d to three significant figures or so, to microseconds
// at least: "4µs", "151.3ms", "20.14s".
func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}
