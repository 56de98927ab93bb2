package sharetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
)

// The breakers of the suite are all called name; their clocks start at start.
const name = "payments"

var (
	start   = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	errBoom = errors.New("boom")
)

func succeed(context.Context) (int, error) { return 1, nil }
func fail(context.Context) (int, error)    { return 0, errBoom }

// calls runs n calls of fn through b and returns the last error.
func calls(b *circuit.Breaker[int], n int, fn func(context.Context) (int, error)) error {
	var err error
	for range n {
		_, err = b.Execute(context.Background(), fn)
	}
	return err
}

// RunStoreSuite runs the scenarios that every circuit.Store must pass, each a
// subtest of t named after the rule it holds: the rules of one Sync, as the
// circuit.Store documentation states them, and what breakers sharing state
// through the store do with them (a trip on the cluster's figures, the
// quorum, the coordinated half-open round).
//
// newStore returns an empty store for one subtest, and releases it when that
// subtest ends. The breakers sync every syncEvery, on real tickers; their
// clocks are fake. Each scenario that needs a bound of real time allows two
// sync periods, plus slack for a loaded machine.
func RunStoreSuite(t *testing.T, syncEvery time.Duration, newStore func(t *testing.T) circuit.Store) {
	t.Run("the rules of one Sync", func(t *testing.T) { syncRules(t, newStore(t)) })
	t.Run("a trip on the cluster's figures opens every replica", func(t *testing.T) {
		clusterTrip(t, syncEvery, newStore(t))
	})
	t.Run("a local trip spreads only with a quorum", func(t *testing.T) {
		quorum(t, syncEvery, newStore)
	})
	t.Run("one replica at a time probes in the cluster's half-open round", func(t *testing.T) {
		for _, trials := range []int{2, 3} {
			t.Run(fmt.Sprintf("%d trials", trials), func(t *testing.T) {
				probes(t, syncEvery, newStore(t), trials)
			})
		}
	})
}

// report is a report of replica at now on a window of 10 one-second buckets.
func report(replica string, now time.Time) circuit.Report {
	return circuit.Report{Name: name, Replica: replica, Now: now, Width: time.Second, Buckets: 10,
		Lease: time.Second, TTL: 100 * time.Second}
}

func epochOf(t time.Time) int64 { return t.UnixNano() / int64(time.Second) }

