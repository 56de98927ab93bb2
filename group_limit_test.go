package circuit_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
)

// A Group with WithGroupLimit keeps its memory bounded whatever keys it is
// asked for, and never forgets an outage to do so.

func limitedGroup(t *testing.T, maxKeys int, idle time.Duration, opts ...circuit.Option) (*circuit.Group[string, int], *circuittest.Clock) {
	t.Helper()
	clk := circuittest.NewClock(time.Unix(0, 0))
	opts = append([]circuit.Option{circuit.WithName("hosts"), circuit.WithClock(clk),
		circuit.WithGroupLimit(maxKeys, idle), circuit.WithConsecutiveFailures(1)}, opts...)
	g, err := circuit.NewGroup[string, int](opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })
	return g, clk
}

func TestGroupLimitOptions(t *testing.T) {
	for name, opt := range map[string]circuit.Option{
		"maxKeys below 1":   circuit.WithGroupLimit(0, time.Minute),
		"idle not positive": circuit.WithGroupLimit(10, 0),
	} {
		_, err := circuit.NewGroup[string, int](opt)
		assert.ErrorIs(t, err, circuit.ErrInvalidOption, name)
		assert.ErrorContains(t, err, "WithGroupLimit", name)
	}
	_, err := circuit.New[int](circuit.WithGroupLimit(10, time.Minute))
	assert.ErrorIs(t, err, circuit.ErrInvalidOption, "only a Group is bounded")
}

func TestAMillionKeysKeepTheGroupsHeapBounded(t *testing.T) {
	g, _ := limitedGroup(t, 1000, time.Minute)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 1_000_000 {
		_ = g.Get(fmt.Sprintf("host-%d.example", i))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	assert.Equal(t, 1000, g.Len())
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	assert.Less(t, grown, int64(1000*2048+1<<20), "heap grew by %d bytes", grown)
	assert.Equal(t, "hosts/overflow", g.Get("one more").Name(), "keys past the limit share the overflow breaker")
}

func TestIdleClosedMembersMakeRoom(t *testing.T) {
	g, clk := limitedGroup(t, 2, time.Minute)
	a, b := g.Get("a"), g.Get("b")
	clk.Advance(30 * time.Second)
	assert.Equal(t, "hosts/overflow", g.Get("c").Name(), "a and b were asked for within idle")
	_ = g.Get("b") // b is in use
	clk.Advance(time.Minute)
	c := g.Get("c")
	assert.Equal(t, "hosts/c", c.Name(), "a idle for a minute made room")
	assert.Same(t, b, g.Get("b"), "b, asked for since, stays")
	assert.NotSame(t, a, g.Get("a"), "a was forgotten")
	assert.Equal(t, 2, g.Len())
}

func TestAnOpenMemberSurvivesEvictionPressure(t *testing.T) {
	g, clk := limitedGroup(t, 2, time.Minute, circuit.WithOpenTimeout(time.Hour))
	down := g.Get("down")
	_, _ = down.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("boom") })
	require.Equal(t, circuit.Open, down.State())
	for i := range 50 {
		clk.Advance(time.Minute)
		_ = g.Get(fmt.Sprintf("k%d", i))
	}
	assert.Same(t, down, g.Get("down"), "an outage is never forgotten")
	_, err := g.Execute(context.Background(), "down", func(context.Context) (int, error) { return 1, nil })
	assert.ErrorIs(t, err, circuit.ErrOpen, "and it still rejects")
}

func TestWhenEveryMemberIsOpenNewKeysShareTheOverflowBreaker(t *testing.T) {
	g, clk := limitedGroup(t, 2, time.Minute, circuit.WithOpenTimeout(time.Second))
	fail := func(context.Context) (int, error) { return 0, errors.New("boom") }
	ok := func(context.Context) (int, error) { return 1, nil }
	_, _ = g.Execute(context.Background(), "a", fail)
	_, _ = g.Execute(context.Background(), "b", fail)
	clk.Advance(2 * time.Minute)
	x, y := g.Get("x"), g.Get("y")
	require.Same(t, x, y)
	assert.Equal(t, "hosts/overflow", x.Name())

	_, _ = g.Execute(context.Background(), "x", fail)
	assert.Equal(t, circuit.Open, x.State(), "the overflow breaker trips like any other")
	_, err := g.Execute(context.Background(), "y", ok)
	assert.ErrorIs(t, err, circuit.ErrOpen)
	clk.Advance(time.Second)
	_, err = g.Execute(context.Background(), "y", ok)
	assert.NoError(t, err)
	assert.Equal(t, circuit.Closed, x.State(), "and recovers")
	names := 0
	g.Breakers(func(string, circuit.Metrics) bool { names++; return true })
	assert.Equal(t, 2, names, "the overflow breaker is not a member")
}

func TestANaNKeyGetsTheOverflowBreaker(t *testing.T) {
	g, err := circuit.NewGroup[float64, int](circuit.WithGroupLimit(10, time.Minute))
	require.NoError(t, err)
	defer g.Close()
	assert.Same(t, g.Get(math.NaN()), g.Get(math.NaN()))
	assert.Equal(t, "overflow", g.Get(math.NaN()).Name())
	assert.Equal(t, 0, g.Len(), "no member per NaN")
}

func TestConcurrentGetAndEviction(t *testing.T) {
	g, clk := limitedGroup(t, 64, time.Millisecond)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				key := fmt.Sprintf("k%d", (i*7+w)%200)
				_, _ = g.Execute(context.Background(), key, func(context.Context) (int, error) { return 1, nil })
				if i%50 == 0 {
					clk.Advance(time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, g.Len(), 64)
}

func TestEvictedMembersStopSharing(t *testing.T) {
	store := &countingStore{}
	g, clk := limitedGroup(t, 1, time.Minute, circuit.WithStore(store, time.Hour))
	_ = g.Get("a")
	clk.Advance(2 * time.Minute)
	_ = g.Get("b") // evicts a after one scan marks it idle
	clk.Advance(2 * time.Minute)
	_ = g.Get("c")
	// goleak (TestMain) fails the package if an evicted member's sync
	// goroutine were still running after the group's Close.
	require.NoError(t, g.Close())
}

type countingStore struct{}

func (*countingStore) Sync(context.Context, circuit.Report) (circuit.View, error) {
	return circuit.View{}, nil
}
