package circuitgrpc_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitgrpc"
)

func TestServerStreamCountsOnce(t *testing.T) {
	cases := []struct {
		name      string
		query     string
		wantMsgs  int
		wantErr   codes.Code // OK: io.EOF
		failures  int
		successes int
	}{
		{"failing midway counts exactly one failure", "n=3&code=14", 3, codes.Unavailable, 1, 0},
		{"failing before any message is one failure", "code=13", 0, codes.Internal, 1, 0},
		{"ending with io.EOF counts one success", "n=3", 3, codes.OK, 0, 1},
		{"ending with a code that is no failure counts one success", "n=2&code=5", 2, codes.NotFound, 0, 1},
	}
	srv := startServer(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ic := newInterceptors(t, newClock(), trips(100))
			cc := dial(t, srv.addr, ic)
			cs, err := openStream(context.Background(), cc, tc.query)
			require.NoError(t, err)
			n, err := drain(cs)
			assert.Equal(t, tc.wantMsgs, n)
			if tc.wantErr == codes.OK {
				assert.Equal(t, io.EOF, err)
			} else {
				assert.Equal(t, tc.wantErr, status.Code(err), "the caller gets the server's status")
			}
			// Reading past the end, and the other methods after it, count nothing more.
			assert.Error(t, cs.RecvMsg(new(wrapperspb.StringValue)))
			_, _ = cs.Header()
			_ = cs.CloseSend()

			m := mustMetrics(t, ic, srv.addr)
			assert.Equal(t, tc.failures, m.Failures)
			assert.Equal(t, tc.successes, m.Successes)
			assert.Equal(t, 1, m.Calls, "a stream counts once, not per message")
		})
	}
}

func TestClientStreamCountsOnce(t *testing.T) {
	srv := startServer(t)
	for _, tc := range []struct {
		name    string
		query   string
		failure bool
	}{
		{"its one response ends it: a success", "", false},
		{"ending with a failure code: a failure", "code=14", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ic := newInterceptors(t, newClock(), trips(100))
			cc := dial(t, srv.addr, ic)
			cs, err := cc.NewStream(context.Background(), collectDesc, mCollect)
			require.NoError(t, err)
			for _, q := range []string{tc.query, "b", "c"} {
				require.NoError(t, cs.SendMsg(wrapperspb.String(q)))
			}
			require.NoError(t, cs.CloseSend())
			out := new(wrapperspb.StringValue)
			err = cs.RecvMsg(out)
			m := mustMetrics(t, ic, srv.addr)
			if tc.failure {
				assert.Equal(t, codes.Unavailable, status.Code(err))
				assert.Equal(t, 1, m.Failures)
			} else {
				require.NoError(t, err)
				assert.Equal(t, "3", out.GetValue())
				assert.Equal(t, 1, m.Successes, "counted at the response, without waiting for io.EOF")
			}
			assert.Equal(t, 1, m.Calls)
		})
	}
}

func TestStreamRejectedWhileOpen(t *testing.T) {
	srv := startServer(t)
	clk := newClock()
	ic := newInterceptors(t, clk, trips(1, circuit.WithOpenTimeout(30*time.Second)))
	cc := dial(t, srv.addr, ic)
	cs, err := openStream(context.Background(), cc, "n=1&code=14")
	require.NoError(t, err)
	_, err = drain(cs)
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Equal(t, circuit.Open, mustMetrics(t, ic, srv.addr).State)

	cs, err = cc.NewStream(context.Background(), streamDesc, mStream)
	assert.Nil(t, cs, "a rejected stream is not opened")
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.ErrorIs(t, err, circuit.ErrOpen)
	d, ok := circuit.RetryAfter(err)
	require.True(t, ok)
	assert.Equal(t, 30*time.Second, d)
	assert.Equal(t, 1, srv.hits(mStream), "nothing was sent")
}

