package circuitgrpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/seed33933975/circuit"
)

func TestPushback(t *testing.T) {
	const openTimeout = time.Second
	cases := []struct {
		name     string
		query    string
		wantOpen time.Duration // 0: it does not trip
	}{
		{"pushback on a failure that trips holds it open longer", "code=14&pushback=5000", 5 * time.Second},
		{"pushback shorter than the open timeout leaves the timeout", "code=14&pushback=300", openTimeout},
		{"pushback on a success does not trip", "code=5&pushback=5000", 0},
		{"malformed pushback is ignored", "code=14&pushback=soon", openTimeout},
		{"negative pushback (do not retry) is ignored", "code=14&pushback=-1", openTimeout},
		{"zero pushback is ignored", "code=14&pushback=0", openTimeout},
		{"an absurd pushback is capped, not overflowed", "code=14&pushback=99999999999999999999999", 100 * 365 * 24 * time.Hour},
	}
	srv := startServer(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			ic := newInterceptors(t, clk, trips(1, circuit.WithOpenTimeout(openTimeout)))
			cc := dial(t, srv.addr, ic)
			_, err := call(context.Background(), cc, mCall, tc.query)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "pushback", "the caller gets the server's status, not the breaker's view")
			if tc.wantOpen == 0 {
				assert.Equal(t, circuit.Closed, mustMetrics(t, ic, srv.addr).State)
				return
			}
			_, err = call(context.Background(), cc, mCall, "")
			require.ErrorIs(t, err, circuit.ErrOpen)
			d, ok := circuit.RetryAfter(err)
			require.True(t, ok)
			assert.Equal(t, tc.wantOpen, d)
		})
	}
}

func TestPushbackKeepsItOpen(t *testing.T) {
	srv := startServer(t)
	clk := newClock()
	ic := newInterceptors(t, clk, trips(1, circuit.WithOpenTimeout(time.Second)))
	cc := dial(t, srv.addr, ic)
	_, err := call(context.Background(), cc, mCall, "code=14&pushback=5000")
	require.Equal(t, codes.Unavailable, status.Code(err))

	clk.Advance(time.Second)
	_, err = call(context.Background(), cc, mCall, "")
	assert.ErrorIs(t, err, circuit.ErrOpen, "after the default open timeout it is still open")
	assert.Equal(t, circuit.Open, mustMetrics(t, ic, srv.addr).State)

	clk.Advance(4 * time.Second)
	assert.Equal(t, circuit.HalfOpen, mustMetrics(t, ic, srv.addr).State, "after the pushback it half-opens")
	_, err = call(context.Background(), cc, mCall, "")
	require.NoError(t, err)
	assert.Equal(t, 2, srv.hits(mCall))
}

func TestCallerStillGetsItsTrailer(t *testing.T) {
	srv := startServer(t)
	clk := newClock()
	ic := newInterceptors(t, clk, trips(1, circuit.WithOpenTimeout(time.Second)))
	cc := dial(t, srv.addr, ic)

	var trailer metadata.MD
	_, err := call(context.Background(), cc, mCall, "trailer=ok", grpc.Trailer(&trailer))
	require.NoError(t, err)
	assert.Equal(t, []string{"ok"}, trailer.Get("x-test"))

	trailer = nil
	_, err = call(context.Background(), cc, mCall, "code=14&pushback=5000&trailer=down", grpc.Trailer(&trailer))
	require.Equal(t, codes.Unavailable, status.Code(err))
	assert.Equal(t, []string{"down"}, trailer.Get("x-test"), "the caller's trailer is filled")
	assert.Equal(t, []string{"5000"}, trailer.Get("grpc-retry-pushback-ms"))
	_, err = call(context.Background(), cc, mCall, "")
	d, _ := circuit.RetryAfter(err)
	assert.Equal(t, 5*time.Second, d, "and the breaker read the pushback from its own")
}
