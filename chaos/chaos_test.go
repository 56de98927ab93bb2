package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/chaos"
)

var errInjected = errors.New("injected")

// roundTripFunc is an http.RoundTripper made of a function, standing in for
// a network the tests do not need.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// wrapCalls makes n calls through Wrap with ctx and returns how many reached
// the wrapped function.
func wrapCalls(in *chaos.Injector, ctx context.Context, n int) int {
	ran := 0
	call := chaos.Wrap(in, func(context.Context) (int, error) { ran++; return 1, nil })
	for i := 0; i < n; i++ {
		_, _ = call(ctx)
	}
	return ran
}

// httpCalls makes n requests through the Injector's RoundTripper over a
// stand-in network and returns how many reached it.
func httpCalls(in *chaos.Injector, n int) int {
	ran := 0
	rt := in.RoundTripper(roundTripFunc(func(req *http.Request) (*http.Response, error) {
		ran++
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: req}, nil
	}))
	req, _ := http.NewRequest(http.MethodGet, "http://dependency.test/", nil)
	for i := 0; i < n; i++ {
		resp, err := rt.RoundTrip(req)
		if err == nil {
			_ = resp.Body.Close()
		}
	}
	return ran
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestFaultsFireAtTheirRate(t *testing.T) {
	const n = 10000
	kinds := []struct {
		name    string
		fault   func(rate float64) chaos.Fault
		calls   func(in *chaos.Injector) (ran int)
		delayed bool // a fired fault still runs the call
	}{
		{"error returns instead of running", func(r float64) chaos.Fault { return chaos.Error(r, errInjected) },
			func(in *chaos.Injector) int { return wrapCalls(in, context.Background(), n) }, false},
		{"latency runs late", func(r float64) chaos.Fault { return chaos.Latency(r, time.Microsecond) },
			func(in *chaos.Injector) int { return wrapCalls(in, context.Background(), n) }, true},
		{"hang blocks until the context ends", chaos.Hang,
			func(in *chaos.Injector) int { return wrapCalls(in, canceled(), n) }, false},
		{"http status answers without sending", func(r float64) chaos.Fault { return chaos.HTTPStatus(r, 503) },
			func(in *chaos.Injector) int { return httpCalls(in, n) }, false},
	}
	for _, k := range kinds {
		for _, rate := range []float64{0, 1, 0.3} {
			t.Run(fmt.Sprintf("%s at rate %v", k.name, rate), func(t *testing.T) {
				in, err := chaos.New(20, k.fault(rate))
				require.NoError(t, err)

				ran := k.calls(in)

				fired := in.Injected()
				sd := math.Sqrt(n * rate * (1 - rate))
				assert.InDelta(t, n*rate, float64(fired), 3*sd, "faults fired")
				if k.delayed {
					assert.Equal(t, n, ran, "every delayed call still runs")
				} else {
					assert.Equal(t, n-int(fired), ran, "calls that reached the dependency")
				}
			})
		}
	}
}

// sequence records which fault, if any, each of n calls through in got.
func sequence(in *chaos.Injector, n int) string {
	call := chaos.Wrap(in, func(context.Context) (string, error) { return "-", nil })
	var b strings.Builder
	for i := 0; i < n; i++ {
		v, err := call(context.Background())
		if err != nil {
			v = err.Error()
		}
		b.WriteString(v)
	}
	return b.String()
}

func twoFaults(t *testing.T, seed uint64) *chaos.Injector {
	in, err := chaos.New(seed, chaos.Error(0.3, errors.New("a")), chaos.Error(0.3, errors.New("b")))
	require.NoError(t, err)
	return in
}

func TestSeedDeterminesFaults(t *testing.T) {
	t.Run("same seed gives the same faults on one goroutine", func(t *testing.T) {
		first := sequence(twoFaults(t, 7), 200)
		assert.Equal(t, first, sequence(twoFaults(t, 7), 200))
		assert.Contains(t, first, "a")
		assert.Contains(t, first, "b")
		assert.Contains(t, first, "-")
	})
	t.Run("different seeds give different faults", func(t *testing.T) {
		assert.NotEqual(t, sequence(twoFaults(t, 7), 200), sequence(twoFaults(t, 8), 200))
	})
	t.Run("calls while disabled do not advance the sequence", func(t *testing.T) {
		want := sequence(twoFaults(t, 7), 100)
		in := twoFaults(t, 7)
		got := sequence(in, 40)
		in.Disable()
		assert.Equal(t, strings.Repeat("-", 30), sequence(in, 30))
		in.Enable()
		got += sequence(in, 60)
		assert.Equal(t, want, got)
	})
}

func TestFirstFaultThatFiresApplies(t *testing.T) {
	in, err := chaos.New(1, chaos.Error(1, errors.New("a")), chaos.Error(1, errors.New("b")), chaos.Hang(1))
	require.NoError(t, err)

	assert.Equal(t, strings.Repeat("a", 50), sequence(in, 50))
	assert.Equal(t, uint64(50), in.Injected(), "one fault per call, however many fire")
}

