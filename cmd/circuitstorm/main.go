// Command circuitstorm shows a retry storm and what stops it. A server with a
// fixed capacity (beyond it, it answers 503 at once) gets an open-loop load
// of more requests a second than it can serve, from clients that retry. For
// each client setup it prints the calls the server received per client
// request (amplification), the goodput and the p99 latency:
//
//	plain retry                      every failure retried: the load triples
//	retry + breaker                  default trip rules: trips, probes, trips
//	retry + budget                   retries capped to a share of first attempts
//	retry + budget + throttle        and adaptive throttling, trip rules kept for a dead dependency
//
// Run it with go run ./cmd/circuitstorm; -duration, -rate and -capacity
// change the scenario.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "circuitstorm:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("circuitstorm", flag.ContinueOnError)
	fs.SetOutput(out)
	sc := scenario{}
	fs.DurationVar(&sc.duration, "duration", 10*time.Second, "how long each setup runs")
	fs.IntVar(&sc.rate, "rate", 400, "client requests a second (open loop)")
	fs.IntVar(&sc.capacity, "capacity", 200, "successes a second the server can give")
	fs.IntVar(&sc.attempts, "attempts", 3, "attempts per client request, the first included")
	fs.DurationVar(&sc.backoff, "backoff", 10*time.Millisecond, "wait between attempts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if sc.duration <= 0 || sc.rate < 1 || sc.capacity < 1 || sc.attempts < 1 || sc.backoff < 0 {
		return fmt.Errorf("invalid scenario %+v", sc)
	}
	fmt.Fprintf(out, "server capacity %d/s, load %d requests/s for %v, %d attempts %v apart\n\n",
		sc.capacity, sc.rate, sc.duration, sc.attempts, sc.backoff)
	fmt.Fprintf(out, "%-28s %14s %12s %10s\n", "clients", "amplification", "goodput/s", "p99")
	for _, s := range setups {
		r, err := sc.run(ctx, s)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-28s %13.2fx %12.1f %10v\n", s.name, r.amplification(), r.goodput(sc.duration), r.p99().Round(time.Millisecond))
	}
	return nil
}
