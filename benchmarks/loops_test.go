package benchmarks

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/afex/hystrix-go/hystrix"
	"github.com/eapache/go-resiliency/breaker"
	"github.com/failsafe-go/failsafe-go"
	rubyist "github.com/rubyist/circuitbreaker"
	"github.com/seed33933975/circuit"
	"github.com/sony/gobreaker/v2"
)

// ---------------------------------------------------------------------------
// Loops, one per calling convention. Each checks, untimed, that one call
// before and one after the loop give the workload's expected error (nil,
// errBoom or the library's open error): a breaker that tripped, or failed to,
// would otherwise show up only as a suspiciously good number.

func benchCircuit(b *testing.B, br *circuit.Breaker[int], fn func(context.Context) (int, error), want error) {
	ctx := context.Background()
	call := func() error { _, err := br.Execute(ctx, fn); return err }
	check(b, call, want)
	start(b)
	for range b.N {
		_, _ = br.Execute(ctx, fn)
	}
	b.StopTimer()
	check(b, call, want)
}

func benchGobreaker(b *testing.B, cb *gobreaker.CircuitBreaker[int], fn func() (int, error), want error) {
	call := func() error { _, err := cb.Execute(fn); return err }
	check(b, call, want)
	start(b)
	for range b.N {
		_, _ = cb.Execute(fn)
	}
	b.StopTimer()
	check(b, call, want)
}

func benchFailsafe(b *testing.B, ex failsafe.Executor[int], fn func() (int, error), want error) {
	call := func() error { _, err := ex.Get(fn); return err }
	check(b, call, want)
	start(b)
	for range b.N {
		_, _ = ex.Get(fn)
	}
	b.StopTimer()
	check(b, call, want)
}

// benchHystrix: hystrix.Do starts two goroutines per call (the command and
// its timeout watcher) and returns before they finish.
func benchHystrix(b *testing.B, name string, fn func() error, want error) {
	call := func() error { return hystrix.Do(name, fn, nil) }
	check(b, call, want)
	start(b)
	for range b.N {
		_ = hystrix.Do(name, fn, nil)
	}
	b.StopTimer()
	check(b, call, want)
}

// benchRubyist calls with timeout 0: with any other, Call runs fn in a
// goroutine of its own.
func benchRubyist(b *testing.B, cb *rubyist.Breaker, fn func() error, want error) {
	call := func() error { return cb.Call(fn, 0) }
	check(b, call, want)
	start(b)
	for range b.N {
		_ = cb.Call(fn, 0)
	}
	b.StopTimer()
	check(b, call, want)
}

func benchResiliency(b *testing.B, br *breaker.Breaker, fn func() error, want error) {
	call := func() error { return br.Run(fn) }
	check(b, call, want)
	start(b)
	for range b.N {
		_ = br.Run(fn)
	}
	b.StopTimer()
	check(b, call, want)
}

// start reports allocations and restarts the timer after the untimed setup.
func start(b *testing.B) {
	b.ReportAllocs()
	b.ResetTimer()
}

func check(b *testing.B, call func() error, want error) {
	b.Helper()
	if err := call(); !errors.Is(err, want) {
		b.Fatalf("call returned %v, want %v", err, want)
	}
}

// tripHystrix fails calls until the command's circuit is open. hystrix-go
// feeds its health figures to a metrics goroutine through a channel, so the
// trip shows only after that goroutine has caught up.
func tripHystrix(b *testing.B, name string) {
	b.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := hystrix.Do(name, failRun, nil); errors.Is(err, hystrix.ErrCircuitOpen) {
			return
		}
		time.Sleep(time.Millisecond)
	}
	b.Fatalf("hystrix command %q did not open within 10s", name)
}