func TestNewEnabledAndWithoutFaults(t *testing.T) {
	t.Run("a new injector is enabled", func(t *testing.T) {
		in, err := chaos.New(1, chaos.Error(1, errInjected))
		require.NoError(t, err)
		_, err = chaos.Wrap(in, func(context.Context) (int, error) { return 1, nil })(context.Background())
		assert.ErrorIs(t, err, errInjected)
	})
	t.Run("no faults injects nothing", func(t *testing.T) {
		in, err := chaos.New(1)
		require.NoError(t, err)
		assert.Equal(t, 10, wrapCalls(in, context.Background(), 10))
		assert.Zero(t, in.Injected())
	})
	t.Run("the zero injector is disabled", func(t *testing.T) {
		var in chaos.Injector
		assert.Equal(t, 10, wrapCalls(&in, context.Background(), 10))
		in.Enable()
		assert.Equal(t, 10, wrapCalls(&in, context.Background(), 10))
		assert.Zero(t, in.Injected())
	})
	t.Run("the faults given are copied", func(t *testing.T) {
		faults := []chaos.Fault{chaos.Error(1, errInjected)}
		in, err := chaos.New(1, faults...)
		require.NoError(t, err)
		faults[0] = chaos.Error(0, errInjected)
		assert.Zero(t, wrapCalls(in, context.Background(), 10))
	})
}

func TestEnableDisableUnderConcurrency(t *testing.T) {
	const goroutines, calls = 64, 200
	in, err := chaos.New(3, chaos.Error(0.5, errInjected))
	require.NoError(t, err)
	var ran, failed atomic.Uint64
	call := chaos.Wrap(in, func(context.Context) (int, error) { ran.Add(1); return 1, nil })

	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				if g%8 == 0 { // some goroutines flip the switch as they go
					if i%2 == 0 {
						in.Disable()
					} else {
						in.Enable()
					}
				}
				if _, err := call(context.Background()); errors.Is(err, errInjected) {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()

	assert.Equal(t, failed.Load(), in.Injected(), "Injected counts exactly the faults applied")
	assert.Equal(t, uint64(goroutines*calls), ran.Load()+failed.Load())
	assert.NotZero(t, failed.Load())

	in.Disable()
	assert.Equal(t, 100, wrapCalls(in, context.Background(), 100), "a disabled injector passes every call")
	assert.Equal(t, failed.Load(), in.Injected())
}

func TestNewRejectsBadValues(t *testing.T) {
	cases := []struct {
		name  string
		fault chaos.Fault
		msg   string
	}{
		{"rate below 0", chaos.Error(-0.1, errInjected), "circuit: invalid option chaos.Error: rate -0.1 outside [0, 1]"},
		{"rate above 1", chaos.Latency(1.5, time.Millisecond), "circuit: invalid option chaos.Latency: rate 1.5 outside [0, 1]"},
		{"rate NaN", chaos.Hang(math.NaN()), "circuit: invalid option chaos.Hang: rate NaN outside [0, 1]"},
		{"rate infinite", chaos.HTTPStatus(math.Inf(1), 503), "circuit: invalid option chaos.HTTPStatus: rate +Inf outside [0, 1]"},
		{"nil error", chaos.Error(0.5, nil), "circuit: invalid option chaos.Error: err is nil"},
		{"negative latency", chaos.Latency(0.5, -time.Millisecond), "circuit: invalid option chaos.Latency: delay -1ms is negative"},
		{"status below 100", chaos.HTTPStatus(0.5, 99), "circuit: invalid option chaos.HTTPStatus: code 99 outside [100, 599]"},
		{"status above 599", chaos.HTTPStatus(0.5, 600), "circuit: invalid option chaos.HTTPStatus: code 600 outside [100, 599]"},
		{"zero fault", chaos.Fault{}, "circuit: invalid option chaos.New: faults[1] is the zero Fault"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, err := chaos.New(1, chaos.Hang(0), c.fault)
			require.Error(t, err)
			assert.Nil(t, in)
			assert.ErrorIs(t, err, circuit.ErrInvalidOption)
			assert.EqualError(t, err, c.msg)
		})
	}

	t.Run("every bad value is reported", func(t *testing.T) {
		_, err := chaos.New(1, chaos.Error(2, nil), chaos.HTTPStatus(0.1, 700))
		require.ErrorIs(t, err, circuit.ErrInvalidOption)
		assert.Contains(t, err.Error(), "rate 2 outside [0, 1]")
		assert.Contains(t, err.Error(), "err is nil")
		assert.Contains(t, err.Error(), "code 700 outside [100, 599]")
	})
	t.Run("values at the edges are valid", func(t *testing.T) {
		_, err := chaos.New(1, chaos.Error(0, errInjected), chaos.Error(1, errInjected),
			chaos.Latency(0.5, 0), chaos.HTTPStatus(0.5, 100), chaos.HTTPStatus(0.5, 599))
		assert.NoError(t, err)
	})
}

func TestNilIsAProgrammingError(t *testing.T) {
	var nilIn *chaos.Injector
	in, err := chaos.New(1)
	require.NoError(t, err)
	fn := func(context.Context) (int, error) { return 1, nil }

	assert.PanicsWithValue(t, "circuit: chaos.Wrap: fn is nil", func() { chaos.Wrap[int](in, nil) })
	assert.PanicsWithValue(t, "circuit: chaos.Wrap on a nil *Injector", func() { chaos.Wrap(nilIn, fn) })
	assert.PanicsWithValue(t, "circuit: chaos.RoundTripper on a nil *Injector", func() { nilIn.RoundTripper(nil) })
	assert.PanicsWithValue(t, "circuit: chaos.Enable on a nil *Injector", func() { nilIn.Enable() })
	assert.PanicsWithValue(t, "circuit: chaos.Disable on a nil *Injector", func() { nilIn.Disable() })
	assert.PanicsWithValue(t, "circuit: chaos.Injected on a nil *Injector", func() { nilIn.Injected() })
}
