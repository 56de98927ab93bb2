package circuit_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
	"github.com/seed33933975/circuit/internal/sharetest"
)

// memStore is an in-memory circuit.Store that follows the rules of the
// Store documentation, as redisstore does on Redis. Replicas are breakers of
// one name sharing one memStore.
type memStore struct {
	mu       sync.Mutex
	breakers map[string]*memState
	reports  []circuit.Report // every report, when record is set
	record   bool
	syncs    atomic.Int64
}

type memState struct {
	sums       map[int64]circuit.Bucket
	seen, open map[string]time.Time
	trip       *circuit.Trip
	holder     string
	leaseUntil time.Time
}

func newMemStore() *memStore { return &memStore{breakers: map[string]*memState{}} }

func (m *memStore) Sync(ctx context.Context, r circuit.Report) (circuit.View, error) {
	if err := ctx.Err(); err != nil {
		return circuit.View{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	defer m.syncs.Add(1)
	if m.record {
		m.reports = append(m.reports, r)
	}
	st := m.breakers[r.Name]
	if st == nil {
		st = &memState{sums: map[int64]circuit.Bucket{}, seen: map[string]time.Time{}, open: map[string]time.Time{}}
		m.breakers[r.Name] = st
	}
	for _, d := range r.Deltas {
		b := st.sums[d.Epoch]
		b.Epoch = d.Epoch
		b.Successes += d.Successes
		b.Failures += d.Failures
		b.Slow += d.Slow
		b.Excluded += d.Excluded
		st.sums[d.Epoch] = b
	}
	st.seen[r.Replica] = r.Now
	if r.OpenUntil.IsZero() {
		delete(st.open, r.Replica)
	} else {
		st.open[r.Replica] = r.OpenUntil
	}
	if r.Trip != nil && (st.trip == nil || !st.trip.Until.After(r.Now)) {
		t := *r.Trip
		st.trip, st.holder = &t, ""
	}
	if st.trip != nil && r.Closed == st.trip.Round {
		st.trip, st.holder = nil, ""
	}
	var v circuit.View
	if st.trip != nil && r.Round == st.trip.Round {
		switch {
		case r.Probes == 0:
			if st.holder == r.Replica {
				st.holder = ""
			}
		case st.holder == "" || st.holder == r.Replica || !st.leaseUntil.After(r.Now):
			st.holder, st.leaseUntil = r.Replica, r.Now.Add(r.Lease)
			v.Probes = r.Probes
		}
	}
	window := r.Width * time.Duration(r.Buckets)
	cur := r.Now.UnixNano() / int64(r.Width)
	for e, b := range st.sums {
		if e > cur-int64(r.Buckets) && e <= cur {
			v.Buckets = append(v.Buckets, b)
		}
	}
	sort.Slice(v.Buckets, func(i, j int) bool { return v.Buckets[i].Epoch < v.Buckets[j].Epoch })
	for rep, at := range st.seen {
		if r.Now.Sub(at) < window {
			v.Replicas++
			if u, ok := st.open[rep]; ok && u.After(r.Now) {
				v.OpenReplicas++
			}
		}
	}
	if st.trip != nil {
		t := *st.trip
		v.Trip = &t
	}
	return v, nil
}

// waitSyncs waits until the store has answered n more syncs: every replica
// has then had its turn, without sleeping a guessed time.
func (m *memStore) waitSyncs(t *testing.T, n int64) {
	t.Helper()
	target := m.syncs.Load() + n
	require.Eventually(t, func() bool { return m.syncs.Load() >= target }, 5*time.Second, time.Millisecond)
}

// holder returns the replica that holds name's probe lease, "" if none.
func (m *memStore) holder(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st := m.breakers[name]; st != nil {
		return st.holder
	}
	return ""
}

// flakyStore fails while down is set, and hangs until its context ends while
// hang is set; otherwise it passes syncs to the store under it. Between
// hold and release, syncs wait to be passed on.
type flakyStore struct {
	circuit.Store
	down, hang atomic.Bool
	calls      atomic.Int64
	inflight   atomic.Int64
	maxFlight  atomic.Int64 // the most syncs in flight at once
	gate       atomic.Pointer[chan struct{}]
	held       atomic.Int64 // syncs waiting at the gate
}

func (f *flakyStore) hold() {
	gate := make(chan struct{})
	f.gate.Store(&gate)
}

func (f *flakyStore) release() { close(*f.gate.Swap(nil)) }

// waitHeld waits until a sync waits at the gate: its replica applies no
// view until release.
func (f *flakyStore) waitHeld(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool { return f.held.Load() > 0 }, 5*time.Second, time.Millisecond)
}

var errStoreDown = errors.New("store down")

func (f *flakyStore) Sync(ctx context.Context, r circuit.Report) (circuit.View, error) {
	f.calls.Add(1)
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for m := f.maxFlight.Load(); n > m && !f.maxFlight.CompareAndSwap(m, n); m = f.maxFlight.Load() {
	}
	if f.hang.Load() {
		<-ctx.Done()
		return circuit.View{}, ctx.Err()
	}
	if gate := f.gate.Load(); gate != nil {
		f.held.Add(1)
		select {
		case <-*gate:
		case <-ctx.Done():
		}
		f.held.Add(-1)
	}
	if f.down.Load() {
		return circuit.View{}, errStoreDown
	}
	return f.Store.Sync(ctx, r)
}

const syncEvery = 20 * time.Millisecond

// The scenarios that every Store must pass, on the in-memory one: it must
// follow the Store rules for the tests below to mean anything.
func TestStoreSuite(t *testing.T) {
	sharetest.RunStoreSuite(t, syncEvery, func(*testing.T) circuit.Store { return newMemStore() })
}

// replicas returns n breakers named "svc" on one fake clock, sharing store,
// with opts after the sharing options. They are closed when the test ends.
func replicas(t *testing.T, n int, store circuit.Store, clk *circuittest.Clock, opts ...circuit.Option) []*circuit.Breaker[int] {
	t.Helper()
	return sharetest.Replicas(t, n, "svc", store, syncEvery, clk, opts...)
}

// A grant lapses with the store's lease behind it: a holder whose syncs fell
// behind makes no trial call once its lease has ended, when the store may
// have handed the lease to another replica.
func TestStoreGrantLapsesWithItsLease(t *testing.T) {
	mem := newMemStore()
	store := &flakyStore{Store: mem}
	clk := circuittest.NewClock(epoch)
	bs := replicas(t, 1, store, clk, append(sharetest.RateOnly(20), circuit.WithHalfOpenTrials(2))...)
	b := bs[0]
	require.ErrorIs(t, calls(b, 20, fail), errBoom)
	sharetest.WaitFor(t, circuit.Open, bs, nil)
	// Rejected calls make it ask for the probe lease, which it gets; a sync
	// after that one means the grant has been applied.
	require.Eventually(t, func() bool {
		_, _ = b.Execute(context.Background(), succeed)
		return mem.holder("svc") != ""
	}, 5*time.Second, time.Millisecond)
	mem.waitSyncs(t, 1)

	store.hold()
	store.waitHeld(t)
	clk.Advance(6 * time.Second) // past the open timeout and the lease
	_, err := b.Execute(context.Background(), func(context.Context) (int, error) {
		t.Error("a trial call on a lapsed grant")
		return 0, nil
	})
	require.ErrorIs(t, err, circuit.ErrTooManyRequests)
	assert.Equal(t, circuit.HalfOpen, b.State())

	// Its next syncs renew the lease at the new time, and it probes.
	store.release()
	sharetest.WaitFor(t, circuit.Closed, bs, func() { _, _ = b.Execute(context.Background(), succeed) })
}

func TestStoreFailuresLeaveBreakerLocal(t *testing.T) {
	store := &flakyStore{Store: newMemStore()}
	store.down.Store(true)
	clk := circuittest.NewClock(epoch)
	var mu sync.Mutex
	var reported []error
	hook := circuit.WithStoreErrors(func(err error) {
		mu.Lock()
		defer mu.Unlock()
		reported = append(reported, err)
	})
	bs := replicas(t, 3, store, clk, append(sharetest.RateOnly(20), hook)...)

	require.Eventually(t, func() bool { return bs[0].Metrics().StoreErrors >= 2 }, 5*time.Second, time.Millisecond)
	for _, b := range bs {
		require.NoError(t, calls(b, 5, succeed), "calls go on while the store fails")
	}
	mu.Lock()
	require.NotEmpty(t, reported)
	assert.ErrorIs(t, reported[0], errStoreDown)
	assert.EqualError(t, reported[0], `circuit: breaker "svc": store sync: store down`)
	mu.Unlock()
	// The local rules still work: 15 failures after 5 successes trip
	// replica 0 alone.
	require.ErrorIs(t, calls(bs[0], 15, fail), errBoom)
	assert.Equal(t, []circuit.State{circuit.Open, circuit.Closed, circuit.Closed}, sharetest.States(bs))

	// Its half-open round is its own: a trial closes it.
	clk.Advance(6 * time.Second)
	require.NoError(t, calls(bs[0], 1, succeed))
	require.Equal(t, circuit.Closed, bs[0].State())

	// Sharing resumes when the store answers again: 10 successes and 20
	// failures across the cluster trip the other two, whose own 15 calls
	// would not, and so open the first.
	store.down.Store(false)
	store.Store.(*memStore).waitSyncs(t, 3*2)
	before := bs[1].Metrics().StoreErrors
	for _, b := range bs[1:] {
		calls(b, 10, fail)
	}
	sharetest.WaitFor(t, circuit.Open, bs, nil)
	assert.Equal(t, before, bs[1].Metrics().StoreErrors, "no errors once the store answers")
}

func TestStoreHangNeverDelaysCalls(t *testing.T) {
	store := &flakyStore{Store: newMemStore()}
	store.hang.Store(true)
	var errs atomic.Int64
	b := circuit.MustNew[int](circuit.WithName("svc"), circuit.WithStore(store, syncEvery),
		circuit.WithStoreErrors(func(err error) {
			if errors.Is(err, context.DeadlineExceeded) {
				errs.Add(1)
			}
		}))
	require.Eventually(t, func() bool { return store.calls.Load() >= 1 }, 5*time.Second, time.Millisecond)

	// Calls through it take as long as through a breaker without a store:
	// alternate them, and compare the medians (robust to scheduling pauses).
	// A call that waited for the hung sync would take its whole timeout, 1s.
	local := circuit.MustNew[int]()
	const n = 10000
	var shared, alone []time.Duration
	for range n {
		start := time.Now()
		_, err := b.Execute(context.Background(), succeed)
		mid := time.Now()
		_, _ = local.Execute(context.Background(), succeed)
		shared, alone = append(shared, mid.Sub(start)), append(alone, time.Since(mid))
		require.NoError(t, err)
	}
	sq, lq := quantiles(shared), quantiles(alone)
	t.Logf("%d calls while the store hangs: p50 %v p99 %v max %v; without a store: p50 %v p99 %v max %v",
		n, sq[0], sq[1], sq[2], lq[0], lq[1], lq[2])
	assert.Less(t, sq[0], 2*lq[0]+time.Microsecond, "no latency added by the hung store")
	assert.Equal(t, int64(1), store.maxFlight.Load(), "at most one sync in flight")

	require.Eventually(t, func() bool { return errs.Load() >= 1 }, 5*time.Second, time.Millisecond,
		"a sync that outlives its timeout is reported")
	assert.GreaterOrEqual(t, b.Metrics().StoreErrors, uint64(1))

	start := time.Now()
	require.NoError(t, b.Close())
	assert.Less(t, time.Since(start), time.Second, "Close cancels the hung sync")
	require.NoError(t, b.Close(), "Close is idempotent")
}

// quantiles returns the median, the 99th percentile and the maximum of d.
func quantiles(d []time.Duration) [3]time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return [3]time.Duration{s[len(s)/2], s[len(s)*99/100], s[len(s)-1]}
}

