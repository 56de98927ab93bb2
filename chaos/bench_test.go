package chaos_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seed33933975/circuit/chaos"
)

var sink int

func trivial(context.Context) (int, error) { return 1, nil }

// benchCalls runs call b.N times, as a handler would call its dependency.
func benchCalls(b *testing.B, call func(context.Context) (int, error)) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, _ := call(ctx)
		sink += v
	}
}

// BenchmarkDirect is the floor: the trivial function called without an
// injector, through a func value as Wrap's callers do.
func BenchmarkDirect(b *testing.B) {
	var call func(context.Context) (int, error) = trivial
	benchCalls(b, call)
}

// BenchmarkDisabled is what a disabled injector adds to a call: one atomic
// load.
func BenchmarkDisabled(b *testing.B) {
	in, err := chaos.New(1, chaos.Error(0.5, errors.New("x")), chaos.Latency(0.5, time.Second))
	if err != nil {
		b.Fatal(err)
	}
	in.Disable()
	benchCalls(b, chaos.Wrap(in, trivial))
}

// BenchmarkEnabledNoFire is what an enabled injector adds to a call that no
// fault fires on: the call's number and one draw per fault.
func BenchmarkEnabledNoFire(b *testing.B) {
	in, err := chaos.New(1, chaos.Error(0, errors.New("x")), chaos.Latency(0, time.Second))
	if err != nil {
		b.Fatal(err)
	}
	benchCalls(b, chaos.Wrap(in, trivial))
}
