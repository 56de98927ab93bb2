package redisstore_test

import (
	"context"
	"strconv"
	"strings"
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

// report is a report of replica at now on a window of 10 one-second buckets.
func report(replica string, now time.Time) circuit.Report {
	return circuit.Report{Name: name, Replica: replica, Now: now, Width: time.Second, Buckets: 10,
		Lease: time.Second, TTL: 100 * time.Second}
}

func epochOf(t time.Time) int64 { return t.UnixNano() / int64(time.Second) }

// What the script keeps in Redis beyond what a View shows (the rules
// themselves are RunStoreSuite's): only replicas open on their own evidence
// stay in the open hash, and a trip that ends leaves no key behind.
func TestScriptKeepsNoStaleState(t *testing.T) {
	ctx := context.Background()
	rdb := newClient(t, redistest.Start(t))
	store := newStore(t, rdb)
	keys := store.Keys(name)
	sync := func(r circuit.Report) circuit.View {
		t.Helper()
		v, err := store.Sync(ctx, r)
		require.NoError(t, err)
		return v
	}

	t.Run("the open hash holds the replicas open on their own evidence", func(t *testing.T) {
		a := report("a", start)
		a.OpenUntil = start.Add(5 * time.Second)
		b := report("b", start)
		b.OpenUntil = start.Add(2 * time.Second)
		sync(a)
		sync(b)
		assert.Equal(t, int64(2), rdb.HLen(ctx, keys[2]).Val())
		sync(report("a", start.Add(time.Second)))
		assert.Equal(t, []string{"b"}, rdb.HKeys(ctx, keys[2]).Val(), "a replica no longer open leaves it at its sync")
		sync(report("c", start.Add(3*time.Second)))
		assert.Zero(t, rdb.HLen(ctx, keys[2]).Val(), "one whose open period ended leaves it at anyone's sync")
	})

	t.Run("a trip that ends leaves no key, its lease included", func(t *testing.T) {
		at := start.Add(10 * time.Second)
		r := report("a", at)
		r.Trip = &circuit.Trip{Round: at.UnixNano(), Until: at.Add(5 * time.Second), Reason: "x"}
		sync(r)
		r = report("a", at.Add(5*time.Second))
		r.Probes, r.Round = 1, at.UnixNano()
		require.Equal(t, 1, sync(r).Probes)
		require.Equal(t, "a", rdb.HGet(ctx, keys[3], "holder").Val())
		r = report("a", at.Add(5*time.Second))
		r.Closed = at.UnixNano()
		require.Nil(t, sync(r).Trip)
		assert.Zero(t, rdb.Exists(ctx, keys[3]).Val(), "the trip ended")
	})
}

func TestKeysExpire(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	r := report("a", start)
	r.OpenUntil = start.Add(time.Minute)
	r.Deltas = []circuit.Bucket{{Epoch: epochOf(start), Failures: 1}}
	r.Trip = &circuit.Trip{Round: start.UnixNano(), Until: start.Add(time.Minute), Reason: "x"}

	store := newStore(t, rdb)
	_, err := store.Sync(ctx, r)
	require.NoError(t, err)
	for _, k := range store.Keys(name) {
		ttl := rdb.PTTL(ctx, k).Val()
		assert.True(t, ttl > 99*time.Second && ttl <= 100*time.Second, "%s: TTL %v, want the report's 100s", k, ttl)
	}

	short := newStore(t, rdb, redisstore.WithTTL(1500*time.Millisecond), redisstore.WithPrefix("short:"))
	_, err = short.Sync(ctx, r)
	require.NoError(t, err)
	for _, k := range short.Keys(name) {
		require.True(t, strings.HasPrefix(k, "short:{payments}:"), k)
		ttl := rdb.PTTL(ctx, k).Val()
		assert.True(t, ttl > 0 && ttl <= 1500*time.Millisecond, "%s: TTL %v, want WithTTL's 1.5s", k, ttl)
	}
	require.Eventually(t, func() bool { return rdb.Exists(ctx, short.Keys(name)...).Val() == 0 },
		5*time.Second, 10*time.Millisecond, "abandoned state leaves Redis")

	// A breaker's own TTL: 10 × its window.
	b := circuit.MustNew[int](circuit.WithName("own-ttl"), circuit.WithWindow(2*time.Second, 2),
		circuit.WithStore(store, syncEvery))
	defer b.Close()
	require.Eventually(t, func() bool { return rdb.Exists(ctx, store.Keys("own-ttl")[1]).Val() == 1 }, 5*time.Second, time.Millisecond)
	ttl := rdb.PTTL(ctx, store.Keys("own-ttl")[1]).Val()
	assert.True(t, ttl > 19*time.Second && ttl <= 20*time.Second, "TTL %v, want 10 × the 2s window", ttl)
}

// Case 4: malformed state in Redis is a reported error, never a panic, and
// the breaker carries on.
func TestMalformedStateIsReported(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	store := newStore(t, rdb)
	keys := store.Keys(name)
	e := epochOf(start)

	tests := []struct {
		name    string
		corrupt func()
		want    string
	}{
		{"a count that is not an integer", func() { rdb.HSet(ctx, keys[0], itoa(e)+":f", "lots") },
			"circuit: malformed state: count " + itoa(e) + ":f is lots, not an integer"},
		{"a replica's last sync that is not a time", func() { rdb.HSet(ctx, keys[1], "ghost", "yesterday") },
			"circuit: malformed state: last sync of ghost is yesterday, not an integer"},
		{"an open period that is not a time", func() { rdb.HSet(ctx, keys[2], "ghost", "1.5") },
			"circuit: malformed state: open period of ghost is 1.5, not an integer"},
		{"a trip without its end", func() { rdb.HSet(ctx, keys[3], "round", "1") },
			"circuit: malformed state: trip until is false, not an integer"},
		{"a key of another type", func() { rdb.Set(ctx, keys[0], "x", 0) }, "WRONGTYPE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, rdb.Del(ctx, keys...).Err())
			tt.corrupt()
			r := report("a", start)
			r.Deltas = []circuit.Bucket{{Epoch: e, Successes: 1}}
			_, err := store.Sync(ctx, r)
			require.Error(t, err)
			assert.Contains(t, err.Error(), `redisstore: sync "payments" on `+srv.Addr()+": ")
			assert.Contains(t, err.Error(), tt.want)
			assert.False(t, rdb.HExists(ctx, keys[1], "a").Val(), "a failed sync writes nothing")
		})
	}

	// Through a breaker: reported, counted, calls unaffected, and over once
	// the bad value is gone.
	require.NoError(t, rdb.Del(ctx, keys...).Err())
	rdb.HSet(ctx, keys[3], "round", "1", "until", "soon")
	var reported atomic.Pointer[error]
	b := circuit.MustNew[int](circuit.WithName(name), circuit.WithStore(store, syncEvery),
		circuit.WithStoreErrors(func(err error) { reported.Store(&err) }))
	defer b.Close()
	require.Eventually(t, func() bool { return b.Metrics().StoreErrors >= 2 }, 5*time.Second, time.Millisecond)
	assert.ErrorContains(t, *reported.Load(), "trip until is soon, not an integer")
	require.NoError(t, calls(b, 100, succeed))
	require.NoError(t, rdb.Del(ctx, keys[3]).Err())
	require.Eventually(t, func() bool { return rdb.HLen(ctx, keys[1]).Val() == 1 },
		5*time.Second, time.Millisecond, "syncs succeed again")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Redis Cluster: a one-node cluster rejects a script whose keys lie in
// different slots, so this passes only because a breaker's keys share the
// {name} hash tag, for any name.
func TestRedisCluster(t *testing.T) {
	srv := redistest.StartCluster(t)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.Addr()}})
	t.Cleanup(func() { _ = rdb.Close() })
	store := newStore(t, rdb)

	for _, n := range []string{"payments", "", "a{b}c", "}{"} {
		r := report("a", start)
		r.Name = n
		r.Deltas = []circuit.Bucket{{Epoch: epochOf(start), Failures: 2}}
		v, err := store.Sync(context.Background(), r)
		require.NoError(t, err, "name %q", n)
		assert.Equal(t, []circuit.Bucket{{Epoch: epochOf(start), Failures: 2}}, v.Buckets)
	}

	bs := replicas(t, 3, store, circuittest.NewClock(start), sharetest.RateOnly(20)...)
	waitReplicas(t, rdb, store, 3)
	for _, b := range bs {
		calls(b, 10, fail)
	}
	sharetest.WaitFor(t, circuit.Open, bs, nil)
}

func TestSyncRejectsATooFineWindow(t *testing.T) {
	store := newStore(t, newClient(t, redistest.Start(t)))
	r := report("a", start)
	r.Width = time.Microsecond
	_, err := store.Sync(context.Background(), r)
	assert.EqualError(t, err, `redisstore: sync "payments": window of 10 buckets of 1µs: want buckets of at least 1ms`)
}
