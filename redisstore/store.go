// Package redisstore shares the state of circuit breakers across the
// replicas of a service in Redis: it is a circuit.Store.
//
//	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"redis:6379"}})
//	b, err := circuit.New[*http.Response](
//		circuit.WithName("payments"),
//		circuit.WithStore(redisstore.New(rdb), 0),
//	)
//	defer b.Close()
//
// Each sync is one Lua script, run atomically by Redis: it adds the
// replica's outcome counts to per-bucket hash fields, reads the sums of the
// window, records the replica and whether it is open, and reads or sets the
// cluster-wide trip and its probe lease. A breaker's keys share one hash tag
// ({name}), so the script runs on Redis Cluster too; single nodes and
// Sentinel setups work as they are. Every key expires when no replica has
// synced for the TTL, so abandoned breakers do not leak memory.
//
// A value in Redis that the script cannot read (a key of another type, a
// count that is not an integer) makes the sync fail with an error that the
// breaker reports through circuit.WithStoreErrors; nothing is written then.
package redisstore

import (
	"context"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed33933975/circuit"
)

// Store is a circuit.Store on Redis. It is safe for concurrent use; one Store
// can serve every breaker of a process.
type Store struct {
	client redis.UniversalClient
	prefix string
	ttl    time.Duration
	err    error // a bad option, returned by every Sync
}

var _ circuit.Store = (*Store)(nil)

// An Option configures a Store.
type Option func(*Store)

// DefaultPrefix starts the keys of a Store made without WithPrefix.
const DefaultPrefix = "circuit:"

// New returns a Store that keeps its state through client: a *redis.Client,
// a *redis.ClusterClient, a Sentinel failover client or any other
// redis.UniversalClient. The caller keeps ownership of client and closes it
// after the breakers that use the Store.
//
// An invalid option does not make New fail: every Sync returns an error
// naming it, which the breaker reports (circuit.WithStoreErrors).
func New(client redis.UniversalClient, opts ...Option) *Store {
	s := &Store{client: client, prefix: DefaultPrefix}
	if client == nil {
		s.err = errors.New("redisstore: client is nil")
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// WithPrefix starts every key of the Store with prefix. The default is
// DefaultPrefix, "circuit:".
func WithPrefix(prefix string) Option {
	return func(s *Store) { s.prefix = prefix }
}

// WithTTL makes a breaker's keys expire when no replica has synced for d.
// The default (0) is the TTL the breakers ask for: 10 × their window.
func WithTTL(d time.Duration) Option {
	return func(s *Store) {
		if d < 0 || (d > 0 && d < time.Millisecond) {
			s.err = fmt.Errorf("redisstore: invalid option WithTTL: %v is below 1ms", d)
			return
		}
		s.ttl = d
	}
}

// Keys returns the keys that hold the state of the breakers named name:
// outcome counts by bucket, replicas' last syncs, replicas open on their own
// evidence, and the cluster-wide trip with its probe lease. All share the
// hash tag of name.
func (s *Store) Keys(name string) []string {
	k := s.prefix + hashTag(name)
	return []string{k + ":counts", k + ":replicas", k + ":open", k + ":trip"}
}

// hashTag returns {name}, the part of a key that Redis Cluster hashes; a
// name that is empty or holds a brace (which would end or void the tag) is
// hex-encoded behind a '#'.
func hashTag(name string) string {
	if name == "" || strings.ContainsAny(name, "{}") {
		return "{#" + hex.EncodeToString([]byte(name)) + "}"
	}
	return "{" + name + "}"
}

//go:embed sync.lua
var syncLua string

var syncScript = redis.NewScript(syncLua)

// Sync implements circuit.Store with one run of the sync script.
func (s *Store) Sync(ctx context.Context, r circuit.Report) (circuit.View, error) {
	if s.err != nil {
		return circuit.View{}, s.err
	}
	if r.Width < time.Millisecond || r.Buckets < 1 {
		return circuit.View{}, fmt.Errorf("redisstore: sync %q: window of %d buckets of %v: want buckets of at least 1ms", r.Name, r.Buckets, r.Width)
	}
	window := r.Width * time.Duration(r.Buckets)
	ttl := s.ttl
	if ttl == 0 {
		ttl = r.TTL
	}
	if ttl <= 0 {
		ttl = 10 * window
	}
	cur := r.Now.UnixNano() / int64(r.Width)
	args := []any{
		r.Now.UnixMilli(),
		cur,
		r.Buckets,
		window.Milliseconds(),
		max(ttl.Milliseconds(), 1),
		r.Replica,
		millis(r.OpenUntil),
		"", 0, "", // the trip to publish
		round(r.Closed),
		r.Probes,
		round(r.Round),
		max(r.Lease.Milliseconds(), 1),
	}
	if t := r.Trip; t != nil {
		args[7], args[8], args[9] = round(t.Round), millis(t.Until), t.Reason
	}
	for _, d := range r.Deltas {
		if d.Epoch <= cur-int64(r.Buckets) || d.Epoch > cur {
			continue // out of the window: no replica would read it
		}
		args = append(args, d.Epoch, d.Successes, d.Failures, d.Slow, d.Excluded)
	}
	res, err := syncScript.Run(ctx, s.client, s.Keys(r.Name), args...).Slice()
	if err != nil {
		return circuit.View{}, fmt.Errorf("redisstore: sync %q: %w", r.Name, err)
	}
	v, err := parseView(res)
	if err != nil {
		return circuit.View{}, fmt.Errorf("redisstore: sync %q: %w", r.Name, err)
	}
	return v, nil
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func round(r int64) string {
	if r == 0 {
		return ""
	}
	return strconv.FormatInt(r, 10)
}

// parseView reads the script's reply: replicas, open replicas, the trip's
// round, until (ms) and reason, the probes granted, then five integers per
// bucket with outcomes: epoch, successes, failures, slow, excluded.
func parseView(res []any) (circuit.View, error) {
	var v circuit.View
	if len(res) < 6 || (len(res)-6)%5 != 0 {
		return v, fmt.Errorf("unexpected reply of %d values", len(res))
	}
	ints := make([]int64, len(res))
	for i, x := range res {
		if i >= 2 && i <= 4 {
			continue // the trip's fields, read below
		}
		n, ok := x.(int64)
		if !ok {
			return v, fmt.Errorf("unexpected reply: value %d is %T, want an integer", i, x)
		}
		ints[i] = n
	}
	v.Replicas, v.OpenReplicas, v.Probes = int(ints[0]), int(ints[1]), int(ints[5])
	rs, ok1 := res[2].(string)
	until, ok2 := res[3].(int64)
	reason, ok3 := res[4].(string)
	if !ok1 || !ok2 || !ok3 {
		return v, fmt.Errorf("unexpected reply: trip fields %T, %T, %T", res[2], res[3], res[4])
	}
	if rs != "" {
		r, err := strconv.ParseInt(rs, 10, 64)
		if err != nil {
			return v, fmt.Errorf("malformed trip round %q", rs)
		}
		v.Trip = &circuit.Trip{Round: r, Until: time.UnixMilli(until), Reason: reason}
	}
	for i := 6; i < len(ints); i += 5 {
		v.Buckets = append(v.Buckets, circuit.Bucket{Epoch: ints[i], Successes: ints[i+1], Failures: ints[i+2],
			Slow: ints[i+3], Excluded: ints[i+4]})
	}
	return v, nil
}