// syncRules checks the rules of circuit.Store one Sync at a time. The
// subtests run in order on one store: each starts from what the ones before
// it left.
func syncRules(t *testing.T, store circuit.Store) {
	ctx := context.Background()
	now := start
	e := epochOf(now)
	sync := func(t *testing.T, r circuit.Report) circuit.View {
		t.Helper()
		v, err := store.Sync(ctx, r)
		require.NoError(t, err)
		return v
	}

	t.Run("deltas add up by bucket, and the view holds the window's sums", func(t *testing.T) {
		r := report("a", now)
		r.Deltas = []circuit.Bucket{{Epoch: e - 1, Successes: 2, Failures: 1}, {Epoch: e, Failures: 3, Slow: 1, Excluded: 4}}
		sync(t, r)
		r = report("b", now)
		r.Deltas = []circuit.Bucket{{Epoch: e, Successes: 5, Failures: 1}, {Epoch: e - 10, Failures: 99}}
		v := sync(t, r)
		assert.Equal(t, []circuit.Bucket{
			{Epoch: e - 1, Successes: 2, Failures: 1},
			{Epoch: e, Successes: 5, Failures: 4, Slow: 1, Excluded: 4},
		}, v.Buckets, "a bucket older than the window is neither added nor shown")
		assert.Equal(t, 2, v.Replicas)

		later := sync(t, report("a", now.Add(9*time.Second)))
		assert.Equal(t, []circuit.Bucket{{Epoch: e, Successes: 5, Failures: 4, Slow: 1, Excluded: 4}}, later.Buckets,
			"buckets leave the view with the window")
	})

	t.Run("replicas count while they synced within the window", func(t *testing.T) {
		v := sync(t, report("c", now.Add(9*time.Second)))
		assert.Equal(t, 3, v.Replicas, "a and c synced now, b 9s ago: all within the 10s window")
		v = sync(t, report("c", now.Add(11*time.Second)))
		assert.Equal(t, 2, v.Replicas, "b, last seen 11s ago, is out of the 10s window")
	})

	t.Run("open replicas count until their own open period ends", func(t *testing.T) {
		at := now.Add(12 * time.Second)
		r := report("a", at)
		r.OpenUntil = at.Add(5 * time.Second)
		v := sync(t, r)
		assert.Equal(t, 1, v.OpenReplicas)
		v = sync(t, report("c", at.Add(time.Second)))
		assert.Equal(t, 1, v.OpenReplicas)
		v = sync(t, report("c", at.Add(6*time.Second)))
		assert.Equal(t, 0, v.OpenReplicas, "a's open period ended")
	})

	t.Run("the first trip wins until its open period ends", func(t *testing.T) {
		at := now.Add(20 * time.Second)
		r := report("a", at)
		r.Trip = &circuit.Trip{Round: at.UnixNano(), Until: at.Add(5 * time.Second), Reason: "failure rate 60% >= 50% over 30 calls across replicas"}
		v := sync(t, r)
		require.NotNil(t, v.Trip)
		assert.Equal(t, r.Trip.Round, v.Trip.Round)
		assert.Equal(t, r.Trip.Reason, v.Trip.Reason)
		assert.True(t, r.Trip.Until.Equal(v.Trip.Until), "until %v, want %v", v.Trip.Until, r.Trip.Until)

		r2 := report("b", at.Add(time.Second))
		r2.Trip = &circuit.Trip{Round: at.Add(time.Second).UnixNano(), Until: at.Add(6 * time.Second), Reason: "later"}
		v = sync(t, r2)
		assert.Equal(t, r.Trip.Round, v.Trip.Round, "a trip in force is kept")

		r3 := report("b", at.Add(5*time.Second))
		r3.Trip = &circuit.Trip{Round: at.Add(5 * time.Second).UnixNano(), Until: at.Add(10 * time.Second), Reason: "trial call failed"}
		v = sync(t, r3)
		assert.Equal(t, r3.Trip.Round, v.Trip.Round, "a trip in its half-open round gives way")
	})

	t.Run("one replica at a time holds the probe lease", func(t *testing.T) {
		at := now.Add(25 * time.Second)
		tr := sync(t, report("a", at)).Trip
		require.NotNil(t, tr)
		ask := func(replica string, at time.Time, probes int) int {
			r := report(replica, at)
			r.Probes, r.Round = probes, tr.Round
			return sync(t, r).Probes
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
		assert.Equal(t, 0, sync(t, r).Probes, "a lease is for the trip in force only")
	})

	t.Run("Closed ends the trip of its round only", func(t *testing.T) {
		at := now.Add(27 * time.Second)
		tr := sync(t, report("a", at)).Trip
		require.NotNil(t, tr)
		r := report("c", at)
		r.Closed = tr.Round - 1
		assert.NotNil(t, sync(t, r).Trip)
		r.Closed = tr.Round
		assert.Nil(t, sync(t, r).Trip)
	})
}

// recorder passes syncs on to the store under test and keeps what the
// scenarios read of them: how many the store answered, from which replicas,
// and the last view. It records a view before returning it, and a breaker
// has one sync in flight at a time, so once a replica has acted on a view,
// that view or a later one of the same replica has been recorded.
type recorder struct {
	circuit.Store

	mu       sync.Mutex
	answered int64
	replicas map[string]bool
	last     circuit.View
}

func newRecorder(s circuit.Store) *recorder {
	return &recorder{Store: s, replicas: map[string]bool{}}
}

func (r *recorder) Sync(ctx context.Context, rep circuit.Report) (circuit.View, error) {
	v, err := r.Store.Sync(ctx, rep)
	if err == nil {
		r.mu.Lock()
		r.answered++
		r.replicas[rep.Replica] = true
		r.last = v
		r.mu.Unlock()
	}
	return v, err
}

// view returns the view of the sync recorded last.
func (r *recorder) view() circuit.View {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// waitSyncs waits until the store has answered n more syncs: every replica
// has then had its turn, without sleeping a guessed time.
func (r *recorder) waitSyncs(t *testing.T, n int64) {
	t.Helper()
	r.mu.Lock()
	target := r.answered + n
	r.mu.Unlock()
	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.answered >= target
	}, 5*time.Second, time.Millisecond)
}

