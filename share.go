package circuit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// The seam between a breaker and its sharer (WithStore). Each side calls a
// few named methods of the other and reaches into none of its fields.

// peer is what the core tells its sharer, or asks of it: nil without a store.
type peer interface {
	tripped(gen uint64, at, until int64, reason string, cluster bool) // under the core's mu
	closed(gen uint64, at int64)                                      // under the core's mu
	probes(gen uint64) int                                            // trial calls granted to half-open round gen
	others(now int64) counts                                          // the other replicas' window at now
	errors() uint64
	close() error
}

// host is what the sharer asks of its breaker's core.
type host interface {
	current() word                     // the state word now
	openPeriodOf(w word) (int64, bool) // the end of Open round w's period, if w is current
	rejections() uint64                // Metrics.Rejected
	state() State                      // makes the transitions that are due
	openByCluster(w word, reason string, now, until int64) bool
	closeByCluster(w word, now int64)
	recheck(w word, now int64) // the rate rules, on cluster-wide figures
}

func (c *core) current() word      { return word(c.word.Load()) }
func (c *core) rejections() uint64 { return c.rejected.Load() }

func (c *core) openPeriodOf(w word) (int64, bool) {
	if w.state() != Open {
		return 0, false
	}
	o := c.open.Load() // stored before the word entered Open
	return o.until, o.gen == w.gen()
}

// openByCluster opens the breaker, in w, on a trip the store says is in force,
// until the end the store gave; it reports whether it did.
func (c *core) openByCluster(w word, reason string, now, until int64) bool {
	return c.move(change{from: w, to: Open, reason: "opened by the cluster: " + reason, at: now, until: until, cluster: true})
}

// closeByCluster closes the breaker, in w, when the trip it followed ended.
func (c *core) closeByCluster(w word, now int64) {
	c.move(change{from: w, to: Closed, reason: "closed by the cluster: its trip ended", at: now})
}

// recheck applies the rate rules in Closed round w: other replicas' outcomes
// may have brought the cluster-wide figures to a trip without a failure here.
func (c *core) recheck(w word, now int64) {
	if w.state() == Closed && (c.cfg.rate > 0 || c.cfg.slowThreshold > 0) {
		c.checkRates(w, now)
	}
}

// Sharing, in outline. The sync goroutine reads the time window's buckets
// and pushes what they gained since the last accepted sync (the call path
// does no extra work for it), with any trip to publish, and keeps the view
// that comes back as the other replicas' counts (view sums minus what this
// replica pushed): others() adds them to the local window on the failure
// path, lock-free. After each sync it applies the view: it opens the breaker
// on a cluster trip it has not applied yet, closes it when the trip it
// follows has ended, takes up the probe lease, publishes a trip when a
// quorum of replicas is open, and checks the trip rules on the cluster-wide
// figures (another replica's outcomes can trip this one without a failure of
// its own).
//
// A replica "follows" the cluster trip it was opened by (or that it adopted,
// being open already): for the Open round gen it started in and the
// half-open round gen+1 after it. In that half-open round it admits only the
// trials the lease grants; a trial that closes it (round gen+2) ends the trip
// for everyone, and one that fails reopens it and publishes the next trip.

