package main

import (
	"fmt"
	"io"
	"strings"
)

// verdict is one target held against a run.
type verdict struct {
	target   string // as DESIGN.md words it
	measured string // the workload's figures
	against  string // what it is divided by or compared with
	ratio    float64
	limit    string
	holds    bool
	ran      bool   // every figure the target needs was in the run
	note     string // the machine's floor, where it puts the target out of reach
}

// figures reads a run for the targets. A workload missing from the run (a
// -bench filter) leaves its targets unjudged.
type figures struct {
	r       results
	missing bool
}

func (f *figures) ns(workload, lib string) float64 {
	v, ok := f.r.ns(workload, lib)
	f.missing = f.missing || !ok
	return v
}

// beside is a target's note on the least its path can do in Execute's own
// shape, floor name (what it does), against base, the target's floor, and
// the breaker's ns against it. ok is false when that floor did not run: the
// target is judged all the same, its note shorter.
func (f *figures) beside(what, name, base string, ns float64) (note string, ok bool) {
	fl, ok := f.r.ns(name, "")
	b, _ := f.r.ns(base, "")
	return fmt.Sprintf("%s, %s, %s ns = %.2f× %s, and the breaker %.2f× that", what, name, fmtNs(fl, true), fl/b, base, ns/fl), ok
}

func (f *figures) allocs(workload string) float64 {
	x := f.r[workload+"/"+baseline]
	if x == nil || !x.hasAllocs {
		f.missing = true
		return 0
	}
	return median(x.allocs)
}

func (f *figures) metric(workload, unit string) float64 {
	x := f.r[workload+"/"+baseline]
	if x == nil || len(x.custom[unit]) == 0 {
		f.missing = true
		return 0
	}
	return median(x.custom[unit])
}

// targets holds DESIGN.md's performance targets against the run. Those on
// adapters (circuitgrpc, observers) are measured in their own modules.
func targets(r results) []verdict {
	var v []verdict
	for _, t := range []func(results) (*figures, verdict){
		closedSuccess, closedParallel, openRejection, consecutiveOnly,
		failureRecording, metrics, allowDone, memory,
	} {
		f, x := t(r)
		x.ran = !f.missing
		v = append(v, x)
	}
	return v
}

func closedSuccess(r results) (*figures, verdict) {
	f := &figures{r: r}
	ns, fl, ex := f.ns("ClosedSuccess", baseline), f.ns("FloorClockAtomic", ""), f.ns("FloorExecuteAtomic", "")
	a := f.allocs("ClosedSuccess")
	v := verdict{target: "Closed success, default options (time window): ≤ 1.25 × FloorClockAtomic, 0 allocs",
		measured: nsAllocs(ns, a), against: "FloorClockAtomic " + fmtNs(fl, true), ratio: ns / fl, limit: "1.25×",
		holds: ns <= 1.25*fl && a == 0,
		note: fmt.Sprintf("the success reads no clock (a timer marks the end of each of the window's periods); "+
			"Execute's own shape (admit, panic guard, fn, ctx check) with one add and no clock read, "+
			"FloorExecuteAtomic, is %s ns, and the breaker %.2f× that", fmtNs(ex, true), ns/ex)}
	if s, ok := f.beside("the least a breaker that reads the clock can do keeping each rule DESIGN.md sets for a success",
		"FloorExecuteRules", "FloorClockAtomic", ns); ok {
		v.note += "; " + s
	}
	return f, v
}

func closedParallel(r results) (*figures, verdict) {
	f := &figures{r: r}
	ns, fl, a := f.ns("ClosedSuccessParallel", baseline), f.ns("FloorClockAtomicParallel", ""), f.allocs("ClosedSuccessParallel")
	return f, verdict{target: "Closed success, RunParallel: ≤ 1.25 × FloorClockAtomicParallel, 0 allocs",
		measured: nsAllocs(ns, a), against: "FloorClockAtomicParallel " + fmtNs(fl, true), ratio: ns / fl, limit: "1.25×",
		holds: ns <= 1.25*fl && a == 0}
}

func openRejection(r results) (*figures, verdict) {
	f := &figures{r: r}
	ns, fl, at := f.ns("OpenRejection", baseline), f.ns("FloorClock", ""), f.ns("FloorAtomic", "")
	a := f.allocs("OpenRejection")
	v := verdict{target: "Open rejection (timed open): ≤ 1.25 × FloorClock, 0 allocs",
		measured: nsAllocs(ns, a), against: "FloorClock " + fmtNs(fl, true), ratio: ns / fl, limit: "1.25×",
		holds: ns <= 1.25*fl && a == 0,
		note: fmt.Sprintf("until the open period's timer fires a rejection reads no clock: it loads the state and the period "+
			"and counts itself for Metrics.Rejected with an atomic add (FloorAtomic, %s ns), and the breaker is %.2f× that add",
			fmtNs(at, true), ns/at)}
	if s, ok := f.beside("a rejection that reads the clock, in Execute's shape", "FloorReject", "FloorClock", ns); ok {
		v.note += "; " + s
	}
	return f, v
}

func failureRecording(r results) (*figures, verdict) {
	f := &figures{r: r}
	ns, gb, a := f.ns("FailureRecording", baseline), f.ns("FailureRecording", "gobreaker"), f.allocs("FailureRecording")
	return f, verdict{target: "Failure recording (rate rule checked): ≥ 2 × faster than sony/gobreaker v2, 0 allocs",
		measured: nsAllocs(ns, a), against: "gobreaker " + fmtNs(gb, true), ratio: gb / ns, limit: "≥ 2× faster",
		holds: gb >= 2*ns && a == 0}
}

