package redisstore_test

import (
	"context"
	"errors"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
	"github.com/seed33933975/circuit/internal/sharetest"
	"github.com/seed33933975/circuit/redisstore"
	"github.com/seed33933975/circuit/redisstore/redistest"
)

// These tests run against a real redis-server (see package redistest), each
// on a server of its own. The breakers' time is a fake clock; their syncs run
// on real tickers, every syncEvery.

const (
	syncEvery = 50 * time.Millisecond
	name      = "payments"
)

var (
	errBoom = errors.New("boom")
	start   = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
)

func succeed(context.Context) (int, error) { return 1, nil }
func fail(context.Context) (int, error)    { return 0, errBoom }

func calls(b *circuit.Breaker[int], n int, fn func(context.Context) (int, error)) error {
	var err error
	for range n {
		_, err = b.Execute(context.Background(), fn)
	}
	return err
}

func newClient(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// replicas returns n breakers named name on one fake clock, sharing store,
// with opts after the sharing options. They are closed when the test ends.
func replicas(t *testing.T, n int, store circuit.Store, clk *circuittest.Clock, opts ...circuit.Option) []*circuit.Breaker[int] {
	t.Helper()
	return sharetest.Replicas(t, n, name, store, syncEvery, clk, opts...)
}

// newStore returns a Store on rdb with opts; it must be valid.
func newStore(t *testing.T, rdb redis.UniversalClient, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(rdb, opts...)
	require.NoError(t, err)
	return s
}

// waitReplicas waits until n replicas have synced with Redis: the fleet is up.
func waitReplicas(t *testing.T, rdb redis.UniversalClient, store *redisstore.Store, n int) {
	t.Helper()
	key := store.Keys(name)[1]
	require.Eventually(t, func() bool { return rdb.HLen(context.Background(), key).Val() >= int64(n) },
		5*time.Second, time.Millisecond)
}

// The scenarios that every circuit.Store must pass, each on a redis-server
// of its own.
func TestStoreSuite(t *testing.T) {
	sharetest.RunStoreSuite(t, syncEvery, func(t *testing.T) circuit.Store {
		return newStore(t, newClient(t, redistest.Start(t)))
	})
}

// Case 3: Redis killed mid-run, then restarted.
func TestRedisDownAndBack(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	store := newStore(t, rdb)
	var reported atomic.Int64
	var last atomic.Pointer[error]
	hook := circuit.WithStoreErrors(func(err error) {
		reported.Add(1)
		last.Store(&err)
	})
	bs := replicas(t, 3, store, circuittest.NewClock(start), circuit.WithConsecutiveFailures(5), hook)
	waitReplicas(t, rdb, store, 3)
	require.Zero(t, reported.Load())

	srv.Stop()
	require.Eventually(t, func() bool {
		for _, b := range bs {
			if b.Metrics().StoreErrors == 0 {
				return false
			}
		}
		return true
	}, 5*time.Second, time.Millisecond, "every replica reports the failing syncs")
	assert.ErrorContains(t, *last.Load(), `circuit: breaker "payments": store sync: redisstore: sync "payments" on `+srv.Addr()+": ",
		"the error names the breaker, the operation and the server")

	// Calls flow on local state, as fast as through a breaker without a store
	// (medians of alternated calls: robust to scheduling pauses).
	local := circuit.MustNew[int]()
	var shared, alone []time.Duration
	for i := range 3000 {
		b := bs[i%3]
		t1 := time.Now()
		_, err := b.Execute(context.Background(), succeed)
		t2 := time.Now()
		_, _ = local.Execute(context.Background(), succeed)
		shared, alone = append(shared, t2.Sub(t1)), append(alone, time.Since(t2))
		require.NoError(t, err)
	}
	sm, lm := median(shared), median(alone)
	t.Logf("calls with Redis down: median %v (without a store: %v), slowest %v", sm, lm, slowest(shared))
	assert.Less(t, sm, 2*lm+time.Microsecond, "no latency added while Redis is down")
	// The local rules still work: 5 failures in a row trip replica 0.
	require.ErrorIs(t, calls(bs[0], 5, fail), errBoom)
	assert.Equal(t, []circuit.State{circuit.Open, circuit.Closed, circuit.Closed}, sharetest.States(bs))

	// Redis comes back, empty: syncs succeed again, and sharing resumes: a
	// second replica's trip makes the quorum that opens the third.
	srv.Restart()
	waitReplicas(t, rdb, store, 3)
	errs := reported.Load()
	require.ErrorIs(t, calls(bs[1], 5, fail), errBoom)
	t0 := time.Now()
	sharetest.WaitFor(t, circuit.Open, bs, nil)
	t.Logf("after the restart, the quorum opened the third replica in %v", time.Since(t0))
	assert.Equal(t, errs, reported.Load(), "no errors once Redis answers")
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func slowest(d []time.Duration) time.Duration {
	var m time.Duration
	for _, x := range d {
		m = max(m, x)
	}
	return m
}
