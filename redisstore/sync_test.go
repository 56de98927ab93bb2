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

// The rules of circuit.Store, one Sync at a time.
func TestSyncFollowsTheStoreRules(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	store := redisstore.New(newClient(t, srv))
	now := start
	e := epochOf(now)
	sync := func(r circuit.Report) circuit.View {
		t.Helper()
		v, err := store.Sync(ctx, r)
		require.NoError(t, err)
		return v
	}

	t.Run("deltas add up by bucket, and the view holds the window's sums", func(t *testing.T) {
		r := report("a", now)
		r.Deltas = []circuit.Bucket{{Epoch: e - 1, Successes: 2, Failures: 1}, {Epoch: e, Failures: 3, Slow: 1, Excluded: 4}}
		sync(r)
		r = report("b", now)
		r.Deltas = []circuit.Bucket{{Epoch: e, Successes: 5, Failures: 1}, {Epoch: e - 10, Failures: 99}}
		v := sync(r)
		assert.Equal(t, []circuit.Bucket{
			{Epoch: e - 1, Successes: 2, Failures: 1},
			{Epoch: e, Successes: 5, Failures: 4, Slow: 1, Excluded: 4},
		}, v.Buckets, "a bucket older than the window is neither added nor shown")
		assert.Equal(t, 2, v.Replicas)

		later := sync(report("a", now.Add(9*time.Second)))
		assert.Equal(t, []circuit.Bucket{{Epoch: e, Successes: 5, Failures: 4, Slow: 1, Excluded: 4}}, later.Buckets,
			"buckets leave the view with the window")
	})

	t.Run("replicas count while they synced within the window", func(t *testing.T) {
		v := sync(report("c", now.Add(9*time.Second)))
		assert.Equal(t, 3, v.Replicas, "a and c synced now, b 9s ago: all within the 10s window")
		v = sync(report("c", now.Add(11*time.Second)))
		assert.Equal(t, 2, v.Replicas, "b, last seen 11s ago, is out of the 10s window")
	})

	t.Run("open replicas count until their own open period ends", func(t *testing.T) {
		at := now.Add(12 * time.Second)
		r := report("a", at)
		r.OpenUntil = at.Add(5 * time.Second)
		v := sync(r)
		assert.Equal(t, 1, v.OpenReplicas)
		v = sync(report("c", at.Add(time.Second)))
		assert.Equal(t, 1, v.OpenReplicas)
		v = sync(report("c", at.Add(6*time.Second)))
		assert.Equal(t, 0, v.OpenReplicas, "a's open period ended")
	})

	t.Run("the first trip wins until its open period ends", func(t *testing.T) {
		at := now.Add(20 * time.Second)
		r := report("a", at)
		r.Trip = &circuit.Trip{Round: at.UnixNano(), Until: at.Add(5 * time.Second), Reason: "failure rate 60% >= 50% over 30 calls across replicas"}
		v := sync(r)
		require.NotNil(t, v.Trip)
		assert.Equal(t, r.Trip.Round, v.Trip.Round)
		assert.Equal(t, r.Trip.Reason, v.Trip.Reason)
		assert.True(t, r.Trip.Until.Equal(v.Trip.Until), "until %v, want %v", v.Trip.Until, r.Trip.Until)

		r2 := report("b", at.Add(time.Second))
		r2.Trip = &circuit.Trip{Round: at.Add(time.Second).UnixNano(), Until: at.Add(6 * time.Second), Reason: "later"}
		v = sync(r2)
		assert.Equal(t, r.Trip.Round, v.Trip.Round, "a trip in force is kept")

		r3 := report("b", at.Add(5*time.Second))
		r3.Trip = &circuit.Trip{Round: at.Add(5 * time.Second).UnixNano(), Until: at.Add(10 * time.Second), Reason: "trial call failed"}
		v = sync(r3)
		assert.Equal(t, r3.Trip.Round, v.Trip.Round, "a trip in its half-open round gives way")
	})

	t.Run("one replica at a time holds the probe lease", func(t *testing.T) {
		at := now.Add(25 * time.Second)
		tr := sync(report("a", at)).Trip
		require.NotNil(t, tr)
		ask := func(replica string, at time.Time, probes int) int {
			r := report(replica, at)
			r.Probes, r.Round = probes, tr.Round
			return sync(r).Probes
		}
		assert.Equal(t, 3, ask("a", at, 3))
		assert.Equal(t, 0, ask("b", at, 3), "a holds it")
		assert.Equal(t, 3, ask("a", at.Add(500*time.Millisecond), 3), "the holder renews it")
		assert.Equal(t, 0, ask("b", at.Add(1400*time.Millisecond), 3), "renewed: a still holds it")
		assert.Equal(t, 3, ask("b", at.Add(1600*time.Millisecond), 3), "expired: b takes it")
		assert.Equal(t, 0, ask("b", at.Add(1700*time.Millisecond), 0), "b gives it up")
		assert.Equal(t, 3, ask("c", at.Add(1800*time.Millisecond), 3), "c takes it")
		r := report("c", at.Add(1900*time.Millisecond))
		r.Probes, r.Round = 3, tr.Round-1
		assert.Equal(t, 0, sync(r).Probes, "a lease is for the trip in force only")
	})

	t.Run("Closed ends the trip of its round only", func(t *testing.T) {
		at := now.Add(27 * time.Second)
		tr := sync(report("a", at)).Trip
		require.NotNil(t, tr)
		r := report("c", at)
		r.Closed = tr.Round - 1
		assert.NotNil(t, sync(r).Trip)
		r.Closed = tr.Round
		assert.Nil(t, sync(r).Trip)
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

	store := redisstore.New(rdb)
	_, err := store.Sync(ctx, r)
	require.NoError(t, err)
	for _, k := range store.Keys(name) {
		ttl := rdb.PTTL(ctx, k).Val()
		assert.True(t, ttl > 99*time.Second && ttl <= 100*time.Second, "%s: TTL %v, want the report's 100s", k, ttl)
	}

	short := redisstore.New(rdb, redisstore.WithTTL(1500*time.Millisecond), redisstore.WithPrefix("short:"))
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
	store := redisstore.New(rdb)
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
			assert.Contains(t, err.Error(), `redisstore: sync "payments": `)
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
	store := redisstore.New(rdb)

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

func TestInvalidStore(t *testing.T) {
	ctx := context.Background()
	_, err := redisstore.New(nil).Sync(ctx, report("a", start))
	assert.EqualError(t, err, "redisstore: client is nil")

	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	_, err = redisstore.New(rdb, redisstore.WithTTL(-time.Second)).Sync(ctx, report("a", start))
	assert.EqualError(t, err, "redisstore: invalid option WithTTL: -1s is below 1ms")

	r := report("a", start)
	r.Width = time.Microsecond
	_, err = redisstore.New(rdb).Sync(ctx, r)
	assert.ErrorContains(t, err, "want buckets of at least 1ms")
}