// sharer runs a breaker's syncs with its Store.
type sharer struct {
	c       host
	store   Store
	every   time.Duration
	timeout time.Duration // of one Sync
	replica string
	// Read-only copies of the breaker's settings, and its clock and window
	// (whose geometry is fixed; read through timeWindow.read).
	name    string
	clk     *clock
	tw      *timeWindow
	trials  int
	quorumN int // 0: a majority
	ttl     time.Duration
	onError func(error)

	ctx    context.Context // canceled by close
	cancel context.CancelFunc
	kick   chan struct{} // a trip asks for a sync now; buffered 1, sent without blocking
	done   chan struct{} // closed when the sync goroutine returns
	once   sync.Once

	// Read on the call path without a lock; written by the sync goroutine
	// (view, healthy, lease, errs) and under core.mu by tripped (lease) and
	// closed (resetEpoch, resets, lease). Each is meaningful on its own; the
	// one ordering relied on is view before healthy (see sync).
	view    atomic.Pointer[sharedView]
	healthy atomic.Bool // the last sync succeeded: use the view and the lease
	// lease is halfGen<<leaseBits | trials granted, for the half-open round
	// of the cluster trip this replica follows; 0 when it follows none.
	lease atomic.Uint64
	// grantUntil is the clock reading at which the store's lease behind a
	// grant ends: the sync's start plus the Lease it asked for. It is stored
	// before a grant is, so that a grant is never read with an older bound.
	grantUntil atomic.Int64
	// resetEpoch is the Unix epoch of the bucket of the last window reset:
	// shared counts of that bucket and older predate it and are ignored.
	resetEpoch atomic.Int64
	resets     atomic.Uint64 // window resets, so that the sync goroutine notices one
	errs       atomic.Uint64

	// mu guards what tripped and closed (called under core.mu) and the sync
	// goroutine tell each other. Lock order: core.mu, then mu; the sync
	// goroutine never holds mu while it calls into the core.
	mu          sync.Mutex
	publish     *Trip  // a trip to publish at the next sync
	publishGen  uint64 // the Open round publish belongs to
	ownGen      uint64 // the Open round that is on own evidence; 0: none
	closedRound int64  // a trip this replica's trials ended, to report
	follow      int64  // Round of the cluster trip followed; 0: none
	followGen   uint64 // the Open round in which it follows it
	applied     int64  // Round of the last trip applied or adopted
	applying    bool   // the sync goroutine is opening on a trip: the Open round applyGen until applyUntil
	applyGen    uint64
	applyUntil  int64
	lastRound   int64 // the last Round made here, so that Rounds never repeat

	// Owned by the sync goroutine.
	pushed       map[int64][4]int64 // per Unix epoch: counts pushed, by counter slot
	seenResets   uint64
	lastRejected uint64
	since        time.Time // first accepted sync since New or a failed one: two periods on, the view counts every live replica
}

// sharedView is what the call path reads of the last sync: the other
// replicas' counts by Unix epoch.
type sharedView struct {
	others []Bucket
}

const (
	leaseBits = 16 // trials fit: maxTrials is 1<<16 - 1
	// minSyncTimeout bounds a sync when syncEvery is shorter: a store that
	// answers in tens of milliseconds is not failing.
	minSyncTimeout = time.Second
)

func newSharer(c *core) *sharer {
	every := c.cfg.syncEvery
	if every == 0 {
		every = DefaultSyncEvery
	}
	s := &sharer{
		c:       c,
		store:   c.cfg.store,
		every:   every,
		timeout: max(every, minSyncTimeout),
		replica: replicaID(),
		name:    c.name,
		clk:     &c.clk,
		tw:      c.tw,
		trials:  c.cfg.trials,
		quorumN: c.cfg.quorum,
		ttl:     10 * c.cfg.windowLength,
		onError: c.cfg.onStoreError,
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		pushed:  make(map[int64][4]int64),
	}
	s.resetEpoch.Store(math.MinInt64)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.run()
	return s
}

// replicaID names a breaker instance uniquely and readably: host/pid/random
// (8 random bytes tell apart the breakers of one process).
func replicaID() string {
	host, _ := os.Hostname()
	var r [8]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(r[:]))
}

// others returns the other replicas' counts in the window at now, as of the
// last sync. Called on the failure path only.
func (s *sharer) others(now int64) counts {
	v := s.view.Load()
	if v == nil || !s.healthy.Load() {
		return counts{}
	}
	tw := s.tw
	cur := tw.epoch(now) + tw.unixEpoch0
	lo := max(cur-tw.n+1, s.resetEpoch.Load()+1)
	var n counts
	for _, b := range v.others {
		if b.Epoch >= lo && b.Epoch <= cur {
			n.successes += int(b.Successes)
			n.failures += int(b.Failures)
			n.slow += int(b.Slow)
			n.excluded += int(b.Excluded)
		}
	}
	return n
}