func metrics(r results) (*figures, verdict) {
	f := &figures{r: r}
	ns, fl, a := f.ns("Metrics", baseline), f.ns("FloorClockAtomic", ""), f.allocs("Metrics")
	v := verdict{target: "Metrics(): ≤ 3 × FloorClockAtomic, 0 allocs",
		measured: nsAllocs(ns, a), against: "FloorClockAtomic " + fmtNs(fl, true), ratio: ns / fl, limit: "3×",
		holds: ns <= 3*fl && a == 0}
	if s, ok := f.beside("reading the clock and the default window's 30 counters (the totals take all 36 of the ring)",
		"FloorRead", "FloorClockAtomic", ns); ok {
		v.note = s + " (while the window's timer runs, Metrics takes the current period from it, not from the clock)"
	}
	return f, v
}

func allowDone(r results) (*figures, verdict) {
	f := &figures{r: r}
	ns, fl, fa := f.ns("AllowDone", baseline), f.ns("FloorClockAtomic", ""), f.ns("FloorFuncAlloc", "")
	a, lim := f.allocs("AllowDone"), fl+fa+30
	v := verdict{target: "Allow + done: ≤ FloorClockAtomic + one func allocation + 30 ns, ≤ 1 alloc",
		measured: nsAllocs(ns, a), against: fmt.Sprintf("%s + %s + 30 = %s ns", fmtNs(fl, true), fmtNs(fa, true), fmtNs(lim, true)),
		ratio: ns / lim, limit: "1×", holds: ns <= lim && a <= 1}
	if fd, ok := f.r.ns("FloorAllowDone", ""); ok {
		v.note = fmt.Sprintf("with done idempotent on one allocation (a pooled record and a CAS), FloorAllowDone, "+
			"%s ns = %.2f× the limit, and the breaker %.2f× that", fmtNs(fd, true), fd/lim, ns/fd)
	}
	return f, v
}

func memory(r results) (*figures, verdict) {
	f := &figures{r: r}
	m := f.metric("MemoryPerBreaker", "B/breaker")
	return f, verdict{target: "Memory of one breaker, default options: ≤ 2 KiB",
		measured: fmt.Sprintf("%.0f B", m), against: "2048 B", ratio: m / 2048, limit: "1×", holds: m <= 2048}
}

// consecutiveOnly holds "≤ 15 ns/op where an atomic add costs ≤ 4 ns": on a
// machine where it costs more, the target does not apply as written, and
// the run says so with the floors it measured.
func consecutiveOnly(r results) (*figures, verdict) {
	f := &figures{r: r}
	ns, at, ex := f.ns("ConsecutiveOnly", baseline), f.ns("FloorAtomic", ""), f.ns("FloorExecuteAtomic", "")
	a := f.allocs("ConsecutiveOnly")
	v := verdict{target: "Consecutive-failures rule alone, count window: ≤ 15 ns/op where an atomic add costs ≤ 4 ns",
		measured: nsAllocs(ns, a), against: "15 ns", ratio: ns / 15, limit: "1×", holds: ns <= 15 && at <= 4,
		note: fmt.Sprintf("an atomic add (FloorAtomic) costs %s ns here; Execute's shape with one add, FloorExecuteAtomic, "+
			"is %s ns, and the breaker %.2f× that", fmtNs(at, true), fmtNs(ex, true), ns/ex)}
	if at > 4 {
		v.limit = "n/a"
		v.note = "does not apply as written: " + v.note
	}
	return f, v
}

func nsAllocs(ns, allocs float64) string {
	return fmt.Sprintf("%s ns, %s allocs", fmtNs(ns, true), fmtInt(allocs, true))
}

func writeTargets(w io.Writer, r results) {
	fmt.Fprintln(w, "Targets (DESIGN.md, Performance targets), on the medians above:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | measured | against | ratio | limit | holds |")
	fmt.Fprintln(w, "| --- | --- | --- | ---: | ---: | --- |")
	var hold, fail, unjudged []string
	vs := targets(r)
	for _, v := range vs {
		name, _, _ := strings.Cut(v.target, ":")
		verdict := "no"
		switch {
		case !v.ran:
			verdict = "not run"
			unjudged = append(unjudged, name)
		case v.limit == "n/a":
			verdict = "n/a"
			unjudged = append(unjudged, name)
		case v.holds:
			verdict = "yes"
			hold = append(hold, name)
		default:
			fail = append(fail, name)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.2f× | %s | %s |\n", v.target, v.measured, v.against, v.ratio, v.limit, verdict)
	}
	fmt.Fprintln(w)
	for _, v := range vs {
		if v.ran && v.note != "" {
			name, _, _ := strings.Cut(v.target, ":")
			fmt.Fprintf(w, "- %s: %s.\n", name, v.note)
		}
	}
	fmt.Fprintf(w, "\nHold (%d): %s.\n", len(hold), list(hold))
	fmt.Fprintf(w, "Do not hold (%d): %s.\n", len(fail), list(fail))
	if len(unjudged) > 0 {
		fmt.Fprintf(w, "Not judged (%d): %s.\n", len(unjudged), list(unjudged))
	}
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "; ")
}