// waitReplicas waits until n replicas have synced: the fleet is up.
func (r *recorder) waitReplicas(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.replicas) >= n
	}, 5*time.Second, time.Millisecond)
}

// Transitions collects transitions from WithOnStateChange, for tests of one
// breaker or of a fleet; safe for concurrent use. Its zero value is ready.
type Transitions struct {
	mu sync.Mutex
	ts []circuit.Transition
}

// Hook is the function to give WithOnStateChange.
func (tr *Transitions) Hook(t circuit.Transition) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.ts = append(tr.ts, t)
}

// Get returns a copy of the transitions so far, in order.
func (tr *Transitions) Get() []circuit.Transition {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]circuit.Transition(nil), tr.ts...)
}

// clusterTrip: three replicas, minCalls 20, each seeing 10 calls at 100%
// failure: all three open, although none reached minCalls alone.
func clusterTrip(t *testing.T, syncEvery time.Duration, store circuit.Store) {
	rec := newRecorder(store)
	var ts Transitions
	bs := Replicas(t, 3, name, rec, syncEvery, circuittest.NewClock(start),
		append(RateOnly(20), circuit.WithOnStateChange(ts.Hook))...)
	rec.waitReplicas(t, 3)

	for _, b := range bs {
		require.ErrorIs(t, calls(b, 10, fail), errBoom)
		assert.Equal(t, 10, b.Metrics().Calls, "10 calls on each replica: below minCalls alone")
	}
	t0 := time.Now()
	WaitFor(t, circuit.Open, bs, nil)
	took := time.Since(t0)
	t.Logf("cluster-wide failure rate: all 3 replicas open %v after the last call; sync every %v", took, syncEvery)
	assert.Less(t, took, 2*syncEvery+schedulingSlack, "within two sync periods")

	for _, tr := range ts.Get() {
		require.Equal(t, circuit.Open, tr.To)
		assert.Regexp(t, `failure rate 100% >= 50% over (2|3)0 calls across replicas|opened by the cluster: `, tr.Reason)
	}
	for _, b := range bs {
		_, err := b.Execute(context.Background(), succeed)
		assert.ErrorIs(t, err, circuit.ErrOpen)
	}
}