func TestStoreReports(t *testing.T) {
	store := newMemStore()
	store.record = true
	start := epoch.Add(1234 * time.Millisecond)
	clk := circuittest.NewClock(start)
	bs := replicas(t, 2, store, clk, circuit.WithWindow(10*time.Second, 10),
		circuit.WithExclude(func(err error) bool { return errors.Is(err, errInvalid) }))
	b := bs[0]
	require.NoError(t, calls(b, 3, succeed))
	require.ErrorIs(t, calls(b, 2, fail), errBoom)
	_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errInvalid })
	store.waitSyncs(t, 4)
	clk.Advance(time.Second)
	require.NoError(t, calls(b, 1, succeed))
	store.waitSyncs(t, 4)

	store.mu.Lock()
	reports := append([]circuit.Report(nil), store.reports...)
	store.mu.Unlock()
	replicas := map[string]bool{}
	sums := map[int64]circuit.Bucket{}
	for _, r := range reports {
		replicas[r.Replica] = true
		assert.Equal(t, "svc", r.Name)
		assert.Equal(t, time.Second, r.Width)
		assert.Equal(t, 10, r.Buckets)
		assert.Equal(t, 100*time.Second, r.TTL, "state kept for 10 × the window")
		assert.Equal(t, 3*syncEvery+time.Second, r.Lease, "three periods plus the sync timeout")
		assert.Nil(t, r.Trip)
		for _, d := range r.Deltas {
			s := sums[d.Epoch]
			s.Successes += d.Successes
			s.Failures += d.Failures
			s.Excluded += d.Excluded
			sums[d.Epoch] = s
		}
	}
	assert.Len(t, replicas, 2, "each breaker is a replica of its own")
	e := start.UnixNano() / int64(time.Second)
	assert.Equal(t, map[int64]circuit.Bucket{
		e:     {Successes: 3, Failures: 2, Excluded: 1},
		e + 1: {Successes: 1},
	}, sums, "deltas by Unix epoch, each outcome pushed once")
}

