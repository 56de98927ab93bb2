package circuitgrpc_test

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitgrpc"
)

func TestHealthChecksPassWhileOpen(t *testing.T) {
	srv := startServer(t)
	ic := newInterceptors(t, newClock(), trips(1))
	cc := dial(t, srv.addr, ic)
	_, _ = call(context.Background(), cc, mCall, fail(codes.Unavailable))
	require.Equal(t, circuit.Open, mustMetrics(t, ic, srv.addr).State)

	hc := healthpb.NewHealthClient(cc)
	for range 3 {
		resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
		require.NoError(t, err, "a health check reaches the server while its breaker is open")
		assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err, "health streams pass too")
	resp, err := watch.Recv()
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())

	m := mustMetrics(t, ic, srv.addr)
	assert.Equal(t, 1, m.Calls, "health checks are not counted")
	assert.Zero(t, m.Rejected)
}

func TestWithSkipReplacesTheHealthSkip(t *testing.T) {
	srv := startServer(t)
	ic := newInterceptors(t, newClock(), trips(1),
		circuitgrpc.WithSkip(func(method string) bool { return method == mOther || method == mStream }))
	cc := dial(t, srv.addr, ic)
	_, _ = call(context.Background(), cc, mCall, fail(codes.Unavailable))

	_, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
	assert.ErrorIs(t, err, circuit.ErrOpen, "health checks are no longer skipped")
	_, err = call(context.Background(), cc, mOther, "")
	assert.NoError(t, err, "the skipped method passes while open")
	cs, err := openStream(context.Background(), cc, "n=2")
	require.NoError(t, err, "skipped streams pass while open")
	n, err := drain(cs)
	assert.Equal(t, 2, n)
	assert.Equal(t, io.EOF, err)
	assert.Equal(t, 1, srv.hits(mCall))
}
