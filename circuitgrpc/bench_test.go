package circuitgrpc_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/seed33933975/circuit/circuitgrpc"
)

// The interceptor's cost on the call path, against the bare call to the same
// server over loopback TCP (DESIGN: at most 1.02× the bare call). Compare
// the two with benchstat over several runs:
//
//	go test -run '^$' -bench UnaryBare\|UnaryInterceptor -count 6

func BenchmarkUnaryBare(b *testing.B) {
	benchUnary(b, nil)
}

func BenchmarkUnaryInterceptor(b *testing.B) {
	ic, err := circuitgrpc.New()
	if err != nil {
		b.Fatal(err)
	}
	benchUnary(b, ic)
}

// BenchmarkUnaryPaired alternates a bare call and an intercepted one to the
// same server and reports their mean times and ratio. On a shared machine
// the load moves between the runs of the two benchmarks above; here both
// see the same load, so the ratio holds still where theirs does not.
func BenchmarkUnaryPaired(b *testing.B) {
	ic, err := circuitgrpc.New()
	if err != nil {
		b.Fatal(err)
	}
	srv := startServer(b)
	calls := [2]func() error{benchClient(b, srv, nil), benchClient(b, srv, ic)}
	var spent [2]time.Duration
	n := 0
	for b.Loop() {
		// Alternate which goes first, so that neither always finds the
		// server's goroutines warm.
		for k := range 2 {
			side := (n + k) % 2
			start := time.Now()
			if err := calls[side](); err != nil {
				b.Fatal(err)
			}
			spent[side] += time.Since(start)
		}
		n++
	}
	b.ReportMetric(float64(spent[0].Nanoseconds())/float64(n), "bare-ns/call")
	b.ReportMetric(float64(spent[1].Nanoseconds())/float64(n), "intercepted-ns/call")
	b.ReportMetric(float64(spent[1])/float64(spent[0]), "ratio")
}

// benchClient returns a func that makes one successful unary call to srv,
// through ic's interceptor or bare when ic is nil. The connection is made
// before it returns, outside any timing, and closed when b ends.
func benchClient(b *testing.B, srv *testServer, ic *circuitgrpc.Interceptors) func() error {
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if ic != nil {
		opts = append(opts, grpc.WithUnaryInterceptor(ic.Unary()))
	}
	cc, err := grpc.NewClient(srv.addr, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cc.Close() })
	ctx := context.Background()
	req, out := wrapperspb.String(""), new(wrapperspb.StringValue)
	call := func() error { return cc.Invoke(ctx, mCall, req, out) }
	if err := call(); err != nil {
		b.Fatal(err)
	}
	return call
}

// benchUnary makes closed-breaker unary calls that succeed, through ic's
// interceptor, or bare when ic is nil.
func benchUnary(b *testing.B, ic *circuitgrpc.Interceptors) {
	call := benchClient(b, startServer(b), ic)
	b.ReportAllocs()
	for b.Loop() {
		if err := call(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInterceptorOnly is the interceptor's own cost per call, with an
// invoker that does nothing: the difference the two benchmarks above
// measure, without the network's noise.
func BenchmarkInterceptorOnly(b *testing.B) {
	ic, err := circuitgrpc.New()
	if err != nil {
		b.Fatal(err)
	}
	cc, err := grpc.NewClient("127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	unary := ic.Unary()
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := unary(ctx, mCall, nil, nil, cc, invoker); err != nil {
			b.Fatal(err)
		}
	}
}