func TestStreamPushback(t *testing.T) {
	srv := startServer(t)
	clk := newClock()
	ic := newInterceptors(t, clk, trips(1, circuit.WithOpenTimeout(time.Second)))
	cc := dial(t, srv.addr, ic)
	cs, err := openStream(context.Background(), cc, "n=1&code=8&pushback=5000")
	require.NoError(t, err)
	_, err = drain(cs)
	require.Equal(t, codes.ResourceExhausted, status.Code(err))
	assert.Equal(t, []string{"5000"}, cs.Trailer().Get("grpc-retry-pushback-ms"), "the caller still reads the trailer")

	clk.Advance(time.Second)
	assert.Equal(t, circuit.Open, mustMetrics(t, ic, srv.addr).State, "still open after the open timeout")
	clk.Advance(4 * time.Second)
	assert.Equal(t, circuit.HalfOpen, mustMetrics(t, ic, srv.addr).State, "half-open after the pushback")
}

func TestStreamThatCannotOpenIsAFailure(t *testing.T) {
	dead := deadAddr(t)
	ic := newInterceptors(t, newClock(), trips(1))
	cc := dial(t, dead, ic)
	cs, err := cc.NewStream(context.Background(), streamDesc, mStream)
	if err == nil {
		// gRPC may report the failed connection on the first receive instead.
		_, err = drain(cs)
	}
	assert.Equal(t, codes.Unavailable, status.Code(err))
	m := mustMetrics(t, ic, dead)
	assert.Equal(t, 1, m.Failures)
	assert.Equal(t, circuit.Open, m.State)
}

func TestStreamCancellationIsIgnored(t *testing.T) {
	srv := startServer(t)
	// Canceled is listed: a caller's cancellation is ignored all the same.
	codesOpt := circuitgrpc.WithFailureCodes(codes.Canceled, codes.Unavailable)

	t.Run("canceled and read to its end", func(t *testing.T) {
		ic := newInterceptors(t, newClock(), trips(1), codesOpt)
		cc := dial(t, srv.addr, ic)
		ctx, cancel := context.WithCancel(context.Background())
		cs, err := openStream(ctx, cc, "n=1&delay=1m")
		require.NoError(t, err)
		require.NoError(t, cs.RecvMsg(new(wrapperspb.StringValue)))
		<-srv.arrived
		cancel()
		_, err = drain(cs)
		require.Equal(t, codes.Canceled, status.Code(err))
		m := mustMetrics(t, ic, srv.addr)
		assert.Equal(t, circuit.Closed, m.State)
		assert.Zero(t, m.Failures)
		assert.Equal(t, 1, m.Excluded)
	})

	t.Run("abandoned: canceled and never read again", func(t *testing.T) {
		clk := newClock()
		ic := newInterceptors(t, clk, trips(1, circuit.WithOpenTimeout(time.Second)), codesOpt)
		cc := dial(t, srv.addr, ic)
		_, _ = call(context.Background(), cc, mCall, fail(codes.Unavailable))
		clk.Advance(time.Second) // half-open: one trial

		ctx, cancel := context.WithCancel(context.Background())
		cs, err := openStream(ctx, cc, "n=1&delay=1m") // the trial
		require.NoError(t, err)
		require.NoError(t, cs.RecvMsg(new(wrapperspb.StringValue)))
		_, err = call(context.Background(), cc, mCall, "")
		require.ErrorIs(t, err, circuit.ErrTooManyRequests, "the open stream holds the trial")

		cancel() // and the caller walks away from cs
		// The context's callback runs on a goroutine of its own: poll for
		// its count rather than sleep.
		require.Eventually(t, func() bool { return mustMetrics(t, ic, srv.addr).Excluded == 1 },
			5*time.Second, time.Millisecond, "the abandoned stream is counted, as ignored")
		m := mustMetrics(t, ic, srv.addr)
		assert.Equal(t, circuit.HalfOpen, m.State)
		assert.Equal(t, 1, m.Failures, "only the failure that tripped it")
		_, err = call(context.Background(), cc, mCall, "")
		require.NoError(t, err, "the abandoned trial gave its permit back")
		assert.Equal(t, circuit.Closed, mustMetrics(t, ic, srv.addr).State)
	})
}

