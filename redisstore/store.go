// Package redisstore shares the state of circuit breakers across the
// replicas of a service in Redis: it is a circuit.Store.
//
//	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"redis:6379"}})
//	defer rdb.Close()
//	store, err := redisstore.New(rdb)
//	if err != nil {
//		return err
//	}
//	b, err := circuit.New[*http.Response](
//		circuit.WithName("payments"),
//		circuit.WithStore(store, 0),
//	)
//	if err != nil {
//		return err
//	}
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
// A sync that fails returns an error that names the breaker and the server,
// such as
//
//	redisstore: sync "payments" on 10.0.0.7:6379: dial tcp 10.0.0.7:6379: connect: connection refused
//
// and wraps the client's error, so that errors.Is finds
// context.DeadlineExceeded in it. The breaker reports it through
// circuit.WithStoreErrors and runs on its local state meanwhile. A value in
// Redis that the script cannot read (a key of another type, a count that is
// not an integer) fails the sync in the same way; nothing is written then.
package redisstore

import (
	"context"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed33933975/circuit"
)

// Store is a circuit.Store on Redis. It is safe for concurrent use; one Store
// can serve every breaker of a process. Make one with New.
type Store struct {
	client redis.UniversalClient
	prefix string
	ttl    time.Duration // 0: the TTL each report asks for
	on     string        // " on " and the server's address, for errors; "" if unknown
}

var _ circuit.Store = (*Store)(nil)

// An Option configures a Store made with New.
type Option func(*config)

// config is what the Options of one New call build up.
type config struct {
	prefix string
	ttl    time.Duration
	errs   []error
}

// DefaultPrefix starts the keys of a Store made without WithPrefix.
const DefaultPrefix = "circuit:"

// New returns a Store that keeps its state through client: a *redis.Client,
// a *redis.ClusterClient, a Sentinel failover client, a *redis.Ring or any
// other redis.UniversalClient. The caller keeps ownership of client and
// closes it after the breakers that use the Store.
//
// A nil client, a nil Option or an invalid option value makes New return a
// nil Store and an error wrapping circuit.ErrInvalidOption that names the
// option and the value, such as
//
//	circuit: invalid option redisstore.WithTTL: ttl -1s is not positive
//
// New does not contact the server: a server that is down is reported by
// each sync, to the breakers (see circuit.WithStoreErrors).
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	c := config{prefix: DefaultPrefix}
	addr, ok := serverAddr(client)
	if !ok {
		c.errs = append(c.errs, invalid("New", "client is nil"))
	}
	for i, o := range opts {
		if o == nil {
			c.errs = append(c.errs, invalid("Option", "option %d is nil", i))
			continue
		}
		o(&c)
	}
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	s := &Store{client: client, prefix: c.prefix, ttl: c.ttl}
	if addr != "" {
		s.on = " on " + addr
	}
	return s, nil
}

// invalid returns an error wrapping circuit.ErrInvalidOption that names the
// option and the value, as the core's errors do.
func invalid(option, format string, args ...any) error {
	return fmt.Errorf("%w redisstore.%s: %s", circuit.ErrInvalidOption, option, fmt.Sprintf(format, args...))
}

// serverAddr returns the address of the server that client talks to, for
// errors: a client's Addr (for a Sentinel failover client that is go-redis's
// "FailoverClient": the master moves), or the seed addresses of a cluster or
// ring, joined by commas. It is "" for a client of another type. ok is false
// for a nil client, typed or not.
func serverAddr(client redis.UniversalClient) (addr string, ok bool) {
	switch c := client.(type) {
	case nil:
		return "", false
	case *redis.Client:
		if c == nil {
			return "", false
		}
		return c.Options().Addr, true
	case *redis.ClusterClient:
		if c == nil {
			return "", false
		}
		return strings.Join(c.Options().Addrs, ","), true
	case *redis.Ring:
		if c == nil {
			return "", false
		}
		return strings.Join(slices.Sorted(maps.Values(c.Options().Addrs)), ","), true
	}
	return "", true
}

// WithPrefix starts every key of the Store with prefix. The default is
// DefaultPrefix, "circuit:". Give each service that shares a Redis database
// a prefix of its own when breakers of the same name must not share state.
// An empty prefix is invalid, and so is one holding a brace: Redis Cluster
// would take it for the start or end of the keys' hash tag.
func WithPrefix(prefix string) Option {
	return func(c *config) {
		switch {
		case prefix == "":
			c.errs = append(c.errs, invalid("WithPrefix", "prefix is empty"))
		case strings.ContainsAny(prefix, "{}"):
			c.errs = append(c.errs, invalid("WithPrefix", "prefix %q holds a brace, which Redis Cluster reads as a hash tag", prefix))
		default:
			c.prefix = prefix
		}
	}
}

// WithTTL makes a breaker's keys expire when no replica has synced for d,
// which must be at least 1ms (Redis expires keys to the millisecond). Without
// it the TTL is the one each breaker asks for: 10 × its window.
func WithTTL(d time.Duration) Option {
	return func(c *config) {
		switch {
		case d <= 0:
			c.errs = append(c.errs, invalid("WithTTL", "ttl %v is not positive", d))
		case d < time.Millisecond:
			c.errs = append(c.errs, invalid("WithTTL", "ttl %v is below 1ms", d))
		default:
			c.ttl = d
		}
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
		return circuit.View{}, fmt.Errorf("redisstore: sync %q%s: %w", r.Name, s.on, err)
	}
	v, err := parseView(res)
	if err != nil {
		return circuit.View{}, fmt.Errorf("redisstore: sync %q%s: %w", r.Name, s.on, err)
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
