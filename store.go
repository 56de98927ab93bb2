package circuit

import (
	"context"
	"time"
)

// Store shares the state of breakers of one name across the replicas of a
// service, so that their trip rules see the whole cluster's traffic and a trip
// on some replicas opens the others. Package redisstore provides one on Redis.
//
// The call path never waits on a Store: each breaker syncs with it in the
// background, at most one Sync in flight, every WithStore syncEvery. A Store
// that fails or hangs leaves the breakers running on their local state.
//
// Implementations must be safe for concurrent use.
type Store interface {
	// Sync adds the report of one replica's breaker to the shared state and
	// returns the cluster's view of it, atomically.
	Sync(ctx context.Context, r Report) (View, error)
}

// Report is what one replica's breaker sends to a Store at a sync.
type Report struct {
	Name    string // the breaker's name: breakers of one name share state
	Replica string // unique per breaker instance
	Now     time.Time
	// Width and Buckets describe the time window: Buckets buckets of Width,
	// the n-th covering Unix nanoseconds [n*Width, (n+1)*Width).
	Width   time.Duration
	Buckets int
	// Deltas are the outcomes counted since the last accepted report, by
	// bucket.
	Deltas []Bucket
	// Open says that the replica is open on its own evidence, for the quorum.
	Open bool
	// Trip, if not nil, is a cluster-wide trip to publish.
	Trip *Trip
	// Closed, if not zero, is the Round of a cluster-wide trip whose trial
	// calls this replica saw succeed: the store ends that trip.
	Closed int64
	// Probes asks for this many half-open trial leases for round Round.
	Probes int
	Round  int64
	// TTL is how long the store keeps the breaker's state after the last sync.
	TTL time.Duration
}

// Bucket holds the outcomes of one bucket of a time window.
type Bucket struct {
	Epoch                               int64 // Unix nanoseconds / Width
	Successes, Failures, Slow, Excluded int64
}

// Trip is a cluster-wide trip.
type Trip struct {
	Round  int64     // identifies the trip: its time in Unix nanoseconds
	Until  time.Time // end of the open period
	Reason string
}

// View is the cluster's view of a breaker, as a Store returns it.
type View struct {
	// Buckets holds the sums over every replica, this one included, of the
	// buckets in the window.
	Buckets []Bucket
	// Replicas counts the replicas that synced within the window, and
	// OpenReplicas those of them open on their own evidence.
	Replicas, OpenReplicas int
	// Trip is the cluster-wide trip in force, or nil.
	Trip *Trip
	// Probes is the number of trial leases this replica holds for the round
	// it asked about.
	Probes int
}

// WithStore shares the breaker's state with other replicas through s, syncing
// every syncEvery (0: every 500ms). Call Close to stop it. It needs a time
// window.
func WithStore(s Store, syncEvery time.Duration) Option {
	return func(c *config) {
		switch {
		case s == nil:
			c.fail(invalidf("WithStore", "store is nil"))
		case syncEvery < 0:
			c.fail(invalidf("WithStore", "syncEvery %v is negative", syncEvery))
		default:
			c.store, c.syncEvery = s, syncEvery
		}
	}
}

// WithQuorum sets how many replicas must be open on their own evidence before
// a local trip (one that the cluster-wide figures do not show) opens the
// others. The default is a majority of the replicas that synced within the
// window.
func WithQuorum(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail(invalidf("WithQuorum", "n %d is below 1", n))
			return
		}
		c.quorum = n
	}
}

// WithStoreErrors calls fn with every error of a sync with WithStore's store.
// fn runs on the breaker's sync goroutine and must not block for long.
func WithStoreErrors(fn func(error)) Option {
	return func(c *config) {
		if fn == nil {
			c.fail(invalidf("WithStoreErrors", "function is nil"))
			return
		}
		c.onStoreError = fn
	}
}

// sharer runs a breaker's syncs with its Store.
//
// TODO(store): the sync loop; this is the interface the core calls.
type sharer struct {
	c *core
}

func newSharer(c *core) *sharer { return &sharer{c: c} }

// others returns the other replicas' counts in the window at now, as of the
// last sync. Called on the failure path only.
func (s *sharer) others(now int64) counts { return counts{} }

// tripped tells the sharer that the breaker entered Open round gen. Called
// under the breaker's mu.
func (s *sharer) tripped(gen uint64, at, until int64, reason string, cluster bool) {}

// closed tells the sharer that the breaker closed (trials succeeded, or
// Reset). Called under the breaker's mu.
func (s *sharer) closed(gen uint64, at int64) {}

// probes returns how many trial calls the half-open round gen may admit.
func (s *sharer) probes(gen uint64) int { return s.c.cfg.trials }

func (s *sharer) errors() uint64 { return 0 }

func (s *sharer) close() error { return nil }
