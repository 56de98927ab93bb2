package redisstore_test

import (
	"context"
	"errors"
	"sort"
	"sync"
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

// countingStore counts the syncs that its store answered.
type countingStore struct {
	circuit.Store
	n atomic.Int64
}

func (c *countingStore) Sync(ctx context.Context, r circuit.Report) (circuit.View, error) {
	v, err := c.Store.Sync(ctx, r)
	if err == nil {
		c.n.Add(1)
	}
	return v, err
}

// wait waits for n more answered syncs: every replica has had its turns,
// without sleeping a guessed time.
func (c *countingStore) wait(t *testing.T, n int64) {
	t.Helper()
	target := c.n.Load() + n
	require.Eventually(t, func() bool { return c.n.Load() >= target }, 5*time.Second, time.Millisecond)
}

// waitReplicas waits until n replicas have synced with Redis: the fleet is up.
func waitReplicas(t *testing.T, rdb redis.UniversalClient, store *redisstore.Store, n int) {
	t.Helper()
	key := store.Keys(name)[1]
	require.Eventually(t, func() bool { return rdb.HLen(context.Background(), key).Val() >= int64(n) },
		5*time.Second, time.Millisecond)
}

// Case 1: three replicas, minCalls 20, each seeing 10 calls at 100% failure:
// all three open, although none reached minCalls alone.
func TestClusterWideFailureRateOpensEveryReplica(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	store := redisstore.New(rdb)
	bs := replicas(t, 3, store, circuittest.NewClock(start), sharetest.RateOnly(20)...)
	waitReplicas(t, rdb, store, 3)

	for _, b := range bs {
		require.ErrorIs(t, calls(b, 10, fail), errBoom)
		assert.Equal(t, 10, b.Metrics().Calls, "10 calls on each replica: below minCalls alone")
	}
	t0 := time.Now()
	sharetest.WaitFor(t, circuit.Open, bs, nil)
	took := time.Since(t0)
	t.Logf("time to open (case 1, cluster-wide failure rate): all 3 replicas open %v after the last call; sync every %v", took, syncEvery)
	assert.Less(t, took, 2*syncEvery+sharetest.SchedulingSlack, "within two sync periods")
	for _, b := range bs {
		_, err := b.Execute(context.Background(), succeed)
		assert.ErrorIs(t, err, circuit.ErrOpen)
	}
}

// Case 2: one replica tripping alone on consecutive failures leaves the
// others closed; a second makes the quorum, and the third rejects.
func TestLocalTripSpreadsOnlyWithQuorum(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	store := redisstore.New(rdb)
	var mu sync.Mutex
	var reasons []string
	hook := circuit.WithOnStateChange(func(tr circuit.Transition) {
		mu.Lock()
		defer mu.Unlock()
		reasons = append(reasons, tr.Reason)
	})
	counted := &countingStore{Store: store}
	bs := replicas(t, 3, counted, circuittest.NewClock(start),
		circuit.WithConsecutiveFailures(3), circuit.WithFailureRate(0.5, 1000), hook)
	waitReplicas(t, rdb, store, 3)

	require.ErrorIs(t, calls(bs[0], 3, fail), errBoom)
	require.Equal(t, circuit.Open, bs[0].State(), "its own trip opens a replica at once")
	// Let every replica sync a few times: the others must stay closed.
	openOwn := func() int64 { return rdb.HLen(context.Background(), store.Keys(name)[2]).Val() }
	require.Eventually(t, func() bool { return openOwn() == 1 }, 5*time.Second, time.Millisecond, "replica 0 reports itself open")
	counted.wait(t, 3*3) // every replica syncs a few times more
	assert.Equal(t, []circuit.State{circuit.Open, circuit.Closed, circuit.Closed}, sharetest.States(bs), "one of three is no quorum")
	require.NoError(t, calls(bs[1], 1, succeed))

	require.ErrorIs(t, calls(bs[1], 3, fail), errBoom)
	t0 := time.Now()
	require.Eventually(t, func() bool {
		_, err := bs[2].Execute(context.Background(), succeed)
		return errors.Is(err, circuit.ErrOpen)
	}, 5*time.Second, time.Millisecond)
	took := time.Since(t0)
	t.Logf("time to open (case 2, quorum 2 of 3): the third replica rejects %v after the second trip; sync every %v", took, syncEvery)
	assert.Less(t, took, 2*syncEvery+sharetest.SchedulingSlack, "within two sync periods")
	mu.Lock()
	assert.Contains(t, reasons, "opened by the cluster: 2 of 3 replicas open")
	mu.Unlock()
	counted.wait(t, 3*3)
	assert.Equal(t, int64(2), openOwn(), "the replica opened by the cluster is not open on its own evidence")
}

// Case 2b: after a cluster-wide trip, at most trials probes reach the
// dependency across all replicas in a half-open round.
func TestHalfOpenProbesAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	store := redisstore.New(rdb)
	clk := circuittest.NewClock(start)
	const trials = 3
	bs := replicas(t, 3, store, clk, append(sharetest.RateOnly(20), circuit.WithHalfOpenTrials(trials))...)
	waitReplicas(t, rdb, store, 3)
	for _, b := range bs {
		calls(b, 10, fail)
	}
	sharetest.WaitFor(t, circuit.Open, bs, nil)

	var dep sharetest.Dependency
	callAll := func() { dep.CallAll(bs) }
	tripKey := store.Keys(name)[3]
	round := rdb.HGet(context.Background(), tripKey, "round").Val()
	require.NotEmpty(t, round)

	// The dependency is still down: the first trial fails and reopens all.
	clk.Advance(6 * time.Second)
	sharetest.WaitFor(t, circuit.Open, bs, callAll)
	assert.NotEqual(t, round, rdb.HGet(context.Background(), tripKey, "round").Val(), "a new trip")
	assert.Equal(t, int64(1), dep.Probes.Load(), "one failed trial reopens the cluster")

	// It has recovered: trials trials close the lease holder, the others follow.
	dep.Probes.Store(0)
	dep.Healthy.Store(true)
	clk.Advance(6 * time.Second)
	t0 := time.Now()
	sharetest.WaitFor(t, circuit.Closed, bs, callAll)
	t.Logf("half-open round: %d probes across 3 replicas (trials %d); all closed %v after the open period ended", dep.Probes.Load(), trials, time.Since(t0))
	assert.Equal(t, int64(trials), dep.Probes.Load(), "at most trials probes cluster-wide")
	assert.Zero(t, rdb.Exists(context.Background(), tripKey).Val(), "the trip ended")
}

// Case 3: Redis killed mid-run, then restarted.
func TestRedisDownAndBack(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	store := redisstore.New(rdb)
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
	assert.ErrorContains(t, *last.Load(), `circuit: breaker "payments": store sync: redisstore: sync "payments": `)

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
