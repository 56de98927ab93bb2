package circuitgrpc_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitgrpc"
)

// codeCases are every gRPC code and whether it counts as a failure by
// default: the server or the path to it is unwell. The others are answers
// about the request, which a working server gives. Canceled here is sent by
// the server: the caller canceled nothing.
var codeCases = []struct {
	code    codes.Code
	failure bool
}{
	{codes.OK, false},
	{codes.Canceled, false},
	{codes.Unknown, true},
	{codes.InvalidArgument, false},
	{codes.DeadlineExceeded, true},
	{codes.NotFound, false},
	{codes.AlreadyExists, false},
	{codes.PermissionDenied, false},
	{codes.ResourceExhausted, true},
	{codes.FailedPrecondition, false},
	{codes.Aborted, false},
	{codes.OutOfRange, false},
	{codes.Unimplemented, false},
	{codes.Internal, true},
	{codes.Unavailable, true},
	{codes.DataLoss, true},
	{codes.Unauthenticated, false},
}

func TestFailureCodes(t *testing.T) {
	srv := startServer(t)
	for _, tc := range codeCases {
		verdict := "a success: an answer from a working server"
		if tc.failure {
			verdict = "a failure"
		}
		t.Run(tc.code.String()+" is "+verdict, func(t *testing.T) {
			ic := newInterceptors(t, newClock(), trips(1))
			cc := dial(t, srv.addr, ic)
			reply, err := call(context.Background(), cc, mCall, fail(tc.code))
			assert.Equal(t, tc.code, status.Code(err))
			if tc.code == codes.OK {
				require.NoError(t, err)
				assert.Equal(t, "reply "+fail(tc.code), reply)
			} else {
				assert.Equal(t, "test code "+strings.TrimPrefix(fail(tc.code), "code="), status.Convert(err).Message(),
					"the caller gets the server's status unchanged")
				assert.NotErrorIs(t, err, circuit.ErrOpen)
			}
			m := mustMetrics(t, ic, srv.addr)
			if tc.failure {
				assert.Equal(t, 1, m.Failures)
				assert.Equal(t, circuit.Open, m.State, "one failure trips it")
			} else {
				assert.Equal(t, 1, m.Successes)
				assert.Equal(t, circuit.Closed, m.State)
			}
		})
	}
}

func TestWithFailureCodesReplacesTheDefaults(t *testing.T) {
	srv := startServer(t)
	ic := newInterceptors(t, newClock(), trips(100), circuitgrpc.WithFailureCodes(codes.NotFound, codes.Aborted))
	cc := dial(t, srv.addr, ic)
	for _, c := range []codes.Code{codes.NotFound, codes.Aborted, codes.Unavailable, codes.Internal} {
		_, err := call(context.Background(), cc, mCall, fail(c))
		require.Equal(t, c, status.Code(err))
	}
	m := mustMetrics(t, ic, srv.addr)
	assert.Equal(t, 2, m.Failures, "NotFound and Aborted are the only failures now")
	assert.Equal(t, 2, m.Successes, "Unavailable and Internal are no longer in the set")
}

func TestCancellationIsIgnored(t *testing.T) {
	srv := startServer(t)
	// Canceled is listed as a failure code: a caller's cancellation is
	// ignored all the same.
	codesOpt := circuitgrpc.WithFailureCodes(codes.Canceled, codes.Unavailable)
	t.Run("canceled while the server works on it", func(t *testing.T) {
		ic := newInterceptors(t, newClock(), trips(1), codesOpt)
		cc := dial(t, srv.addr, ic)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-srv.arrived
			cancel()
		}()
		_, err := call(ctx, cc, mCall, "delay=1m")
		require.Equal(t, codes.Canceled, status.Code(err))
		m := mustMetrics(t, ic, srv.addr)
		assert.Equal(t, circuit.Closed, m.State, "the caller gave up: that says nothing of the server")
		assert.Zero(t, m.Failures)
		assert.Equal(t, 1, m.Excluded)
	})
	t.Run("canceled before it is sent", func(t *testing.T) {
		ic := newInterceptors(t, newClock(), trips(1), codesOpt)
		cc := dial(t, srv.addr, ic)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := call(ctx, cc, mCall, "")
		require.Equal(t, codes.Canceled, status.Code(err))
		m := mustMetrics(t, ic, srv.addr)
		assert.Equal(t, circuit.Closed, m.State)
		assert.Equal(t, 1, m.Excluded)
	})
	t.Run("Canceled sent by the server is a listed failure", func(t *testing.T) {
		ic := newInterceptors(t, newClock(), trips(1), codesOpt)
		cc := dial(t, srv.addr, ic)
		_, err := call(context.Background(), cc, mCall, fail(codes.Canceled))
		require.Equal(t, codes.Canceled, status.Code(err))
		assert.Equal(t, circuit.Open, mustMetrics(t, ic, srv.addr).State, "the caller canceled nothing")
	})
}

