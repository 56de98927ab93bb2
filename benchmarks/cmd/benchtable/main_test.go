package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkClosedSuccess/circuit-2         	10	 40.0 ns/op	 0 B/op	 0 allocs/op
BenchmarkClosedSuccess/circuit-2         	10	 42.0 ns/op	 0 B/op	 0 allocs/op
BenchmarkClosedSuccess/gobreaker-2       	10	160.0 ns/op	 0 B/op	 0 allocs/op
BenchmarkClosedSuccessParallel/circuit-2 	10	 50.0 ns/op	 0 B/op	 0 allocs/op
BenchmarkOpenRejection/circuit-2         	10	 36.0 ns/op	 0 B/op	 0 allocs/op
BenchmarkConsecutiveOnly/circuit-2       	10	 14.0 ns/op	 0 B/op	 0 allocs/op
BenchmarkFailureRecording/circuit-2      	10	 80.0 ns/op	 0 B/op	 0 allocs/op
BenchmarkFailureRecording/gobreaker-2    	10	170.0 ns/op	 0 B/op	 0 allocs/op
BenchmarkFloorClock-2                    	10	 30.0 ns/op
BenchmarkFloorAtomic-2                   	10	  3.5 ns/op
BenchmarkFloorClockAtomic-2              	10	 33.0 ns/op
BenchmarkFloorClockAtomicParallel-2      	10	 45.0 ns/op
BenchmarkFloorExecute-2                  	10	 38.0 ns/op
BenchmarkFloorExecuteAtomic-2            	10	 12.0 ns/op
BenchmarkFloorFuncAlloc-2                	10	 30.0 ns/op	 32 B/op	 1 allocs/op
BenchmarkMetrics/circuit-2               	10	100.0 ns/op	 0 B/op	 0 allocs/op
BenchmarkAllowDone/circuit-2             	10	 90.0 ns/op	32 B/op	 1 allocs/op
BenchmarkMemoryPerBreaker/circuit-2      	10	 99 ns/op	1808 B/breaker	 1808000 B/op	 7000 allocs/op
`

func TestTargetsAreHeldAgainstTheFloorsOfTheSameRun(t *testing.T) {
	rows := parse([]byte(sample))
	r := index(rows)
	got := map[string]verdict{}
	for _, v := range targets(r) {
		name, _, _ := strings.Cut(v.target, ":")
		got[name] = v
	}
	for name, holds := range map[string]bool{
		"Closed success, default options (time window)": true,  // 41 <= 1.25*33
		"Closed success, RunParallel":                   true,  // 50 <= 56.25
		"Open rejection (timed open)":                   true,  // 36 <= 37.5
		"Consecutive-failures rule alone, count window": true,  // 14 <= 15 with an add of 3.5
		"Failure recording (rate rule checked)":         true,  // 170 >= 2*80
		"Metrics()":                                     false, // 100 > 99
		"Allow + done":                                  true,  // 90 <= 33+30+30
		"Memory of one breaker, default options":        true,
	} {
		v, ok := got[name]
		if !ok || !v.ran {
			t.Fatalf("%s: not judged", name)
		}
		if v.holds != holds {
			t.Errorf("%s: holds %v, want %v (%+v)", name, v.holds, holds, v)
		}
	}
	if v := got["Closed success, default options (time window)"]; v.ratio < 1.24 || v.ratio > 1.25 {
		t.Errorf("closed success ratio %.3f, want 41/33", v.ratio)
	}
}

func TestTableHasAFloorColumnAndSaysWhichTargetsHold(t *testing.T) {
	rows := parse([]byte(sample))
	var out bytes.Buffer
	r := index(rows)
	writeTable(&out, rows, r)
	writeTargets(&out, r)
	s := out.String()
	for _, want := range []string{
		"| ratio to circuit | × floor |",
		"| ClosedSuccess | circuit | 41.0 | 0 | 0 | 1.00× | 1.24× |",
		"| FloorClock | (machine) | 30.0 |",
		"Hold (7):",
		"Do not hold (1): Metrics().",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

func TestAConsecutiveOnlyTargetNeedsACheapAtomicAdd(t *testing.T) {
	r := index(parse([]byte(strings.Replace(sample, "3.5 ns/op", "6.0 ns/op", 1))))
	_, v := consecutiveOnly(r)
	if v.holds || v.limit != "n/a" {
		t.Errorf("with an atomic add of 6 ns the target does not apply: %+v", v)
	}
}

func TestAWorkloadMissingFromTheRunLeavesItsTargetUnjudged(t *testing.T) {
	r := index(parse([]byte(strings.Replace(sample, "BenchmarkMetrics/circuit", "BenchmarkOther/circuit", 1))))
	for _, v := range targets(r) {
		if strings.HasPrefix(v.target, "Metrics()") && v.ran {
			t.Errorf("Metrics judged without its workload: %+v", v)
		}
	}
}

func TestNotesDivideByTheFloorsOfEachPathWhenTheyRan(t *testing.T) {
	withFloors := sample + `BenchmarkFloorExecuteWindow-2            	10	 40.0 ns/op
BenchmarkFloorExecuteRules-2             	10	 41.0 ns/op
BenchmarkFloorReject-2                   	10	 34.0 ns/op
BenchmarkFloorRead-2                     	10	 55.0 ns/op
BenchmarkFloorAllowDone-2                	10	 80.0 ns/op	 24 B/op	 1 allocs/op
`
	var out bytes.Buffer
	writeTargets(&out, index(parse([]byte(withFloors))))
	for _, want := range []string{
		"FloorExecuteAtomic, is 12.0 ns, and the breaker 3.42× that",
		"FloorExecuteRules, 41.0 ns = 1.24× FloorClockAtomic, and the breaker 1.00× that",
		"FloorAtomic, 3.50 ns), and the breaker is 10.29× that add",
		"FloorReject, 34.0 ns = 1.13× FloorClock, and the breaker 1.06× that",
		"FloorRead, 55.0 ns = 1.67× FloorClockAtomic, and the breaker 1.82× that",
		"FloorAllowDone, 80.0 ns = 0.86× the limit, and the breaker 1.12× that",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("targets lack %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	writeTargets(&out, index(parse([]byte(sample))))
	if s := out.String(); strings.Contains(s, "FloorReject") || strings.Contains(s, "FloorExecuteRules") || strings.Contains(s, "FloorAllowDone") || !strings.Contains(s, "Hold (7):") {
		t.Errorf("without those floors the notes name none and every target is judged:\n%s", s)
	}
}