func TestStoreSlowCallsShareTheWindow(t *testing.T) {
	store := newMemStore()
	clk := circuittest.NewClock(epoch)
	bs := replicas(t, 2, store, clk, circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0, 10),
		circuit.WithSlowCalls(time.Second, 0.5))
	slow := func(context.Context) (int, error) { clk.Advance(2 * time.Second); return 1, nil }
	for _, b := range bs {
		require.NoError(t, calls(b, 6, slow))
		assert.Equal(t, circuit.Closed, b.State(), "6 slow calls are below minCalls 10 alone")
	}
	sharetest.WaitFor(t, circuit.Open, bs, nil)
}

func TestStoreLeavesRoundOnForceOpenAndReset(t *testing.T) {
	store := newMemStore()
	clk := circuittest.NewClock(epoch)
	bs := replicas(t, 2, store, clk, sharetest.RateOnly(10)...)
	for _, b := range bs {
		calls(b, 5, fail)
	}
	sharetest.WaitFor(t, circuit.Open, bs, nil)

	bs[0].ForceOpen()
	bs[1].Reset()
	store.waitSyncs(t, 2*3)
	assert.Equal(t, circuit.ForcedOpen, bs[0].State(), "the store does not override ForceOpen")
	assert.Equal(t, circuit.Closed, bs[1].State(), "a Reset replica does not reapply the trip it left")
	bs[0].Disable()
	calls(bs[0], 30, fail)
	store.waitSyncs(t, 2*3)
	assert.Equal(t, circuit.Disabled, bs[0].State())
}