// quorum: replicas tripping alone on consecutive failures leave the others
// closed until they make a quorum; then the others open too.
func quorum(t *testing.T, syncEvery time.Duration, newStore func(t *testing.T) circuit.Store) {
	tests := []struct {
		name     string
		replicas int
		quorum   []circuit.Option
		spread   int // how many replicas must trip before the rest open
	}{
		{"default quorum is a majority: 2 of 3", 3, nil, 2},
		{"default quorum is a majority: 3 of 4", 4, nil, 3},
		{"WithQuorum(2) of 5", 5, []circuit.Option{circuit.WithQuorum(2)}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(newStore(t))
			var ts Transitions
			opts := append([]circuit.Option{circuit.WithConsecutiveFailures(3), circuit.WithFailureRate(0.5, 1000),
				circuit.WithOnStateChange(ts.Hook)}, tt.quorum...)
			bs := Replicas(t, tt.replicas, name, rec, syncEvery, circuittest.NewClock(start), opts...)
			rec.waitReplicas(t, tt.replicas)

			below := make([]circuit.State, tt.replicas)
			for i := range bs {
				below[i] = circuit.Closed
				if i < tt.spread-1 {
					below[i] = circuit.Open
					require.ErrorIs(t, calls(bs[i], 3, fail), errBoom)
					require.Equal(t, circuit.Open, bs[i].State(), "a local trip opens its replica at once")
				}
			}
			require.Eventually(t, func() bool { return rec.view().OpenReplicas == tt.spread-1 },
				5*time.Second, time.Millisecond, "the tripped replicas report themselves open")
			rec.waitSyncs(t, int64(3*tt.replicas)) // every replica syncs a few times more
			assert.Equal(t, below, States(bs), "below the quorum the others stay closed: %+v", ts.Get())
			for _, b := range bs[tt.spread-1:] {
				_, err := b.Execute(context.Background(), succeed)
				assert.NoError(t, err)
			}

			require.ErrorIs(t, calls(bs[tt.spread-1], 3, fail), errBoom)
			t0 := time.Now()
			rest := bs[tt.spread:]
			require.Eventually(t, func() bool {
				for _, b := range rest {
					if _, err := b.Execute(context.Background(), succeed); !errors.Is(err, circuit.ErrOpen) {
						return false
					}
				}
				return true
			}, 5*time.Second, time.Millisecond)
			took := time.Since(t0)
			t.Logf("quorum trip: the remaining replicas reject %v after the quorum-making trip; sync every %v", took, syncEvery)
			assert.Less(t, took, 2*syncEvery+schedulingSlack, "within two sync periods")

			rec.waitSyncs(t, int64(3*tt.replicas))
			assert.Equal(t, tt.spread, rec.view().OpenReplicas,
				"replicas opened by the cluster do not count as open on their own evidence")
			all := ts.Get()
			assert.Equal(t, fmt.Sprintf("opened by the cluster: %d of %d replicas open", tt.spread, tt.replicas),
				all[len(all)-1].Reason)
		})
	}
}

// probes: after a cluster-wide trip, at most trials probes reach the
// dependency across all replicas in a half-open round; a failed one reopens
// them all, in a new trip, and enough successful ones close them all.
func probes(t *testing.T, syncEvery time.Duration, store circuit.Store, trials int) {
	rec := newRecorder(store)
	clk := circuittest.NewClock(start)
	bs := Replicas(t, 3, name, rec, syncEvery, clk, append(RateOnly(20), circuit.WithHalfOpenTrials(trials))...)
	rec.waitReplicas(t, 3)
	for _, b := range bs {
		calls(b, 10, fail)
	}
	WaitFor(t, circuit.Open, bs, nil)

	var dep dependency
	call := func() { dep.callAll(bs) }
	// All three may open on the cluster's figures before the trip they
	// publish is in the store.
	var first *circuit.Trip
	require.Eventually(t, func() bool { first = rec.view().Trip; return first != nil }, 5*time.Second, time.Millisecond,
		"the trip is published")

	// The dependency is still down: the first trial fails and reopens all.
	clk.Advance(6 * time.Second)
	WaitFor(t, circuit.Open, bs, call)
	next := rec.view().Trip
	require.NotNil(t, next)
	assert.NotEqual(t, first.Round, next.Round, "a new trip")
	assert.Equal(t, int64(1), dep.probes.Load(), "the first failed trial reopened the cluster")

	// It has recovered: trials successful trials close the lease holder, and
	// the trip's end the others.
	dep.probes.Store(0)
	dep.healthy.Store(true)
	clk.Advance(6 * time.Second)
	t0 := time.Now()
	WaitFor(t, circuit.Closed, bs, call)
	t.Logf("half-open round: %d probes across 3 replicas (trials %d); all closed %v after the open period ended",
		dep.probes.Load(), trials, time.Since(t0))
	assert.Equal(t, int64(trials), dep.probes.Load(), "at most trials probes across all replicas in the round")
	assert.Nil(t, rec.view().Trip, "the closing replica ended the trip")

	// The window still holds the 30 failures of before the trip, but a
	// replica ignores shared counts from before its recovery.
	clk.Advance(10 * time.Second)
	rec.waitSyncs(t, 3*3)
	for _, b := range bs {
		require.ErrorIs(t, calls(b, 1, fail), errBoom)
	}
	rec.waitSyncs(t, 3*3)
	assert.Equal(t, []circuit.State{circuit.Closed, circuit.Closed, circuit.Closed}, States(bs))
}
