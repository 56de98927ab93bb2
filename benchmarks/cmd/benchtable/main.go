// Command benchtable runs the side-by-side benchmarks of this module and
// prints them as Markdown: a table with one row per workload and library
// (the median ns/op over the runs, B/op, allocs/op, the ratio of each
// library's ns/op to circuit's in the same workload, and to the machine's
// floor under the workload), then DESIGN.md's performance targets, each with
// its measured ratio and whether it holds. Every figure comes from the same
// run: the floors (floor_test.go) are benchmarks of this module too.
//
// From the repository root:
//
//	go -C benchmarks run ./cmd/benchtable -count 5
//
// -count N runs N rounds of the whole set, not N runs of each benchmark back
// to back (as go test -count does): a shared machine's speed drifts over
// minutes, and a benchmark and its floor sampled minutes apart would show the
// drift in their ratio. Sampled in the same rounds, they share it.
//
// The raw benchmark output goes to stderr as it comes; the tables go to
// stdout. With -in FILE (or -in - for stdin) it parses saved
// `go test -bench -benchmem` output instead of running the benchmarks.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// baseline is the library every ratio is taken against.
const baseline = "circuit"

func main() {
	count := flag.Int("count", envInt("BENCH_COUNT", 1), "rounds of the whole set; the table shows each benchmark's median ns/op (default $BENCH_COUNT, else 1)")
	bench := flag.String("bench", ".", "benchmarks to run, as go test -bench")
	benchtime := flag.String("benchtime", "", "passed to go test -benchtime when set")
	in := flag.String("in", "", "parse this saved benchmark output (- for stdin) instead of running go test")
	flag.Parse()

	out, err := input(*in, *count, *bench, *benchtime)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	rows := parse(out)
	if len(rows) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark results found")
		os.Exit(1)
	}
	r := index(rows)
	writeTable(os.Stdout, rows, r)
	fmt.Println()
	writeTargets(os.Stdout, r)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// input returns the benchmark output to parse: the saved file, or a fresh
// go test run in the module that holds the current directory.
func input(in string, count int, bench, benchtime string) ([]byte, error) {
	switch in {
	case "":
	case "-":
		return io.ReadAll(os.Stdin)
	default:
		return os.ReadFile(in)
	}
	if count < 1 {
		return nil, fmt.Errorf("-count %d is below 1", count)
	}
	dir, err := moduleDir()
	if err != nil {
		return nil, err
	}
	bin, cleanup, err := build(dir)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	args := []string{"-test.run", "^$", "-test.bench", bench, "-test.benchmem"}
	if benchtime != "" {
		args = append(args, "-test.benchtime", benchtime)
	}
	var buf bytes.Buffer
	for round := 1; round <= count; round++ {
		fmt.Fprintf(os.Stderr, "# round %d of %d: (cd %s && %s %s)\n", round, count, dir, bin, strings.Join(args, " "))
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Stdout = io.MultiWriter(&buf, os.Stderr)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("benchmarks, round %d: %w", round, err)
		}
	}
	return buf.Bytes(), nil
}

// build compiles the module's benchmarks into a binary, so that each round
// runs the same code, and returns it with what removes it.
func build(dir string) (bin string, cleanup func(), err error) {
	tmp, err := os.MkdirTemp("", "benchtable")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(tmp) }
	bin = filepath.Join(tmp, "benchmarks.test")
	cmd := exec.Command("go", "test", "-c", "-o", bin, ".")
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go test -c: %w", err)
	}
	return bin, cleanup, nil
}

// moduleDir is the root of the Go module that holds the working directory, so
// that the command works from anywhere inside benchmarks/.
func moduleDir() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module; run from the benchmarks directory")
	}
	return filepath.Dir(gomod), nil
}

// row gathers every run of one sub-benchmark.
type row struct {
	workload, lib       string
	ns, bytes, allocs   []float64
	hasBytes, hasAllocs bool
	custom              map[string][]float64 // b.ReportMetric units, such as B/breaker
}

// parse reads standard benchmark result lines:
//
//	BenchmarkClosedSuccess/circuit-2  	50000000	  23.1 ns/op	  0 B/op	  0 allocs/op
//
// Names are Benchmark<Workload>/<library>, or Benchmark<Floor> for the
// machine's floors, with the -GOMAXPROCS suffix dropped; rows keep the order
// in which they first appear.
func parse(out []byte) []*row {
	var rows []*row
	byName := map[string]*row{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue // not a result line (e.g. a log line that starts with the name)
		}
		name := stripProcs(strings.TrimPrefix(f[0], "Benchmark"))
		r := byName[name]
		if r == nil {
			workload, lib, _ := strings.Cut(name, "/")
			r = &row{workload: workload, lib: lib}
			byName[name] = r
			rows = append(rows, r)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				r.ns = append(r.ns, v)
			case "B/op":
				r.bytes, r.hasBytes = append(r.bytes, v), true
			case "allocs/op":
				r.allocs, r.hasAllocs = append(r.allocs, v), true
			default:
				if r.custom == nil {
					r.custom = map[string][]float64{}
				}
				r.custom[f[i+1]] = append(r.custom[f[i+1]], v)
			}
		}
	}
	return rows
}

// stripProcs drops the "-N" GOMAXPROCS suffix that go test adds to a name.
func stripProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name
	}
	return name[:i]
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