// tripped tells the sharer that the breaker entered Open round gen. Called
// under the breaker's mu.
func (s *sharer) tripped(gen uint64, at, until int64, reason string, cluster bool) {
	gen &= genMask
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.applying && cluster && gen == s.applyGen && until == s.applyUntil {
		return // the sync goroutine opening it on the cluster's trip
	}
	s.ownGen = gen
	// A trip on cluster-wide figures, or a failed trial of the cluster's
	// half-open round, opens every replica; any other waits for the quorum.
	if cluster || (s.follow != 0 && gen == s.followGen+2) {
		s.publishTrip(gen, at, until, reason)
	}
	s.wake()
}

// publishTrip sets a trip of the Open round gen to publish at the next sync.
// Until the store's view shows which trip is in force, the half-open round
// after it admits no trials (unless the store fails): the cluster's lease
// will say who probes. Called under mu.
func (s *sharer) publishTrip(gen uint64, at, until int64, reason string) {
	s.publish = &Trip{Round: s.roundID(at), Until: s.clk.at(until), Reason: reason}
	s.publishGen = gen
	s.lease.Store(((gen + 1) & genMask) << leaseBits)
}

// roundID returns a Round for a trip at clock reading at: its Unix time,
// made unique among this replica's Rounds. Called under mu.
func (s *sharer) roundID(at int64) int64 {
	r := max(s.clk.at(at).UnixNano(), s.lastRound+1)
	s.lastRound = r
	return r
}

// closed tells the sharer that the breaker closed (trials succeeded, or
// Reset) in round gen, with its window emptied. Called under the breaker's
// mu, before any call can see the new round.
func (s *sharer) closed(gen uint64, at int64) {
	gen &= genMask
	tw := s.tw
	s.resetEpoch.Store(tw.epoch(at) + tw.unixEpoch0)
	s.resets.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ownGen, s.publish = 0, nil
	if s.follow == 0 {
		return
	}
	if gen == s.followGen+2 {
		// Closed from the half-open round of the trip it follows: its
		// trials succeeded (or it was Reset then), which ends the trip.
		s.closedRound = s.follow
		s.wake()
	}
	s.follow = 0
	s.lease.Store(0)
}

// probes returns how many trial calls the half-open round gen may admit: the
// lease's grant in the half-open round of a cluster trip, else trials. A
// grant lapses with the store's lease behind it, so that a replica whose
// syncs fell behind cannot probe alongside the next holder.
func (s *sharer) probes(gen uint64) int {
	if v := s.lease.Load(); v != 0 && s.healthy.Load() {
		if v>>leaseBits != gen {
			// The lease word names another half-open round: one this
			// replica is about to enter (a sync applying a new trip sets it
			// before the state moves) or one it left. Round gen is not the
			// cluster's to probe in; the next sync sorts out which.
			return 0
		}
		grant := int(v & (1<<leaseBits - 1))
		if grant > 0 && s.clk.now() >= s.grantUntil.Load() {
			return 0
		}
		return grant
	}
	return s.trials
}

// leaseFor is the Lease a sync asks for: three sync periods, so that a
// holder renews it twice over before it ends, plus the sync timeout, so
// that a grant that came back from a slow sync can still be used.
func (s *sharer) leaseFor() time.Duration { return 3*s.every + s.timeout }

func (s *sharer) errors() uint64 { return s.errs.Load() }

// close stops the sync goroutine and waits for it; an in-flight Sync is
// canceled. It must not be called from the sync goroutine (a state-change
// hook of a transition the store made).
func (s *sharer) close() error {
	s.once.Do(func() {
		s.cancel()
		<-s.done
	})
	return nil
}

func (s *sharer) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}