func TestStreamDeadlineExpiredIsAFailure(t *testing.T) {
	srv := startServer(t)
	ic := newInterceptors(t, newClock(), trips(1), circuitgrpc.WithFailureCodes(codes.Unavailable))
	cc := dial(t, srv.addr, ic)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	cs, err := openStream(ctx, cc, "n=1&delay=1m")
	require.NoError(t, err)
	n, err := drain(cs)
	assert.Equal(t, 1, n)
	require.Equal(t, codes.DeadlineExceeded, status.Code(err))
	m := mustMetrics(t, ic, srv.addr)
	assert.Equal(t, 1, m.Failures, "a stream that outlived the caller's deadline failed")
	assert.Equal(t, circuit.Open, m.State)
}

// The methods below drive the stream interceptor with a scripted stream, for
// the ends that gRPC's own streams reach rarely or never.

// fakeStream is a grpc.ClientStream whose methods return the errors set.
type fakeStream struct {
	grpc.ClientStream
	sendErr, closeErr, headerErr, recvErr error
}

func (f *fakeStream) SendMsg(any) error                         { return f.sendErr }
func (f *fakeStream) CloseSend() error                          { return f.closeErr }
func (f *fakeStream) Header() (metadata.MD, error)              { return nil, f.headerErr }
func (f *fakeStream) RecvMsg(any) error                         { return f.recvErr }
func (f *fakeStream) Trailer() metadata.MD                      { return nil }
func (f *fakeStream) Context() context.Context                  { return context.Background() }
func constKey(context.Context, string, *grpc.ClientConn) string { return "k" }

func openFake(t *testing.T, ic *circuitgrpc.Interceptors, f *fakeStream) grpc.ClientStream {
	t.Helper()
	streamer := func(context.Context, *grpc.StreamDesc, *grpc.ClientConn, string, ...grpc.CallOption) (grpc.ClientStream, error) {
		return f, nil
	}
	cs, err := ic.Stream()(context.Background(), streamDesc, nil, mStream, streamer)
	require.NoError(t, err)
	return cs
}

func TestStreamEnds(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "down")
	cases := []struct {
		name    string
		f       *fakeStream
		op      func(grpc.ClientStream) error
		counted bool // a failure counted
	}{
		{"SendMsg io.EOF leaves the verdict to RecvMsg", &fakeStream{sendErr: io.EOF},
			func(cs grpc.ClientStream) error { return cs.SendMsg(nil) }, false},
		{"SendMsg failure ends it", &fakeStream{sendErr: unavailable},
			func(cs grpc.ClientStream) error { return cs.SendMsg(nil) }, true},
		{"CloseSend failure ends it", &fakeStream{closeErr: unavailable},
			func(cs grpc.ClientStream) error { return cs.CloseSend() }, true},
		{"Header failure ends it", &fakeStream{headerErr: unavailable},
			func(cs grpc.ClientStream) error { _, err := cs.Header(); return err }, true},
		{"a plain error is Unknown: a failure", &fakeStream{recvErr: errors.New("broken")},
			func(cs grpc.ClientStream) error { return cs.RecvMsg(nil) }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ic := newInterceptors(t, newClock(), trips(1), circuitgrpc.WithKey(constKey))
			cs := openFake(t, ic, tc.f)
			require.Error(t, tc.op(cs))
			m := mustMetrics(t, ic, "k")
			if tc.counted {
				assert.Equal(t, 1, m.Failures)
				assert.Equal(t, circuit.Open, m.State)
			} else {
				assert.Zero(t, m.Calls)
			}
		})
	}
}

func TestStreamerPanicCountsAsAFailure(t *testing.T) {
	ic := newInterceptors(t, newClock(), trips(1), circuitgrpc.WithKey(constKey))
	streamer := func(context.Context, *grpc.StreamDesc, *grpc.ClientConn, string, ...grpc.CallOption) (grpc.ClientStream, error) {
		panic("boom")
	}
	assert.PanicsWithValue(t, "boom", func() {
		_, _ = ic.Stream()(context.Background(), streamDesc, nil, mStream, streamer)
	}, "the panic goes on")
	assert.Equal(t, circuit.Open, mustMetrics(t, ic, "k").State, "counted as a failure first")
}