func TestDeadlineExpiredIsAFailure(t *testing.T) {
	srv := startServer(t)
	// DeadlineExceeded is not a failure code here: a caller's deadline that
	// expired is a failure all the same.
	ic := newInterceptors(t, newClock(), trips(1), circuitgrpc.WithFailureCodes(codes.Unavailable))
	cc := dial(t, srv.addr, ic)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := call(ctx, cc, mCall, "delay=1m")
	require.Equal(t, codes.DeadlineExceeded, status.Code(err))
	m := mustMetrics(t, ic, srv.addr)
	assert.Equal(t, 1, m.Failures, "a server too slow for the caller's deadline failed")
	assert.Equal(t, circuit.Open, m.State)
}

func TestCallTimeoutCancelsTheCall(t *testing.T) {
	srv := startServer(t)
	ic := newInterceptors(t, newClock(), trips(1, circuit.WithCallTimeout(30*time.Millisecond)))
	cc := dial(t, srv.addr, ic)
	_, err := call(context.Background(), cc, mCall, "delay=1m")
	require.Equal(t, codes.DeadlineExceeded, status.Code(err), "the call's context carried the breaker's timeout")
	assert.Equal(t, circuit.Open, mustMetrics(t, ic, srv.addr).State)
}

func TestUnreachableServerTrips(t *testing.T) {
	dead := deadAddr(t)
	ic := newInterceptors(t, newClock(), trips(2))
	cc := dial(t, dead, ic)
	for range 2 {
		_, err := call(context.Background(), cc, mCall, "")
		require.Equal(t, codes.Unavailable, status.Code(err))
		require.NotErrorIs(t, err, circuit.ErrOpen, "the connection error itself, not a rejection")
	}
	assert.Equal(t, circuit.Open, mustMetrics(t, ic, dead).State)
}

func TestUnaryPanicCountsAsAFailure(t *testing.T) {
	ic := newInterceptors(t, newClock(), trips(1),
		circuitgrpc.WithKey(func(context.Context, string, *grpc.ClientConn) string { return "k" }))
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
		panic("boom")
	}
	assert.PanicsWithValue(t, "boom", func() {
		_ = ic.Unary()(context.Background(), mCall, nil, nil, nil, invoker)
	}, "the panic goes on")
	assert.Equal(t, circuit.Open, mustMetrics(t, ic, "k").State, "counted as a failure first")
}

func TestBreakerPredicatesSeeTheServersStatus(t *testing.T) {
	srv := startServer(t)
	var seen []error
	ic := newInterceptors(t, newClock(), trips(1, circuit.WithExclude(func(err error) bool {
		seen = append(seen, err)
		return status.Code(err) == codes.ResourceExhausted // say, a quota of ours, not the server's health
	})))
	cc := dial(t, srv.addr, ic)
	_, err := call(context.Background(), cc, mCall, "code=8&pushback=5000")
	require.Equal(t, codes.ResourceExhausted, status.Code(err))
	_, err = call(context.Background(), cc, mCall, fail(codes.NotFound))
	require.Equal(t, codes.NotFound, status.Code(err))

	require.Len(t, seen, 1, "only failures reach the breaker's predicates; NotFound came as a success")
	assert.Equal(t, codes.ResourceExhausted, status.Code(seen[0]), "seen through the pushback")
	assert.Equal(t, "test code 8", status.Convert(errors.Unwrap(seen[0])).Message())
	assert.Contains(t, seen[0].Error(), "grpc-retry-pushback-ms 5s")
	m := mustMetrics(t, ic, srv.addr)
	assert.Equal(t, circuit.Closed, m.State, "the excluded failure did not trip it")
	assert.Equal(t, 1, m.Excluded)
	assert.Equal(t, 1, m.Successes)
}
