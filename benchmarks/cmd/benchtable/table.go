package main

import (
	"fmt"
	"io"
	"strconv"
)

// floorOf names the floor each workload is divided by in the "× floor"
// column: what any breaker must do on that path on this machine, measured
// in the same run (floor_test.go).
var floorOf = map[string]string{
	"ClosedSuccess":            "FloorClockAtomic",
	"ClosedSuccessParallel":    "FloorClockAtomicParallel",
	"OpenRejection":            "FloorClock",
	"ConsecutiveOnly":          "FloorAtomic",
	"FailureRecording":         "FloorClockAtomic",
	"FailureRecordingParallel": "FloorClockAtomicParallel",
	"Store":                    "FloorClockAtomic",
	"Metrics":                  "FloorClockAtomic",
	"AllowDone":                "FloorClockAtomic",
}

// results gives the medians of a run by workload and library ("" for a
// floor).
type results map[string]*row

func index(rows []*row) results {
	r := results{}
	for _, x := range rows {
		r[x.workload+"/"+x.lib] = x
	}
	return r
}

// ns is the median ns/op of workload/lib, and whether it ran.
func (r results) ns(workload, lib string) (float64, bool) {
	x := r[workload+"/"+lib]
	if x == nil || len(x.ns) == 0 {
		return 0, false
	}
	return median(x.ns), true
}

func writeTable(w io.Writer, rows []*row, r results) {
	fmt.Fprintln(w, "| workload | library | ns/op | B/op | allocs/op | ratio to circuit | × floor |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: |")
	for _, x := range rows {
		ns := median(x.ns)
		ratio, floor := "—", "—"
		if b, ok := r.ns(x.workload, baseline); ok && b > 0 && len(x.ns) > 0 && x.lib != "" {
			ratio = fmt.Sprintf("%.2f×", ns/b)
		}
		if f, ok := r.ns(floorOf[x.workload], ""); ok && f > 0 && len(x.ns) > 0 {
			floor = fmt.Sprintf("%.2f×", ns/f)
		}
		lib := x.lib
		if lib == "" {
			lib = "(machine)"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n",
			x.workload, lib, fmtNs(ns, len(x.ns) > 0),
			fmtInt(median(x.bytes), x.hasBytes), fmtInt(median(x.allocs), x.hasAllocs), ratio, floor)
	}
}

func fmtNs(v float64, ok bool) string {
	switch {
	case !ok:
		return "—"
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
}

func fmtInt(v float64, ok bool) string {
	if !ok {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
