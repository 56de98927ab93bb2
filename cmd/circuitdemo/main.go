// Command circuitdemo shows a circuit breaker at work. It starts a flaky
// HTTP server on 127.0.0.1 and calls it at a steady rate through a
// circuithttp.Transport. The run has three phases: healthy, then down
// (errors and stalled responses), then recovered. The demo prints a line per
// tick and every change of the breaker's state, with its reason, as it
// happens. At the end it prints what the breaker saved the callers.
//
//	go run ./cmd/circuitdemo
//	go run ./cmd/circuitdemo -svg timeline.svg -rate 50 -down 10s
//
// With -http ADDR it also serves, while it runs, the live status page
// (package circuitdebug) at / and Prometheus metrics (package circuitprom)
// at /metrics. It stops early on Ctrl-C, still printing the summary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"
)

// config is what a run needs; flags set it.
type config struct {
	Rate        float64       // calls per second
	Tick        time.Duration // one timeline line per tick
	Healthy     time.Duration // phase lengths
	Down        time.Duration
	Recovered   time.Duration
	Stall       time.Duration // how long a stalled response takes while the server is down
	Timeout     time.Duration // the client's timeout per call
	Failures    int           // consecutive failures that trip the breaker; 0: rule off
	FailureRate float64       // failure rate that trips it; 0: rule off
	MinCalls    int           // calls in the window before the failure rate counts
	OpenTimeout time.Duration
	Trials      int    // trial calls per half-open round
	HTTP        string // address for the status page and /metrics; "": none
}

func defaultConfig() config {
	return config{
		Rate:        20,
		Tick:        time.Second,
		Healthy:     5 * time.Second,
		Down:        8 * time.Second,
		Recovered:   7 * time.Second,
		Stall:       time.Second,
		Timeout:     300 * time.Millisecond,
		Failures:    5,
		FailureRate: 0.5,
		MinCalls:    10,
		OpenTimeout: 2 * time.Second,
		Trials:      3,
	}
}

func (c config) total() time.Duration { return c.Healthy + c.Down + c.Recovered }

// check reports the first flag value a run cannot use. The breaker's own
// options are checked by circuit itself when the run starts.
func (c config) check() error {
	switch {
	case !(c.Rate > 0 && c.Rate <= 10000):
		return fmt.Errorf("-rate %v outside (0, 10000]", c.Rate)
	case c.Tick <= 0:
		return fmt.Errorf("-tick %v is not positive", c.Tick)
	case c.Healthy < 0 || c.Down < 0 || c.Recovered < 0:
		return fmt.Errorf("phase lengths -healthy %v, -down %v, -recovered %v: none may be negative", c.Healthy, c.Down, c.Recovered)
	case c.total() <= 0:
		return errors.New("phase lengths -healthy, -down and -recovered add up to zero")
	case c.Stall <= 0:
		return fmt.Errorf("-stall %v is not positive", c.Stall)
	case c.Timeout <= 0:
		return fmt.Errorf("-timeout %v is not positive", c.Timeout)
	}
	return nil
}

// parseFlags reads the command line into a config and the SVG path ("" for
// none). It prints what is wrong with the command line to errOut, and returns
// that as its error. -h prints the usage to errOut and returns flag.ErrHelp.
func parseFlags(args []string, errOut io.Writer) (config, string, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("circuitdemo", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var svg string
	fs.StringVar(&svg, "svg", "", "also write a chart of the run to this `file` (SVG, opens in a browser)")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "calls per second from the client")
	fs.DurationVar(&cfg.Tick, "tick", cfg.Tick, "one timeline line per `interval`")
	fs.DurationVar(&cfg.Healthy, "healthy", cfg.Healthy, "length of the healthy phase")
	fs.DurationVar(&cfg.Down, "down", cfg.Down, "length of the down phase: the server answers 503 or stalls")
	fs.DurationVar(&cfg.Recovered, "recovered", cfg.Recovered, "length of the recovered phase")
	fs.DurationVar(&cfg.Stall, "stall", cfg.Stall, "how long a stalled response takes while the server is down")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "the client's timeout per call")
	fs.IntVar(&cfg.Failures, "failures", cfg.Failures, "consecutive failures that trip the breaker (0: rule off)")
	fs.Float64Var(&cfg.FailureRate, "failure-rate", cfg.FailureRate, "failure rate in (0, 1] that trips the breaker (0: rule off)")
	fs.IntVar(&cfg.MinCalls, "min-calls", cfg.MinCalls, "calls in the breaker's 30s window before -failure-rate applies")
	fs.DurationVar(&cfg.OpenTimeout, "open", cfg.OpenTimeout, "how long the breaker stays open before trial calls")
	fs.IntVar(&cfg.Trials, "trials", cfg.Trials, "trial calls per half-open round; all must succeed to close")
	fs.StringVar(&cfg.HTTP, "http", "", "serve the live status page at / and Prometheus metrics at /metrics on this `address` (e.g. 127.0.0.1:8080) while the demo runs")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: circuitdemo [flags]

circuitdemo starts a flaky HTTP server on 127.0.0.1 and calls it at a steady
rate through a circuit breaker (package circuithttp). The server is healthy,
then down, then recovered. A line per tick shows the breaker's state and the
calls that succeeded, failed or were rejected without being sent. Each change
of state is printed with its reason as it happens. A summary at the end shows
the latency the breaker saved.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, "", err // printed by fs, with the usage
	}
	err := cfg.check()
	if fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err != nil {
		fmt.Fprintf(errOut, "circuitdemo: %v\nRun circuitdemo -h for the flags.\n", err)
		return cfg, "", err
	}
	return cfg, svg, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// runMain is main without the process around it: it returns the exit code.
func runMain(ctx context.Context, args []string, out, errOut io.Writer) int {
	cfg, svgPath, err := parseFlags(args, errOut)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2 // parseFlags has said why
	}
	res, err := run(ctx, cfg, out)
	if err != nil {
		fmt.Fprintln(errOut, "circuitdemo:", err)
		return 1
	}
	if svgPath != "" {
		if err := writeSVGFile(svgPath, res); err != nil {
			fmt.Fprintln(errOut, "circuitdemo:", err)
			return 1
		}
		fmt.Fprintf(out, "\nwrote %s\n", svgPath)
	}
	return 0
}

func writeSVGFile(path string, res *result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeSVG(f, res); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