func TestStoreGroupAndConcurrency(t *testing.T) {
	store := newMemStore()
	g, err := circuit.NewGroup[string, int](circuit.WithStore(store, time.Millisecond), circuit.WithFailureRate(0.5, 50),
		circuit.WithConsecutiveFailures(0))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 500 {
				key := fmt.Sprint("host", j%2)
				fn := succeed
				if (i+j)%3 == 0 {
					fn = fail
				}
				_, _ = g.Execute(context.Background(), key, fn)
			}
		}()
	}
	wg.Wait()
	require.Eventually(t, func() bool {
		store.mu.Lock()
		defer store.mu.Unlock()
		return len(store.breakers) == 2
	}, 5*time.Second, time.Millisecond)
	require.NoError(t, g.Close())
	require.NoError(t, g.Close())
	var names []string
	store.mu.Lock()
	for n := range store.breakers {
		names = append(names, n)
	}
	store.mu.Unlock()
	sort.Strings(names)
	assert.Equal(t, []string{"host0", "host1"}, names, "each member shares under its own name")
}

func TestStoreInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []circuit.Option
		want string
	}{
		{"negative sync period", []circuit.Option{circuit.WithStore(newMemStore(), -time.Second)}, "WithStore: syncEvery -1s is negative"},
		{"nil store error hook", []circuit.Option{circuit.WithStoreErrors(nil)}, "WithStoreErrors: function is nil"},
		{"negative quorum", []circuit.Option{circuit.WithQuorum(-1)}, "WithQuorum: n -1 is below 1"},
		{"store with a count window", []circuit.Option{circuit.WithStore(newMemStore(), 0), circuit.WithCountWindow(10)}, "WithStore: a store shares a time window; it cannot be combined with WithCountWindow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := circuit.New[int](tt.opts...)
			assert.Nil(t, b)
			require.ErrorIs(t, err, circuit.ErrInvalidOption)
			assert.ErrorContains(t, err, "circuit: invalid option "+tt.want)
		})
	}
}

func BenchmarkClosedSuccessStore(b *testing.B) {
	b.Run("local", func(b *testing.B) { benchClosed(b) })
	b.Run("store", func(b *testing.B) {
		store := newMemStore()
		br := circuit.MustNew[int](circuit.WithStore(store, 0))
		defer br.Close()
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			_, _ = br.Execute(ctx, benchOK)
		}
	})
}
