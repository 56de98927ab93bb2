package circuitgrpc_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitgrpc"
	"github.com/seed33933975/circuit/circuittest"
)

// The test service, written by hand with grpc.ServiceDesc so that no protoc
// is needed. Every method takes a wrapperspb.StringValue holding a URL query
// that tells the server what to do:
//
//	code=N       end with status code N (default OK)
//	pushback=MS  put grpc-retry-pushback-ms: MS in the trailer
//	trailer=V    put x-test: V in the trailer
//	delay=D      before ending, wait D (a Go duration) or until the call's
//	             context ends; the server signals arrived first
//	n=N          Stream only: send N messages first, then end as above
//
// Unary replies echo the query. Collect (client streaming) reads messages
// until the client closes, then ends as its first message asks, replying
// with the count.
const (
	service  = "circuitgrpc.test.Echo"
	mCall    = "/" + service + "/Call"
	mOther   = "/" + service + "/Other"
	mStream  = "/" + service + "/Stream"
	mCollect = "/" + service + "/Collect"
	mHealth  = "/grpc.health.v1.Health/Check"
)

var (
	streamDesc  = &grpc.StreamDesc{StreamName: "Stream", ServerStreams: true}
	collectDesc = &grpc.StreamDesc{StreamName: "Collect", ClientStreams: true}
)

var echoDesc = grpc.ServiceDesc{
	ServiceName: service,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Call", Handler: unaryHandler},
		{MethodName: "Other", Handler: unaryHandler},
	},
	Streams: []grpc.StreamDesc{
		{StreamName: "Stream", Handler: streamHandler, ServerStreams: true},
		{StreamName: "Collect", Handler: collectHandler, ClientStreams: true},
	},
}

// testServer is a gRPC server on a real TCP listener on 127.0.0.1, with the
// test service and the standard health service. It counts the calls that
// reach it, per method.
type testServer struct {
	addr    string
	arrived chan string // a method name, each time a delay starts
	mu      sync.Mutex
	calls   map[string]int
}

func startServer(t testing.TB) *testServer {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &testServer{addr: lis.Addr().String(), arrived: make(chan string, 64), calls: map[string]int{}}
	gs := grpc.NewServer()
	gs.RegisterService(&echoDesc, s)
	healthpb.RegisterHealthServer(gs, health.NewServer())
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = gs.Serve(lis)
	}()
	t.Cleanup(func() {
		gs.Stop()
		<-served
	})
	return s
}

