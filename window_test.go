package circuit

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEpochIsExactDivision holds the reciprocal-multiplication epoch against
// integer division, at and around bucket edges and far from the origin.
func TestEpochIsExactDivision(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Unix(1_800_000_000, 123_456_789)
	for _, width := range []int64{int64(time.Millisecond), 3_000_000_007, int64(time.Second), 7 * int64(time.Hour) / 13} {
		w := newTimeWindow(width*10, 10, base)
		require.Equal(t, width, w.width)
		check := func(now int64) {
			if got, want := w.epoch(now), (now+w.phase)/width; got != want {
				t.Fatalf("width %d now %d: epoch %d, want %d", width, now, got, want)
			}
		}
		for k := int64(0); k < 2000; k++ {
			edge := k*width - w.phase
			for _, d := range []int64{-1, 0, 1} {
				if edge+d >= 0 {
					check(edge + d)
				}
			}
		}
		for i := 0; i < 100_000; i++ {
			check(r.Int64N(1 << 60))
		}
		assert.Equal(t, base.UnixNano()/width, w.epoch(0)+w.unixEpoch0, "local epochs line up with Unix time")
	}
}

func TestTimeWindowRingHasTwoSpareSlots(t *testing.T) {
	for buckets, ring := range map[int]int{1: 3, 2: 4, 3: 5, 10: 12, 16: 18, maxBuckets: maxBuckets + 2} {
		w := newTimeWindow(int64(time.Second)*int64(buckets), buckets, time.Unix(0, 0))
		assert.Len(t, w.buckets(), ring)
		assert.Equal(t, int64(buckets), w.n)
	}
}

// place returns the place of epoch e >= 0.
func (w *timeWindow) place(e int64) int64 { return e<<placeBits | e%w.size }

// Period e's slot is e mod the ring's length, whichever place it is found
// from: a step from a near period's slot, or a division from a far one.
func TestTimeWindowSlotIsEpochModRing(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, buckets := range []int{1, 2, 3, 10, 16, 1000, maxBuckets} {
		w := newTimeWindow(int64(time.Second)*int64(buckets), buckets, time.Unix(0, 0))
		size := int64(buckets) + spareSlots
		for i := 0; i < 20_000; i++ {
			from := r.Int64N(1 << 40)
			e := max(from+r.Int64N(4*size)-2*size, 0)
			if i%10 == 0 {
				e = r.Int64N(1 << 46)
			}
			p := w.place(from)
			require.Equal(t, from, p>>placeBits, "the place keeps the epoch")
			require.Equal(t, from%size, p&placeSlot, "the place keeps the slot")
			require.Equal(t, e%size, w.slotNear(e, p), "%d buckets: period %d from period %d", buckets, e, from)
		}
	}
}

// The sharer's read fills the slot of each period in the window with that
// period's counts and age, across the ring's wrap.
func TestTimeWindowReadFillsSlotsAcrossTheWrap(t *testing.T) {
	width := int64(time.Second)
	w := newTimeWindow(width*10, 10, time.Unix(0, 0))
	for e := int64(0); e < 25; e++ { // period e counts e+1 successes
		for range e + 1 {
			w.record(e*width, success, false, 0)
		}
	}
	slots := make([]slotCounts, len(w.buckets()))
	n, hi := w.read(24*width, slots)
	require.Equal(t, int64(24), hi)
	assert.Equal(t, 16+17+18+19+20+21+22+23+24+25, n.successes, "periods 15 to 24")
	filled := 0
	for s, sc := range slots {
		if sc.n[success] != 0 {
			e := hi - int64(sc.age)
			assert.Equal(t, e%w.size, int64(s), "period %d in its slot", e)
			assert.Equal(t, e+1, sc.n[success], "period %d", e)
			filled++
		}
	}
	assert.Equal(t, 10, filled)
}

// The guess of a failure check equals the full read whenever nothing records
// concurrently, whatever the sequence: records in the latest period, in a new
// one, late into older ones (as a hung-tracked call counts at its start),
// resets, and idle gaps.
func TestTimeWindowGuessEqualsRatesSequentially(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, buckets := range []int{1, 2, 3, 10, 16} {
		width := int64(time.Second)
		w := newTimeWindow(width*int64(buckets), buckets, time.Unix(1_800_000_000, 77))
		now, guessed := int64(0), 0
		for step := 0; step < 20_000; step++ {
			switch k := r.IntN(100); {
			case k < 60: // record now
				w.record(now, outcome(r.IntN(3)), r.IntN(4) == 0, 0)
			case k < 75: // record late, up to a window and a bit before now
				w.record(max(now-r.Int64N(width*int64(buckets+2)), 0), outcome(r.IntN(3)), r.IntN(4) == 0, 0)
			case k < 90:
				now += r.Int64N(width / 2)
			case k < 98:
				now += r.Int64N(3 * width)
			case k < 99:
				now += r.Int64N(40 * width)
			default:
				w.reset(0)
			}
			for _, slow := range []bool{false, true} {
				if g, ok := w.guess(now, slow); ok {
					guessed++
					require.Equal(t, w.rates(now, slow), g, "%d buckets, step %d, now %d, slow %v", buckets, step, now, slow)
				}
			}
		}
		assert.Greater(t, guessed, 20_000, "%d buckets: the guess was mostly there", buckets)
	}
}

