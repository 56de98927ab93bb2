package circuitgrpc_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitgrpc"
)

func TestPerTargetIsolation(t *testing.T) {
	a, b := startServer(t), startServer(t)
	ic := newInterceptors(t, newClock(), trips(3))
	ca, cb := dial(t, a.addr, ic), dial(t, b.addr, ic)

	for k := range 10 {
		_, err := call(context.Background(), ca, mCall, fail(codes.Unavailable))
		if k < 3 {
			require.Equal(t, "test code 14", status.Convert(err).Message())
		} else {
			require.ErrorIs(t, err, circuit.ErrOpen)
		}
		_, err = call(context.Background(), cb, mCall, "")
		require.NoError(t, err, "target A failing never rejects a call to target B")
	}

	assert.Equal(t, 3, a.hits(mCall), "only the calls before the trip reached A")
	assert.Equal(t, 10, b.hits(mCall))
	assert.Equal(t, circuit.Open, mustMetrics(t, ic, a.addr).State)
	mb := mustMetrics(t, ic, b.addr)
	assert.Equal(t, circuit.Closed, mb.State)
	assert.Equal(t, 10, mb.Successes)
	assert.Zero(t, mb.Rejected)
	assert.Equal(t, map[string]bool{a.addr: true, b.addr: true}, names(ic), "one breaker per target, named after it")
}

func TestPerMethodIsolation(t *testing.T) {
	srv := startServer(t)
	ic := newInterceptors(t, newClock(), trips(2), circuitgrpc.WithKey(circuitgrpc.ByMethod))
	cc := dial(t, srv.addr, ic)

	for range 5 {
		_, _ = call(context.Background(), cc, mCall, fail(codes.Internal))
		_, err := call(context.Background(), cc, mOther, "")
		require.NoError(t, err, "Call failing never rejects a call to Other")
	}
	assert.Equal(t, 2, srv.hits(mCall))
	assert.Equal(t, 5, srv.hits(mOther))
	assert.Equal(t, circuit.Open, mustMetrics(t, ic, mCall).State)
	assert.Equal(t, circuit.Closed, mustMetrics(t, ic, mOther).State)
	assert.Equal(t, map[string]bool{mCall: true, mOther: true}, names(ic), "one breaker per method, named after it")
}

func TestConcurrentCallers(t *testing.T) {
	a, b := startServer(t), startServer(t)
	ic := newInterceptors(t, newClock(), trips(5))
	ca, cb := dial(t, a.addr, ic), dial(t, b.addr, ic)
	const goroutines, calls = 8, 25
	var wg sync.WaitGroup
	bErrs := make(chan error, goroutines*calls)
	for range goroutines {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range calls {
				_, _ = call(context.Background(), ca, mCall, fail(codes.Unavailable))
			}
		}()
		go func() {
			defer wg.Done()
			for k := range calls {
				if k%2 == 0 {
					if _, err := call(context.Background(), cb, mCall, ""); err != nil {
						bErrs <- err
					}
					continue
				}
				cs, err := openStream(context.Background(), cb, "n=2")
				if err == nil {
					_, err = drain(cs)
				}
				if !errors.Is(err, io.EOF) {
					bErrs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(bErrs)
	for err := range bErrs {
		t.Errorf("a call to B failed: %v", err)
	}
	ma, mb := mustMetrics(t, ic, a.addr), mustMetrics(t, ic, b.addr)
	assert.Equal(t, circuit.Open, ma.State)
	assert.Equal(t, goroutines*calls, a.hits(mCall)+int(ma.Rejected), "every call to A was sent or rejected, never both")
	assert.Less(t, a.hits(mCall), goroutines*calls)
	assert.Equal(t, circuit.Closed, mb.State)
	assert.Equal(t, goroutines*calls, mb.Successes, "every call and stream to B counted once")
}

func TestBreakersIsASource(t *testing.T) {
	a, b := startServer(t), startServer(t)
	ic := newInterceptors(t, newClock(), trips(1, circuit.WithName("backend")))
	_, err := call(context.Background(), dial(t, a.addr, ic), mCall, "")
	require.NoError(t, err)
	_, err = call(context.Background(), dial(t, b.addr, ic), mCall, "")
	require.NoError(t, err)

	var src circuit.Source = ic
	assert.Equal(t, map[string]bool{"backend/" + a.addr: true, "backend/" + b.addr: true}, names(ic),
		"named after the key, under WithName's name")
	visited := 0
	src.Breakers(func(string, circuit.Metrics) bool {
		visited++
		return false
	})
	assert.Equal(t, 1, visited, "Breakers stops when fn returns false")

	var hist circuit.History = ic
	histories := 0
	hist.Transitions(func(_ string, recent []circuit.Transition) bool {
		histories++
		assert.Empty(t, recent, "no breaker has changed state")
		return true
	})
	assert.Equal(t, 2, histories, "Interceptors are a History too")
}
