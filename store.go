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
// The policy (which figures trip, the quorum, when to close) is the
// breakers'; a Store only keeps and sums what they report, by these rules,
// applied to the state of r.Name atomically in one Sync:
//
//  1. Add each of r.Deltas to the sums of its bucket.
//  2. Remember that r.Replica synced at r.Now, and until when it is open on
//     its own evidence (r.OpenUntil; zero: it is not).
//  3. If r.Trip is not nil, make it the trip in force, unless a trip is in
//     force whose Until is after r.Now: the first trip wins, and a trip whose
//     open period has ended (its half-open round) gives way to the next.
//  4. If r.Closed is the Round of the trip in force, end that trip.
//  5. If r.Probes > 0 and r.Round is the Round of the trip in force, give
//     r.Replica the trip's probe lease for r.Lease from r.Now, unless another
//     replica holds it unexpired; View.Probes is r.Probes if r.Replica holds
//     it, else 0. If r.Probes is 0, r.Replica gives up the lease if it holds
//     it. A new trip starts with no lease.
//  6. Return the View at r.Now (see View), and keep the state for r.TTL after
//     the last Sync of any replica.
//
// Times are compared as the replicas report them, so the replicas' wall
// clocks should agree to well within a bucket width (NTP does).
//
// Implementations must be safe for concurrent use, and Sync must return soon
// after ctx is done.
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
	// the n-th covering Unix nanoseconds [n*Width, (n+1)*Width). The window
	// at Now is the Buckets buckets up to the one holding Now.
	Width   time.Duration
	Buckets int
	// Deltas are the outcomes counted since the last accepted report, by
	// bucket.
	Deltas []Bucket
	// OpenUntil, if not zero, says that the replica is open on its own
	// evidence until then: it counts towards the quorum. It is zero for a
	// replica opened by the cluster, and for one whose open period is over.
	OpenUntil time.Time
	// Trip, if not nil, is a cluster-wide trip to publish.
	Trip *Trip
	// Closed, if not zero, is the Round of a cluster-wide trip whose trial
	// calls this replica saw succeed: the store ends that trip.
	Closed int64
	// Probes asks for the probe lease of the trip of Round Round, for this
	// many trial calls; 0 gives it up. Lease is how long a lease lasts
	// unless renewed by the next report.
	Probes int
	Round  int64
	Lease  time.Duration
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
	// buckets in the window. Buckets with nothing in them may be left out.
	Buckets []Bucket
	// Replicas counts the replicas that synced within the window (this one
	// included), and OpenReplicas those of them open on their own evidence
	// at the report's Now.
	Replicas, OpenReplicas int
	// Trip is the cluster-wide trip in force, or nil.
	Trip *Trip
	// Probes is the number of trial calls this replica may make in the trip's
	// half-open round: the report's Probes if it holds the lease, else 0.
	Probes int
}

// DefaultSyncEvery is how often a breaker syncs with its Store when WithStore
// is given a syncEvery of 0.
const DefaultSyncEvery = 500 * time.Millisecond

// WithStore shares the breaker's state with other replicas through s, syncing
// every syncEvery (0: DefaultSyncEvery) on a goroutine of its own; Close
// stops it. Breakers of the same name share state. Transitions that a sync
// makes run WithOnStateChange's function on that goroutine, so the function
// must not call Close.
//
// With a store the failure-rate and slow-call rules apply to the sum of every
// replica's window, and a trip on those figures opens every replica at its
// next sync. A trip on this replica's own evidence alone (consecutive
// failures, hung calls) opens it at once, and the others only when a quorum
// of replicas is open on their own evidence (WithQuorum). In the half-open
// round after a cluster-wide trip, one replica at a time holds the store's
// probe lease and makes the trial calls; the others reject calls with
// ErrTooManyRequests until the round ends. The lease lasts three sync
// periods plus the sync timeout and is renewed at every sync; a replica whose
// syncs fall behind makes no trial call once its lease has ended.
//
// A sync that fails or takes longer than max(syncEvery, 1s) is reported to
// WithStoreErrors' function and counted in Metrics.StoreErrors; meanwhile
// the breaker runs on its local state alone. It needs a time window.
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
// others. Replicas opened by the cluster and half-open ones do not count. The
// default is a majority of the replicas that synced within the window.
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
	return func(c *config) { setNonNil(c, "WithStoreErrors", "function", &c.onStoreError, fn, fn == nil) }
}