// rates reads no excluded calls, and slow calls only when asked.
func TestTimeWindowRatesReadWhatTheRulesNeed(t *testing.T) {
	w := newTimeWindow(int64(10*time.Second), 10, time.Unix(0, 0))
	for _, o := range []outcome{success, failure, failure, excluded} {
		w.record(0, o, o == failure, 0)
	}
	assert.Equal(t, counts{successes: 1, failures: 2}, w.rates(0, false))
	assert.Equal(t, counts{successes: 1, failures: 2, slow: 2}, w.rates(0, true))
	assert.Equal(t, counts{successes: 1, failures: 2, slow: 2, excluded: 1}, w.counts(0))
}

// A record's single add may land on a counter of another period; the counter
// then holds what bump would have made of it.
func TestTimeWindowAddStray(t *testing.T) {
	const e = 1000
	for _, tc := range []struct {
		name      string
		before    uint64 // the counter before the add
		wantAfter uint64
		wantGone  int64 // the stale count retired to the totals
	}{
		{"empty counter of period 0 is taken", 0, e<<32 | 1, 0},
		{"empty counter that looks later is taken", (e+5)<<32 | 0, e<<32 | 1, 0},
		{"stale counter of an earlier lap is restarted", (e-16)<<32 | 7, e<<32 | 1, 7},
		{"stale counter 2^24 or more periods later is restarted", (e+1<<24)<<32 | 7, e<<32 | 1, 7},
		{"later counter keeps the outcome: late, never lost", (e+16)<<32 | 7, (e+16)<<32 | 8, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p atomic.Uint64
			var gone atomic.Int64
			p.Store(tc.before)
			if v := p.Add(1); v>>32 != e {
				addStray(&p, v, e, &gone)
			}
			assert.Equal(t, tc.wantAfter, p.Load())
			assert.Equal(t, tc.wantGone, gone.Load())
			assert.Equal(t, tc.wantAfter&(1<<32-1), uint64(count(p.Load(), uint32(tc.wantAfter>>32))))
		})
	}
}

// Concurrent records into a stale counter count each outcome once: the first
// restart discards every stray add, and the others count on top of it.
func TestTimeWindowStrayAddsUnderConcurrency(t *testing.T) {
	for run := 0; run < 200; run++ {
		w := newTimeWindow(int64(16*time.Second), 16, time.Unix(0, 0))
		w.record(0, success, false, 0) // period 0, slot 0
		w.last.Store(w.place(18))      // as if another recorder had begun period 18
		now := 18 * int64(time.Second) // period 18, slot 0: the counter holds period 0
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 50 {
					w.record(now, success, false, 0)
				}
			}()
		}
		wg.Wait()
		require.Equal(t, 400, w.counts(now).successes, "run %d", run)
	}
}

// The count window's slot is position mod size, found without a division.
func TestCountWindowSlotIsModulo(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, size := range []int{1, 2, 3, 7, 100, 1000, 65_535, 1 << 20, 1<<31 - 1} {
		w := newCountWindow(min(size, 1<<16))
		ring := w.ring.Load()
		ring.slots = make([]atomic.Uint32, size)
		ring.recip = math.MaxUint64 / uint64(size)
		for _, p := range []uint64{0, 1, uint64(size) - 1, uint64(size), uint64(size) + 1, math.MaxUint64, math.MaxUint64 - 1,
			math.MaxUint64 / uint64(size) * uint64(size), math.MaxUint64/uint64(size)*uint64(size) - 1} {
			require.Same(t, &ring.slots[p%uint64(size)], ring.slot(p), "size %d position %d", size, p)
		}
		for i := 0; i < 10_000; i++ {
			p := r.Uint64() >> r.IntN(64)
			require.Same(t, &ring.slots[p%uint64(size)], ring.slot(p), "size %d position %d", size, p)
		}
	}
}
