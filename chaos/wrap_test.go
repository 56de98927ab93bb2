package chaos_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit/chaos"
)

// wrapped returns a call through a new injector with the one fault f, and a
// pointer to whether the call ran.
func wrapped(t *testing.T, f chaos.Fault) (*chaos.Injector, func(context.Context) (string, error), *bool) {
	in, err := chaos.New(1, f)
	require.NoError(t, err)
	ran := new(bool)
	return in, chaos.Wrap(in, func(context.Context) (string, error) { *ran = true; return "ok", nil }), ran
}

func TestLatency(t *testing.T) {
	t.Run("runs the call after the delay", func(t *testing.T) {
		in, call, ran := wrapped(t, chaos.Latency(1, 2*time.Millisecond))
		start := time.Now()
		v, err := call(context.Background())
		assert.GreaterOrEqual(t, time.Since(start), 2*time.Millisecond)
		assert.NoError(t, err)
		assert.Equal(t, "ok", v)
		assert.True(t, *ran)
		assert.Equal(t, uint64(1), in.Injected())
	})
	t.Run("a context that ends during the delay returns its error without running the call", func(t *testing.T) {
		in, call, ran := wrapped(t, chaos.Latency(1, time.Hour))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel()
		v, err := call(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Empty(t, v)
		assert.False(t, *ran)
		assert.Equal(t, uint64(1), in.Injected(), "a delay cut short still counts")
	})
	t.Run("a context that had ended returns at once", func(t *testing.T) {
		_, call, ran := wrapped(t, chaos.Latency(1, time.Hour))
		_, err := call(canceled())
		assert.ErrorIs(t, err, context.Canceled)
		assert.False(t, *ran)
	})
	t.Run("a zero delay runs the call at once and counts", func(t *testing.T) {
		in, call, ran := wrapped(t, chaos.Latency(1, 0))
		_, err := call(context.Background())
		assert.NoError(t, err)
		assert.True(t, *ran)
		assert.Equal(t, uint64(1), in.Injected())
	})
}

func TestHang(t *testing.T) {
	t.Run("blocks until the context's deadline and returns its error", func(t *testing.T) {
		in, call, ran := wrapped(t, chaos.Hang(1))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := call(ctx)
		assert.GreaterOrEqual(t, time.Since(start), 10*time.Millisecond)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.False(t, *ran)
		assert.Equal(t, uint64(1), in.Injected())
	})
	t.Run("returns when the context is canceled", func(t *testing.T) {
		_, call, ran := wrapped(t, chaos.Hang(1))
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		go func() {
			_, err := call(ctx)
			errc <- err
		}()
		cancel()
		assert.ErrorIs(t, <-errc, context.Canceled)
		assert.False(t, *ran)
	})
}

func TestWrapIgnoresHTTPStatus(t *testing.T) {
	t.Run("alone it never fires", func(t *testing.T) {
		in, call, ran := wrapped(t, chaos.HTTPStatus(1, 503))
		v, err := call(context.Background())
		assert.NoError(t, err)
		assert.Equal(t, "ok", v)
		assert.True(t, *ran)
		assert.Zero(t, in.Injected())
	})
	t.Run("the faults after it still fire", func(t *testing.T) {
		in, err := chaos.New(1, chaos.HTTPStatus(1, 503), chaos.Error(1, errInjected))
		require.NoError(t, err)
		_, err = chaos.Wrap(in, func(context.Context) (int, error) { return 1, nil })(context.Background())
		assert.ErrorIs(t, err, errInjected)
		assert.Equal(t, uint64(1), in.Injected())
	})
}

func TestWrapReturnsTheZeroValueOnAFault(t *testing.T) {
	in, err := chaos.New(1, chaos.Error(1, errInjected))
	require.NoError(t, err)
	call := chaos.Wrap(in, func(context.Context) (*int, error) { v := 1; return &v, nil })
	v, err := call(context.Background())
	assert.ErrorIs(t, err, errInjected)
	assert.Nil(t, v)
}
