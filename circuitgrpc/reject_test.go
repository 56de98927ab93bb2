package circuitgrpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/seed33933975/circuit"
)

func TestOpenSendsNothing(t *testing.T) {
	srv := startServer(t)
	clk := newClock()
	ic := newInterceptors(t, clk, trips(2, circuit.WithOpenTimeout(30*time.Second)))
	cc := dial(t, srv.addr, ic)
	for range 2 {
		_, err := call(context.Background(), cc, mCall, fail(codes.Unavailable))
		require.Equal(t, codes.Unavailable, status.Code(err))
	}
	require.Equal(t, circuit.Open, mustMetrics(t, ic, srv.addr).State)
	require.Equal(t, 2, srv.hits(mCall))

	clk.Advance(10 * time.Second)
	for range 5 {
		_, err := call(context.Background(), cc, mCall, "")
		require.Error(t, err)
		assert.Equal(t, codes.Unavailable, status.Code(err), "a rejection is Unavailable: not processed, try later")
		assert.ErrorIs(t, err, circuit.ErrOpen)
		assert.Contains(t, status.Convert(err).Message(), `breaker "`+srv.addr+`" is open`, "the message names the breaker")
		assert.Contains(t, status.Convert(err).Message(), mCall, "and the method not sent")
		d, ok := circuit.RetryAfter(err)
		require.True(t, ok)
		assert.Equal(t, 20*time.Second, d, "RetryAfter reads the time left in the open period")
		info := retryInfo(t, err)
		require.NotNil(t, info, "the status carries RetryInfo for clients further up")
		assert.Equal(t, 20*time.Second, info.GetRetryDelay().AsDuration())
	}
	assert.Equal(t, 2, srv.hits(mCall), "no call reached the server while open")
	assert.EqualValues(t, 5, mustMetrics(t, ic, srv.addr).Rejected)

	clk.Advance(20 * time.Second)
	_, err := call(context.Background(), cc, mCall, "")
	require.NoError(t, err, "after the open timeout a trial call is sent")
	assert.Equal(t, 3, srv.hits(mCall))
	assert.Equal(t, circuit.Closed, mustMetrics(t, ic, srv.addr).State, "the trial succeeded")
}

// retryInfo returns the RetryInfo detail of err's status, or nil.
func retryInfo(t *testing.T, err error) *errdetails.RetryInfo {
	t.Helper()
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.RetryInfo); ok {
			return info
		}
	}
	return nil
}

func TestHalfOpenFullSendsNothing(t *testing.T) {
	srv := startServer(t)
	clk := newClock()
	ic := newInterceptors(t, clk, trips(1, circuit.WithOpenTimeout(time.Second)))
	cc := dial(t, srv.addr, ic)
	_, _ = call(context.Background(), cc, mCall, fail(codes.Unavailable))
	clk.Advance(time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	trial := make(chan error, 1)
	go func() {
		_, err := call(ctx, cc, mCall, "delay=1m")
		trial <- err
	}()
	<-srv.arrived // the one trial call is in flight

	_, err := call(context.Background(), cc, mCall, "")
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.ErrorIs(t, err, circuit.ErrTooManyRequests)
	_, ok := circuit.RetryAfter(err)
	assert.False(t, ok, "a full half-open round gives no time to wait")
	assert.Nil(t, retryInfo(t, err))
	assert.Equal(t, 2, srv.hits(mCall), "the rejected call was not sent")

	_, err = call(context.Background(), cc, mOther, "")
	assert.ErrorIs(t, err, circuit.ErrTooManyRequests, "the target's other methods share its breaker")

	cancel()
	require.Equal(t, codes.Canceled, status.Code(<-trial))
	assert.Equal(t, circuit.HalfOpen, mustMetrics(t, ic, srv.addr).State)
	_, err = call(context.Background(), cc, mCall, "")
	require.NoError(t, err, "the canceled trial gave its permit back")
	assert.Equal(t, circuit.Closed, mustMetrics(t, ic, srv.addr).State)
}

func TestBulkheadRejection(t *testing.T) {
	srv := startServer(t)
	t.Run("full bulkhead is Unavailable", func(t *testing.T) {
		ic := newInterceptors(t, newClock(), trips(1, circuit.WithBulkhead(1, 0)))
		cc := dial(t, srv.addr, ic)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		held := make(chan error, 1)
		go func() {
			_, err := call(ctx, cc, mCall, "delay=1m")
			held <- err
		}()
		<-srv.arrived
		_, err := call(context.Background(), cc, mCall, "")
		assert.Equal(t, codes.Unavailable, status.Code(err))
		assert.ErrorIs(t, err, circuit.ErrBulkheadFull)
		cancel()
		assert.Equal(t, codes.Canceled, status.Code(<-held))
	})
	t.Run("caller gives up waiting for a slot: its own code", func(t *testing.T) {
		ic := newInterceptors(t, newClock(), trips(1, circuit.WithBulkhead(1, time.Minute)))
		cc := dial(t, srv.addr, ic)
		hold, cancelHold := context.WithCancel(context.Background())
		defer cancelHold()
		held := make(chan error, 1)
		go func() {
			_, err := call(hold, cc, mCall, "delay=1m")
			held <- err
		}()
		<-srv.arrived
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err := call(ctx, cc, mCall, "")
		assert.Equal(t, codes.DeadlineExceeded, status.Code(err), "the caller's deadline, as gRPC reports it")
		assert.ErrorIs(t, err, circuit.ErrBulkheadFull)
		assert.ErrorIs(t, err, context.DeadlineExceeded)

		ctx, cancel = context.WithCancel(context.Background())
		cancel()
		_, err = call(ctx, cc, mCall, "")
		assert.Equal(t, codes.Canceled, status.Code(err), "the caller's cancellation, as gRPC reports it")
		assert.ErrorIs(t, err, circuit.ErrBulkheadFull)
		cancelHold()
		<-held
	})
}