// hits returns how many calls to method reached the server.
func (s *testServer) hits(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

func (s *testServer) count(ctx context.Context) {
	method, _ := grpc.Method(ctx)
	s.mu.Lock()
	s.calls[method]++
	s.mu.Unlock()
}

// finish waits as q asks, sets its trailer through setTrailer and returns
// the status it asks for.
func (s *testServer) finish(ctx context.Context, q url.Values, setTrailer func(metadata.MD)) error {
	if d := q.Get("delay"); d != "" {
		wait, err := time.ParseDuration(d)
		if err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		method, _ := grpc.Method(ctx)
		s.arrived <- method
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	md := metadata.MD{}
	if v := q.Get("pushback"); v != "" {
		md.Set("grpc-retry-pushback-ms", v)
	}
	if v := q.Get("trailer"); v != "" {
		md.Set("x-test", v)
	}
	setTrailer(md)
	code, _ := strconv.Atoi(q.Get("code"))
	return status.Error(codes.Code(code), "test code "+strconv.Itoa(code))
}

func unaryHandler(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	s := srv.(*testServer)
	in := new(wrapperspb.StringValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	s.count(ctx)
	q, _ := url.ParseQuery(in.Value)
	err := s.finish(ctx, q, func(md metadata.MD) { _ = grpc.SetTrailer(ctx, md) })
	if err != nil {
		return nil, err
	}
	return wrapperspb.String("reply " + in.Value), nil
}

func streamHandler(srv any, stream grpc.ServerStream) error {
	s := srv.(*testServer)
	in := new(wrapperspb.StringValue)
	if err := stream.RecvMsg(in); err != nil {
		return err
	}
	s.count(stream.Context())
	q, _ := url.ParseQuery(in.Value)
	n, _ := strconv.Atoi(q.Get("n"))
	for k := range n {
		if err := stream.SendMsg(wrapperspb.String(strconv.Itoa(k))); err != nil {
			return err
		}
	}
	return s.finish(stream.Context(), q, stream.SetTrailer)
}

func collectHandler(srv any, stream grpc.ServerStream) error {
	s := srv.(*testServer)
	s.count(stream.Context())
	var first string
	n := 0
	for {
		in := new(wrapperspb.StringValue)
		err := stream.RecvMsg(in)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if n == 0 {
			first = in.Value
		}
		n++
	}
	q, _ := url.ParseQuery(first)
	if err := s.finish(stream.Context(), q, stream.SetTrailer); err != nil {
		return err
	}
	return stream.SendMsg(wrapperspb.String(strconv.Itoa(n)))
}

// dial returns a client of target through ic's interceptors, closed when the
// test ends.
func dial(t testing.TB, target string, ic *circuitgrpc.Interceptors) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(ic.Unary()),
		grpc.WithStreamInterceptor(ic.Stream()),
	)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// call makes a unary call of method with the request query q.
func call(ctx context.Context, cc *grpc.ClientConn, method, q string, opts ...grpc.CallOption) (string, error) {
	out := new(wrapperspb.StringValue)
	err := cc.Invoke(ctx, method, wrapperspb.String(q), out, opts...)
	return out.GetValue(), err
}

// openStream opens a server stream that does what q asks.
func openStream(ctx context.Context, cc *grpc.ClientConn, q string) (grpc.ClientStream, error) {
	cs, err := cc.NewStream(ctx, streamDesc, mStream)
	if err != nil {
		return nil, err
	}
	if err := cs.SendMsg(wrapperspb.String(q)); err != nil {
		return nil, err
	}
	return cs, cs.CloseSend()
}

// drain reads cs to its end and returns how many messages came and the
// error that ended it (io.EOF for OK).
func drain(cs grpc.ClientStream) (int, error) {
	for n := 0; ; n++ {
		if err := cs.RecvMsg(new(wrapperspb.StringValue)); err != nil {
			return n, err
		}
	}
}

func newClock() *circuittest.Clock {
	return circuittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

// newInterceptors returns Interceptors whose breakers run on clk, with the
// failure-rate rule off (so that the consecutive-failures rule alone trips
// them) and with opts, then the given package options.
func newInterceptors(t testing.TB, clk *circuittest.Clock, breaker []circuit.Option, opts ...circuitgrpc.Option) *circuitgrpc.Interceptors {
	t.Helper()
	base := []circuit.Option{circuit.WithClock(clk), circuit.WithFailureRate(0, 0)}
	all := append([]circuitgrpc.Option{circuitgrpc.WithBreakerOptions(append(base, breaker...)...)}, opts...)
	ic, err := circuitgrpc.New(all...)
	require.NoError(t, err)
	return ic
}

// trips is the breaker options that trip after n failures in a row.
func trips(n int, more ...circuit.Option) []circuit.Option {
	return append([]circuit.Option{circuit.WithConsecutiveFailures(n)}, more...)
}

// metrics returns the Metrics of ic's breaker named name, and whether there
// is one.
func metrics(ic *circuitgrpc.Interceptors, name string) (circuit.Metrics, bool) {
	var m circuit.Metrics
	found := false
	ic.Breakers(func(n string, bm circuit.Metrics) bool {
		if n == name {
			m, found = bm, true
			return false
		}
		return true
	})
	return m, found
}

// mustMetrics is metrics for a breaker that must exist.
func mustMetrics(t testing.TB, ic *circuitgrpc.Interceptors, name string) circuit.Metrics {
	t.Helper()
	m, ok := metrics(ic, name)
	require.True(t, ok, "no breaker named %q", name)
	return m
}

// names returns the names of ic's breakers, as a set.
func names(ic *circuitgrpc.Interceptors) map[string]bool {
	got := map[string]bool{}
	ic.Breakers(func(n string, _ circuit.Metrics) bool {
		got[n] = true
		return true
	})
	return got
}

// fail is the query of a call that ends with code c.
func fail(c codes.Code) string { return fmt.Sprintf("code=%d", c) }

// deadAddr returns an address on 127.0.0.1 that nothing listens on: a port
// taken from the system and given back.
func deadAddr(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())
	return addr
}
