package redisstore_test

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/redisstore"
	"github.com/seed33933975/circuit/redisstore/redistest"
)

func TestNewRejectsInvalidOptions(t *testing.T) {
	// New does not contact the server: no redis-server is needed.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	cases := []struct {
		name   string
		client redis.UniversalClient
		opts   []redisstore.Option
		want   string
	}{
		{"a negative TTL", rdb, []redisstore.Option{redisstore.WithTTL(-time.Second)},
			"circuit: invalid option redisstore.WithTTL: ttl -1s is not positive"},
		{"a zero TTL: leave WithTTL out for the breakers' own", rdb, []redisstore.Option{redisstore.WithTTL(0)},
			"circuit: invalid option redisstore.WithTTL: ttl 0s is not positive"},
		{"a TTL below Redis's millisecond", rdb, []redisstore.Option{redisstore.WithTTL(time.Microsecond)},
			"circuit: invalid option redisstore.WithTTL: ttl 1µs is below 1ms"},
		{"an empty prefix", rdb, []redisstore.Option{redisstore.WithPrefix("")},
			"circuit: invalid option redisstore.WithPrefix: prefix is empty"},
		{"a prefix with a brace", rdb, []redisstore.Option{redisstore.WithPrefix("svc{1}:")},
			`circuit: invalid option redisstore.WithPrefix: prefix "svc{1}:" holds a brace, which Redis Cluster reads as a hash tag`},
		{"a nil option", rdb, []redisstore.Option{redisstore.WithTTL(time.Minute), nil},
			"circuit: invalid option redisstore.Option: option 1 is nil"},
		{"a nil client", nil, nil, "circuit: invalid option redisstore.New: client is nil"},
		{"a nil *redis.Client", (*redis.Client)(nil), nil, "circuit: invalid option redisstore.New: client is nil"},
		{"a nil *redis.ClusterClient", (*redis.ClusterClient)(nil), nil, "circuit: invalid option redisstore.New: client is nil"},
		{"a nil *redis.Ring", (*redis.Ring)(nil), nil, "circuit: invalid option redisstore.New: client is nil"},
		{"every mistake is reported", nil, []redisstore.Option{redisstore.WithTTL(-time.Second), redisstore.WithPrefix("")},
			"circuit: invalid option redisstore.New: client is nil\n" +
				"circuit: invalid option redisstore.WithTTL: ttl -1s is not positive\n" +
				"circuit: invalid option redisstore.WithPrefix: prefix is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store, err := redisstore.New(tc.client, tc.opts...)
			assert.Nil(t, store)
			require.ErrorIs(t, err, circuit.ErrInvalidOption)
			assert.EqualError(t, err, tc.want)
		})
	}

	t.Run("valid options", func(t *testing.T) {
		store, err := redisstore.New(rdb, redisstore.WithTTL(time.Millisecond), redisstore.WithPrefix("checkout:"))
		require.NoError(t, err)
		assert.Equal(t, "checkout:{payments}:counts", store.Keys("payments")[0])
	})
}

// A failed sync names the breaker, the operation and the server, and wraps
// the client's error.
func TestSyncErrorNamesTheServer(t *testing.T) {
	t.Run("a server that is down", func(t *testing.T) {
		srv := redistest.Start(t)
		store := newStore(t, noRetries(t, srv))
		_, err := store.Sync(context.Background(), report("a", start))
		require.NoError(t, err)

		srv.Stop()
		_, err = store.Sync(context.Background(), report("a", start))
		require.Error(t, err)
		assert.Regexp(t, `^redisstore: sync "payments" on `+srv.Addr()+`: .*connection refused`, err.Error())
		assert.ErrorIs(t, err, syscall.ECONNREFUSED, "the client's error is wrapped")
	})

	t.Run("a sync past its deadline", func(t *testing.T) {
		srv := redistest.Start(t)
		store := newStore(t, newClient(t, srv))
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		_, err := store.Sync(ctx, report("a", start))
		assert.EqualError(t, err, `redisstore: sync "payments" on `+srv.Addr()+`: context deadline exceeded`)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})

	// The seed addresses of a cluster or a ring, which may be many.
	a, b := closedAddr(t), closedAddr(t)
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{b, a}})
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"one": a, "two": b}})
	sorted := min(a, b) + "," + max(a, b)
	for _, tc := range []struct {
		name   string
		client redis.UniversalClient
		addrs  string
	}{
		{"a cluster: its addresses in order", cluster, b + "," + a},
		{"a ring: its shards' addresses, sorted", ring, sorted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(func() { _ = tc.client.Close() })
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			_, err := newStore(t, tc.client).Sync(ctx, report("a", start))
			require.Error(t, err)
			assert.Regexp(t, `^redisstore: sync "payments" on `+tc.addrs+`: `, err.Error())
		})
	}

	t.Run("a client of another kind: no address", func(t *testing.T) {
		srv := redistest.Start(t)
		store := newStore(t, wrapped{noRetries(t, srv)})
		srv.Stop()
		_, err := store.Sync(context.Background(), report("a", start))
		assert.Regexp(t, `^redisstore: sync "payments": dial tcp`, err.Error())
	})
}

// noRetries returns a client of srv that reports a failure at once.
func noRetries(t *testing.T, srv *redistest.Server) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// wrapped is a redis.UniversalClient that redisstore cannot look into.
type wrapped struct{ *redis.Client }

// closedAddr returns an address of 127.0.0.1 where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}
