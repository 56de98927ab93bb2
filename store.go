package circuit

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"sync/atomic"
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
	return func(c *config) {
		if fn == nil {
			c.fail(invalidf("WithStoreErrors", "function is nil"))
			return
		}
		c.onStoreError = fn
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
	c       *core
	store   Store
	every   time.Duration
	timeout time.Duration // of one Sync
	replica string

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
	tw := s.c.tw
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
	s.publish = &Trip{Round: s.roundID(at), Until: s.c.clk.at(until), Reason: reason}
	s.publishGen = gen
	s.lease.Store(((gen + 1) & genMask) << leaseBits)
}

// roundID returns a Round for a trip at clock reading at: its Unix time,
// made unique among this replica's Rounds. Called under mu.
func (s *sharer) roundID(at int64) int64 {
	r := max(s.c.clk.at(at).UnixNano(), s.lastRound+1)
	s.lastRound = r
	return r
}

// closed tells the sharer that the breaker closed (trials succeeded, or
// Reset) in round gen, with its window emptied. Called under the breaker's
// mu, before any call can see the new round.
func (s *sharer) closed(gen uint64, at int64) {
	gen &= genMask
	tw := s.c.tw
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
	if v := s.lease.Load(); v != 0 && v>>leaseBits == gen && s.healthy.Load() {
		grant := int(v & (1<<leaseBits - 1))
		if grant > 0 && s.c.clk.now() >= s.grantUntil.Load() {
			return 0
		}
		return grant
	}
	return s.c.cfg.trials
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

// run is the sync goroutine: a sync every tick, or at once after a trip. A
// sync that decides to publish a trip is followed by another at once.
func (s *sharer) run() {
	defer close(s.done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
		for i := 0; i < 2 && s.ctx.Err() == nil; i++ {
			if !s.sync() {
				break
			}
		}
	}
}

// sync makes one Sync and applies its view. It reports whether it has a trip
// to publish at once.
func (s *sharer) sync() (again bool) {
	c := s.c
	now := c.clk.now()
	r := Report{
		Name:    c.name,
		Replica: s.replica,
		Now:     c.clk.at(now),
		Width:   time.Duration(c.tw.width),
		Buckets: int(c.tw.n),
		Lease:   s.leaseFor(),
		TTL:     10 * c.cfg.windowLength,
	}
	read, fresh := s.deltas(now)
	if fresh {
		r.Deltas = s.diff(read)
	}

	w := word(c.word.Load())
	s.mu.Lock()
	if s.publishOver(w) {
		s.publish = nil
	}
	r.Trip, r.Closed = s.publish, s.closedRound
	follow, followGen, own := s.follow, s.followGen, s.ownGen
	s.mu.Unlock()

	if w.state() == Open && w.gen() == own {
		if rd := c.round.Load(); rd.gen == w.gen() && rd.until > now {
			r.OpenUntil = c.clk.at(rd.until)
		}
	}
	// Ask for the probe lease while following a trip and either calls come
	// (and are rejected) or a trial is out; give it up otherwise, so that an
	// idle replica does not hold the cluster's half-open round.
	rejected := c.rejected.Load()
	if follow != 0 && s.inRound(w, followGen) &&
		(rejected != s.lastRejected || (w.state() == HalfOpen && w.admitted() > 0)) {
		r.Probes, r.Round = c.cfg.trials, follow
	}
	s.lastRejected = rejected

	ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
	v, err := s.store.Sync(ctx, r)
	cancel()
	if err != nil {
		if s.ctx.Err() == nil { // not canceled by close
			s.fail(err)
		}
		return false
	}
	if s.since.IsZero() {
		s.since = time.Now()
	}
	if fresh {
		s.commit(read, now)
	}
	s.setView(v)
	s.healthy.Store(true) // after the view, so that others() never reads a stale one
	s.mu.Lock()
	if s.publish == r.Trip {
		s.publish = nil
	}
	if s.closedRound == r.Closed {
		s.closedRound = 0
	}
	s.mu.Unlock()
	return s.apply(v, r)
}

// publishOver reports whether the trip waiting to be published belongs to
// a round that w shows over. tripped sets publish before the breaker's word
// shows the new round, so a w read just before is older than publishGen:
// the trip is kept then. Called under mu.
func (s *sharer) publishOver(w word) bool {
	return s.publish != nil && genBefore(s.publishGen, w.gen())
}

func (s *sharer) fail(err error) {
	s.errs.Add(1)
	s.healthy.Store(false)
	s.since = time.Time{} // the store may come back empty: count the replicas anew
	if fn := s.c.cfg.onStoreError; fn != nil {
		fn(fmt.Errorf("%s: store sync: %w", breakerLabel(s.c.name), err))
	}
}

// inRound reports whether w is the Open round gen or the half-open round
// after it.
func (s *sharer) inRound(w word, gen uint64) bool {
	return (w.state() == Open && w.gen() == gen) || (w.state() == HalfOpen && w.gen() == (gen+1)&genMask)
}

// epochCounts are one bucket's counters read at a sync.
type epochCounts struct {
	epoch int64 // Unix epoch
	n     [4]int64
}

// deltas reads the window's live buckets at now. fresh is false when a
// window reset raced with the reading: nothing is pushed then.
//
// The live counters of one slot all count the same period: slot i holds
// periods congruent to i modulo the ring's size, which is at least the
// window's number of buckets, so only one of those lies in the window.
func (s *sharer) deltas(now int64) (read []epochCounts, fresh bool) {
	tw := s.c.tw
	if r := s.resets.Load(); r != s.seenResets {
		clear(s.pushed) // the window restarted from zero
		s.seenResets = r
	}
	cur := tw.epoch(now)
	buckets := tw.buckets()
	slots := make([]epochCounts, len(buckets))
	// In the window's read order, so that what is pushed errs like counts.
	for _, k := range readOrder {
		for i := range buckets {
			if n, age, ok := tw.live(buckets[i].c[k].Load(), uint32(cur)); ok && n != 0 {
				slots[i].epoch, slots[i].n[k] = cur-int64(age)+tw.unixEpoch0, int64(n)
			}
		}
	}
	for _, e := range slots {
		if e.n != [4]int64{} {
			read = append(read, e)
		}
	}
	if s.resets.Load() != s.seenResets {
		return nil, false
	}
	slices.SortFunc(read, func(a, b epochCounts) int { return cmp.Compare(a.epoch, b.epoch) })
	return read, true
}

// diff returns what read holds beyond what was pushed.
func (s *sharer) diff(read []epochCounts) []Bucket {
	var out []Bucket
	for _, e := range read {
		p := s.pushed[e.epoch]
		var d [4]int64
		for k := range d {
			d[k] = max(e.n[k]-p[k], 0)
		}
		if d != [4]int64{} {
			out = append(out, Bucket{Epoch: e.epoch, Successes: d[success], Failures: d[failure],
				Slow: d[slowSlot], Excluded: d[excluded]})
		}
	}
	return out
}

// commit records read as pushed, and forgets epochs that left the window.
func (s *sharer) commit(read []epochCounts, now int64) {
	for _, e := range read {
		p := s.pushed[e.epoch]
		for k := range p {
			p[k] = max(p[k], e.n[k])
		}
		s.pushed[e.epoch] = p
	}
	tw := s.c.tw
	lo := tw.epoch(now) + tw.unixEpoch0 - tw.n + 1
	for e := range s.pushed {
		if e < lo {
			delete(s.pushed, e)
		}
	}
}

// setView keeps the other replicas' part of v for others().
func (s *sharer) setView(v View) {
	others := make([]Bucket, 0, len(v.Buckets))
	for _, b := range v.Buckets {
		p := s.pushed[b.Epoch]
		o := Bucket{
			Epoch:     b.Epoch,
			Successes: max(b.Successes-p[success], 0),
			Failures:  max(b.Failures-p[failure], 0),
			Slow:      max(b.Slow-p[slowSlot], 0),
			Excluded:  max(b.Excluded-p[excluded], 0),
		}
		if o.Successes|o.Failures|o.Slow|o.Excluded != 0 {
			others = append(others, o)
		}
	}
	s.view.Store(&sharedView{others: others})
}

// apply acts on the view v that answered report r, and reports whether a
// trip is now waiting to be published.
func (s *sharer) apply(v View, r Report) (again bool) {
	c := s.c
	c.state() // first make the Open → HalfOpen transition an ended period is due
	now := c.clk.now()
	w := word(c.word.Load())

	s.mu.Lock()
	follow, followGen, applied := s.follow, s.followGen, s.applied
	if follow != 0 && !s.inRound(w, followGen) {
		// It left the round some other way (a failed trial, ForceOpen,
		// Disable); a lease word of a trip it publishes stays.
		s.follow, follow = 0, 0
		if lw := s.lease.Load(); lw>>leaseBits == (followGen+1)&genMask {
			s.lease.CompareAndSwap(lw, 0)
		}
	}
	s.mu.Unlock()

	if v.Trip == nil && follow == 0 {
		s.mu.Lock()
		if s.publish == nil && s.follow == 0 {
			s.lease.Store(0) // no trip to wait for: its own rounds are its own
		}
		s.mu.Unlock()
	}
	switch t := v.Trip; {
	case t == nil && follow != 0:
		// The trip it follows has ended: its trials succeeded elsewhere (or
		// the store forgot it).
		c.change(change{from: w, to: Closed, reason: "closed by the cluster: its trip ended", at: now})
	case t != nil && t.Round == follow:
		grant := 0
		if r.Probes > 0 && r.Round == t.Round {
			grant = min(v.Probes, c.cfg.trials)
		}
		half := (followGen + 1) & genMask
		s.mu.Lock()
		// Only over the lease word of the round it followed at the start:
		// a failed trial may have published the next trip since, with a
		// lease word of its own.
		if lw := s.lease.Load(); s.follow == follow && s.followGen == followGen && lw>>leaseBits == half {
			if grant > 0 {
				s.grantUntil.Store(int64(r.Now.Sub(c.clk.base) + r.Lease))
			}
			s.lease.Store(half<<leaseBits | uint64(grant))
		}
		s.mu.Unlock()
	case t != nil && t.Round != applied:
		switch w.state() {
		case Closed, HalfOpen:
			s.open(w, t, now)
		case Open:
			s.adopt(w, t)
		}
	}

	// A quorum of replicas open on their own evidence opens the rest. The
	// count of replicas is trusted once this one has synced for two periods,
	// in which every live replica has synced too (with a period to spare):
	// before, a replica that trips at start-up, or whose store has just come
	// back empty, would find itself a majority of one.
	if v.Trip == nil && !r.OpenUntil.IsZero() && v.OpenReplicas >= s.quorum(v.Replicas) &&
		time.Since(s.since) >= 2*s.every {
		s.mu.Lock()
		if s.publish == nil && s.ownGen == w.gen() && w.state() == Open {
			if rd := c.round.Load(); rd.gen == w.gen() {
				s.publishTrip(w.gen(), now, rd.until, fmt.Sprintf("%d of %d replicas open", v.OpenReplicas, v.Replicas))
			}
		}
		s.mu.Unlock()
	}

	// Other replicas' outcomes may have brought the cluster-wide figures to
	// a trip without a failure here.
	if w := word(c.word.Load()); w.state() == Closed && (c.cfg.rate > 0 || c.cfg.slowThreshold > 0) {
		c.checkTrip(w, now, failure, c.cfg.slowThreshold > 0, 0, 0)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publish != nil
}

// open opens the breaker, in w, on the cluster's trip t.
func (s *sharer) open(w word, t *Trip, now int64) {
	c := s.c
	until := max(int64(t.Until.Sub(c.clk.base)), 1) // 0 would mean "compute it"
	gen := (w.gen() + 1) & genMask
	// Follow the trip before the breaker can enter it, so that the lease and
	// tripped see it from the start; undo it if the change loses a race.
	s.mu.Lock()
	prevFollow, prevGen := s.follow, s.followGen
	s.applying, s.applyGen, s.applyUntil = true, gen, until
	s.follow, s.followGen = t.Round, gen
	s.mu.Unlock()
	prevLease := s.lease.Swap(((gen + 1) & genMask) << leaseBits)

	ok := c.change(change{from: w, to: Open, reason: "opened by the cluster: " + t.Reason,
		at: now, until: until, cluster: true})

	s.mu.Lock()
	defer s.mu.Unlock()
	s.applying = false
	if ok {
		s.applied = t.Round
		return
	}
	if s.follow == t.Round && s.followGen == gen {
		s.follow, s.followGen = prevFollow, prevGen
		s.lease.CompareAndSwap(((gen+1)&genMask)<<leaseBits, prevLease)
	}
}

// adopt makes the breaker, Open in w already, follow the cluster's trip t:
// its half-open round is then the cluster's.
func (s *sharer) adopt(w word, t *Trip) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if word(s.c.word.Load()).gen() != w.gen() {
		return // it moved on; the next sync looks again
	}
	s.follow, s.followGen, s.applied = t.Round, w.gen(), t.Round
	if s.publishGen == w.gen() {
		s.publish = nil // its own trip lost to t, or is t
	}
	s.lease.Store(((w.gen() + 1) & genMask) << leaseBits)
}

// quorum is how many replicas open on their own evidence open the rest.
func (s *sharer) quorum(replicas int) int {
	if q := s.c.cfg.quorum; q > 0 {
		return q
	}
	return replicas/2 + 1
}
