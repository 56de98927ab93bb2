package circuit_test

// Fuzz targets. Each holds the code against an independent, obviously
// correct oracle:
//
//   - FuzzOptions: any option values. New never panics; it fails, with an
//     error wrapping ErrInvalidOption that names every bad option, exactly
//     when DESIGN.md rule 10 and the option docs say a value is invalid; a
//     breaker it makes survives any calls, and stays Open after a trip.
//   - FuzzTimeWindow: the time window against a list of timestamped events.
//   - FuzzCountWindow: the count window against a list of the last outcomes.
//   - FuzzModel: the model-based test's sequences, with the fuzzer choosing
//     every decision of the generator.
//
// Seed corpora are in testdata/fuzz/<target>. CI runs each target for 20s:
//
//	go test -run '^$' -fuzz '^FuzzOptions$' -fuzztime 20s .

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
)

// fzReader turns fuzz bytes into values, favouring the edges of each kind.
// Past the end of the data it reads zeros.
type fzReader struct{ b []byte }

func (r *fzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fzReader) more() bool { return len(r.b) > 0 }

func (r *fzReader) u64() uint64 {
	var buf [8]byte
	n := copy(buf[:], r.b)
	r.b = r.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

var fzEdgeInts = []int64{0, 1, -1, 2, 3, 5, 20, 255, 65535, 65536, 1 << 24, 1<<24 + 1,
	math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64}

// int reads an integer: small, an edge value, or any int64.
func (r *fzReader) int() int64 {
	switch c := r.byte(); c % 4 {
	case 0, 1:
		return int64(int8(r.byte()))
	case 2:
		return fzEdgeInts[int(r.byte())%len(fzEdgeInts)]
	default:
		return int64(r.u64())
	}
}

var fzEdgeDurations = []time.Duration{0, 1, -1, time.Millisecond - 1, time.Millisecond, time.Millisecond + 1,
	time.Second, time.Minute, time.Hour, 24 * time.Hour, math.MaxInt64, math.MinInt64, math.MaxInt64 / 2}

// dur reads a duration: an edge value, a small count of milliseconds or
// seconds, or any int64.
func (r *fzReader) dur() time.Duration {
	switch c := r.byte(); c % 5 {
	case 0, 1:
		return fzEdgeDurations[int(r.byte())%len(fzEdgeDurations)]
	case 2:
		return time.Duration(int8(r.byte())) * time.Millisecond
	case 3:
		return time.Duration(int8(r.byte())) * time.Second
	default:
		return time.Duration(r.u64())
	}
}

var fzEdgeFloats = []float64{0, math.Copysign(0, -1), 1, 0.5, 1e-9, math.Nextafter(1, 2), math.Nextafter(0, 1),
	-0.5, 2, math.NaN(), math.Inf(1), math.Inf(-1), 0.1, 1.0 / 3}

func (r *fzReader) float() float64 {
	if c := r.byte(); c%3 != 2 {
		return fzEdgeFloats[int(r.byte())%len(fzEdgeFloats)]
	}
	return math.Float64frombits(r.u64())
}

func fzValidRate(x float64) bool { return x > 0 && x <= 1 }

// fzOracle is the independent statement of which option values are valid:
// the option docs and DESIGN.md rule 10, written out again.
type fzOracle struct {
	bad         []string // options given an invalid value ("A|B": named A or B)
	consecutive int64
	rate        float64
	slow, hung  bool
	timeWindow  bool
	countWindow bool
	trials      int64
	successes   int64
	// openPositive: the first trip's open period is known to be above zero
	// (false when a backoff may give 0).
	openPositive bool
	openMax      time.Duration // the longest open period, if known; 0: not known
	bulkWait     time.Duration
	bulk         bool
}

// fzOptions decodes up to 16 options with any values.
func fzOptions(r *fzReader, clk *circuittest.Clock, hook func(circuit.Transition)) ([]circuit.Option, *fzOracle) {
	o := &fzOracle{consecutive: 5, rate: 0.5, trials: 1, openPositive: true, openMax: time.Minute}
	var opts []circuit.Option
	n := int(r.byte() % 17)
	for i := 0; i < n; i++ {
		switch r.byte() % 22 {
		case 0:
			opts = append(opts, circuit.WithName(fmt.Sprint(r.int())))
		case 1:
			v := r.int()
			opts = append(opts, circuit.WithConsecutiveFailures(int(v)))
			if v < 0 {
				o.bad = append(o.bad, "WithConsecutiveFailures")
			} else {
				o.consecutive = v
			}
		case 2:
			rate, minCalls := r.float(), r.int()
			opts = append(opts, circuit.WithFailureRate(rate, int(minCalls)))
			if (rate != 0 && !fzValidRate(rate)) || minCalls < 0 || (rate != 0 && minCalls == 0) {
				o.bad = append(o.bad, "WithFailureRate")
			} else {
				o.rate = rate
			}
		case 3:
			length, buckets := r.dur(), r.int()
			opts = append(opts, circuit.WithWindow(length, int(buckets)))
			if buckets < 1 || buckets > 1<<16 || length <= 0 || length/time.Duration(buckets) < time.Millisecond {
				o.bad = append(o.bad, "WithWindow")
			} else {
				o.timeWindow = true
			}
		case 4:
			size := r.int()
			opts = append(opts, circuit.WithCountWindow(int(size)))
			if size < 1 || size > 1<<24 {
				o.bad = append(o.bad, "WithCountWindow")
			} else {
				o.countWindow = true
			}
		case 5:
			thr, rate := r.dur(), r.float()
			opts = append(opts, circuit.WithSlowCalls(thr, rate))
			if thr <= 0 || !fzValidRate(rate) {
				o.bad = append(o.bad, "WithSlowCalls")
			} else {
				o.slow = true
			}
		case 6:
			d := r.dur()
			opts = append(opts, circuit.WithOpenTimeout(d))
			if d <= 0 {
				o.bad = append(o.bad, "WithOpenTimeout")
			} else {
				o.openPositive, o.openMax = true, d
			}
		case 7:
			d := r.dur()
			opts = append(opts, circuit.WithOpenBackoff(circuit.ConstantBackoff(d)))
			if d < 0 {
				o.bad = append(o.bad, "WithOpenBackoff|ConstantBackoff")
			} else {
				o.openPositive, o.openMax = d > 0, d
			}
		case 8:
			initial, maxD, jitter := r.dur(), r.dur(), r.float()
			opts = append(opts, circuit.WithOpenBackoff(circuit.ExponentialBackoff(initial, maxD, jitter)))
			if initial <= 0 || maxD < initial || !(jitter >= 0 && jitter <= 1) {
				o.bad = append(o.bad, "WithOpenBackoff|ExponentialBackoff")
			} else {
				// Jitter may take a 1ns step down to 0 (durations truncate).
				o.openPositive, o.openMax = float64(initial)*(1-jitter) >= 1, maxD
			}
		case 9:
			// A user's backoff: negative, panicking or fine at attempt 1.
			switch k := r.byte() % 4; k {
			case 0:
				opts = append(opts, circuit.WithOpenBackoff(nil))
				o.bad = append(o.bad, "WithOpenBackoff")
			case 1:
				opts = append(opts, circuit.WithOpenBackoff(func(int) time.Duration { return -time.Second }))
				o.bad = append(o.bad, "WithOpenBackoff")
			case 2:
				opts = append(opts, circuit.WithOpenBackoff(func(int) time.Duration { panic("fuzz: backoff") }))
				o.bad = append(o.bad, "WithOpenBackoff")
			default:
				// Later attempts may give anything: the breaker must cope.
				opts = append(opts, circuit.WithOpenBackoff(func(k int) time.Duration {
					if k == 1 {
						return time.Second
					}
					return time.Duration(int64(k) * math.MaxInt64 / 3 * int64(1-2*(k%2)))
				}))
				o.openPositive, o.openMax = true, 0
			}
		case 10:
			v := r.int()
			opts = append(opts, circuit.WithHalfOpenTrials(int(v)))
			if v < 1 || v > 65535 {
				o.bad = append(o.bad, "WithHalfOpenTrials")
			} else {
				o.trials = v
			}
		case 11:
			v := r.int()
			opts = append(opts, circuit.WithSuccessThreshold(int(v)))
			if v < 1 {
				o.bad = append(o.bad, "WithSuccessThreshold")
			} else {
				o.successes = v
			}
		case 12:
			if r.byte()%2 == 0 {
				opts = append(opts, circuit.WithExclude(nil))
				o.bad = append(o.bad, "WithExclude")
			} else {
				opts = append(opts, circuit.WithExclude(func(err error) bool { return errors.Is(err, mdlErrExcluded) }))
			}
		case 13:
			if r.byte()%2 == 0 {
				opts = append(opts, circuit.WithIsFailure(nil))
				o.bad = append(o.bad, "WithIsFailure")
			} else {
				opts = append(opts, circuit.WithIsFailure(func(err error) bool { return !errors.Is(err, mdlErrBenign) }))
			}
		case 14:
			after, n := r.dur(), r.int()
			opts = append(opts, circuit.WithHungCalls(after, int(n)))
			if after <= 0 || n < 1 {
				o.bad = append(o.bad, "WithHungCalls")
			} else {
				o.hung = true
			}
		case 15:
			d := r.dur()
			opts = append(opts, circuit.WithCallTimeout(d))
			if d <= 0 {
				o.bad = append(o.bad, "WithCallTimeout")
			}
		case 16:
			n, wait := r.int(), r.dur()
			opts = append(opts, circuit.WithBulkhead(int(n), wait))
			if n < 1 || wait < 0 {
				o.bad = append(o.bad, "WithBulkhead")
			} else {
				o.bulk, o.bulkWait = true, wait
			}
		case 17:
			if r.byte()%2 == 0 {
				opts = append(opts, circuit.WithOnStateChange(nil))
				o.bad = append(o.bad, "WithOnStateChange")
			} else {
				opts = append(opts, circuit.WithOnStateChange(hook))
			}
		case 18:
			if r.byte()%2 == 0 {
				opts = append(opts, circuit.WithClock(nil))
				o.bad = append(o.bad, "WithClock")
			} else {
				opts = append(opts, circuit.WithClock(clk))
			}
		case 19:
			opts = append(opts, nil)
			o.bad = append(o.bad, "Option")
		case 20:
			v := r.int()
			opts = append(opts, circuit.WithQuorum(int(v)))
			// Invalid whatever v: below 1, or (as here) without WithStore.
			o.bad = append(o.bad, "WithQuorum")
		case 21:
			// Rule 13: of WithOpenTimeout and WithOpenBackoff the last wins.
			d := r.dur()
			opts = append(opts, circuit.WithOpenBackoff(circuit.ConstantBackoff(time.Hour)), circuit.WithOpenTimeout(d))
			if d <= 0 {
				o.bad = append(o.bad, "WithOpenTimeout")
			} else {
				o.openPositive, o.openMax = true, d
			}
		}
	}
	// The checks on the options as a whole.
	if o.successes > o.trials {
		o.bad = append(o.bad, "WithSuccessThreshold")
	}
	if o.timeWindow && o.countWindow {
		o.bad = append(o.bad, "WithCountWindow")
	}
	if o.consecutive == 0 && o.rate == 0 && !o.slow && !o.hung {
		o.bad = append(o.bad, "Option")
	}
	return opts, o
}

func FuzzOptions(f *testing.F) {
	for _, seed := range [][]byte{
		nil,
		{1, 1, 0, 3},                    // WithConsecutiveFailures(3)
		{2, 1, 0, 0, 2, 0, 0},           // all trip rules off
		{2, 3, 0, 0, 0, 4, 2, 0},        // both window kinds
		{1, 6, 0, 10},                   // an open timeout from the edge table
		{2, 10, 0, 3, 11, 0, 5},         // success threshold above the trials
		{3, 2, 2, 9, 0, 0, 0, 5, 0, 20}, // NaN rate
		{4, 19, 12, 0, 17, 0, 18, 0},    // nil option, nil predicate, nil hook, nil clock
		{1, 20, 0, 3},                   // WithQuorum(3) without WithStore
		{2, 6, 0, 10, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fzReader{b: data}
		clk := circuittest.NewClock(time.Unix(1.7e9, 0))
		var trans []circuit.Transition
		opts, oracle := fzOptions(r, clk, func(tr circuit.Transition) { trans = append(trans, tr) })
		opts = append(opts, circuit.WithClock(clk))

		var b *circuit.Breaker[int]
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("New panicked: %v", p)
				}
			}()
			b, err = circuit.New[int](opts...)
		}()
		if len(oracle.bad) > 0 {
			require.ErrorIs(t, err, circuit.ErrInvalidOption, "invalid: %v", oracle.bad)
			require.Nil(t, b)
			for _, names := range oracle.bad {
				// An invalid backoff's error names its constructor, which names
				// the value better than WithOpenBackoff would.
				named := false
				for _, name := range strings.Split(names, "|") {
					named = named || strings.Contains(err.Error(), name)
				}
				require.True(t, named, "the error %q names each invalid option: %s", err, names)
			}
			return
		}
		require.NoError(t, err)
		fzExercise(t, r, b, clk, oracle, &trans)
	})
}

// fzExercise runs calls through a breaker made from fuzzed options. Nothing
// may panic but fn, the figures must be consistent, and a trip leaves the
// breaker Open while its open period runs.
func fzExercise(t *testing.T, r *fzReader, b *circuit.Breaker[int], clk *circuittest.Clock, o *fzOracle, trans *[]circuit.Transition) {
	type pending struct{ done func(error) }
	var held []pending
	defer func() {
		for _, p := range held {
			p.done(nil)
		}
	}()
	maxHeld := 4
	if o.bulk && o.bulkWait > 0 {
		maxHeld = 0 // a held slot would make the next call wait in real time
	}
	for i := 0; i < 64 && r.more(); i++ {
		trips := b.Metrics().Trips
		var err error
		admitted := false
		switch k := r.byte() % 10; k {
		case 0, 1, 2, 3:
			res := []error{nil, mdlErrFail, mdlErrExcluded, mdlErrBenign}[k]
			took := r.dur()
			panics := r.byte()%16 == 0
			func() {
				defer func() {
					if p := recover(); p != nil && p != mdlPanicValue {
						t.Fatalf("Execute panicked: %v", p)
					}
				}()
				_, err = b.Execute(context.Background(), func(context.Context) (int, error) {
					admitted = true
					clk.Advance(min(max(took, 0), time.Hour))
					if panics {
						panic(mdlPanicValue)
					}
					return 1, res
				})
			}()
		case 4:
			if len(held) >= maxHeld {
				continue
			}
			var done func(error)
			if done, err = b.Allow(context.Background()); err == nil {
				admitted = true
				held = append(held, pending{done})
			}
		case 5:
			if len(held) > 0 {
				j := int(r.byte()) % len(held)
				held[j].done([]error{nil, mdlErrFail}[r.byte()%2])
				held = append(held[:j], held[j+1:]...)
			}
		case 6:
			clk.Advance(min(max(r.dur(), 0), 24*time.Hour))
		case 7:
			_ = b.State()
		case 8:
			switch r.byte() % 3 {
			case 0:
				b.ForceOpen()
			case 1:
				b.Disable()
			default:
				b.Reset()
			}
		case 9:
			_ = b.Metrics()
		}
		if err != nil && !admitted && !errors.Is(err, mdlErrFail) {
			require.True(t, errors.Is(err, circuit.ErrOpen) || errors.Is(err, circuit.ErrTooManyRequests) ||
				errors.Is(err, circuit.ErrBulkheadFull), "a rejection wraps a sentinel: %v", err)
			if d, ok := circuit.RetryAfter(err); ok {
				require.GreaterOrEqual(t, d, time.Duration(0))
				if o.openMax > 0 {
					require.LessOrEqual(t, d, o.openMax, "RetryAfter is within the open period")
				}
			}
		}
		m := b.Metrics()
		require.LessOrEqual(t, m.State, circuit.Disabled)
		require.Equal(t, m.Calls, m.Successes+m.Failures)
		require.LessOrEqual(t, m.SlowCalls, m.Calls)
		require.True(t, m.FailureRate >= 0 && m.FailureRate <= 1 && m.SlowCallRate >= 0 && m.SlowCallRate <= 1)
		require.GreaterOrEqual(t, m.ConsecutiveFailures, 0)
		if m.Trips == trips+1 && m.Trips == 1 && o.openPositive {
			// The first trip, with an open period known to be positive and the
			// clock not moved since: the breaker must still be Open.
			require.Equal(t, circuit.Open, m.State, "right after the first trip (transitions %v)", *trans)
		}
	}
}

// FuzzExponentialBackoff holds ExponentialBackoff to rule 13: a valid one
// gives initial*2^(attempt-1), at most max, moved by at most ±jitter of the
// step, and never below zero nor above max; an invalid one panics with an
// error wrapping ErrInvalidOption.
func FuzzExponentialBackoff(f *testing.F) {
	f.Add(int64(time.Millisecond), int64(time.Minute), 0.0, 1)
	f.Add(int64(time.Second), int64(time.Hour), 0.5, 7)
	f.Add(int64(time.Second), int64(math.MaxInt64), 0.0, 35)
	f.Add(int64(0), int64(time.Second), 0.1, 1)
	f.Add(int64(time.Second), int64(time.Millisecond), 2.0, 3)
	f.Fuzz(func(t *testing.T, initial, maxD int64, jitter float64, attempt int) {
		b := circuit.ExponentialBackoff(time.Duration(initial), time.Duration(maxD), jitter)
		if initial <= 0 || maxD < initial || !(jitter >= 0 && jitter <= 1) {
			defer func() {
				err, _ := recover().(error)
				require.ErrorIs(t, err, circuit.ErrInvalidOption, "an invalid backoff panics with ErrInvalidOption")
			}()
			b(attempt)
			t.Fatal("an invalid backoff returned")
		}
		d := int64(b(attempt))
		require.True(t, d >= 0 && d <= maxD, "ExponentialBackoff(%v, %v, %v)(%d) = %v", initial, maxD, jitter, attempt, d)
		// The step without jitter, with big-number care: doubling stops at max.
		step := initial
		for k := 1; k < attempt && step < maxD; k++ {
			step = min(step, maxD/2) * 2
		}
		step = min(step, maxD)
		// In floats: jitter*step and step+spread may overflow int64.
		spread := math.Ceil(jitter*float64(step)) + 1 + float64(step>>52) // float rounding
		require.True(t, math.Abs(float64(d)-float64(step)) <= spread,
			"ExponentialBackoff(%v, %v, %v)(%d) = %v, step %v ± %v", initial, maxD, jitter, attempt, d, step, spread)
	})
}

// ---------------------------------------------------------------------------
// The two windows against naive ones.

type fzEvent struct {
	at   int64
	o    int
	slow bool
}

// FuzzTimeWindow holds the time window against a list of every outcome with
// its time: at clock reading now the window holds the outcomes whose bucket
// (Unix time / width, with buckets aligned to Unix time) is one of the last
// `buckets` up to now's. The clock only goes forward.
func FuzzTimeWindow(f *testing.F) {
	f.Add(int64(time.Second), uint16(10), int64(1.7e18), []byte{0, 1, 2, 3, 10, 4, 0, 7, 1, 8})
	f.Add(int64(time.Millisecond), uint16(1), int64(0), []byte{1, 1, 1, 3, 0, 3, 5, 1, 7, 8, 9})
	f.Add(int64(3*time.Second+7), uint16(3), int64(-5e17), []byte{2, 6, 1, 0, 11, 4, 200, 2, 7})
	f.Add(int64(30*time.Second), uint16(10), int64(1.7e18+123456789), []byte{0, 0, 0, 6, 255, 1, 1, 7, 9, 0})
	f.Fuzz(func(t *testing.T, length int64, buckets uint16, base int64, ops []byte) {
		if buckets == 0 || length <= 0 || length/int64(buckets) < int64(time.Millisecond) {
			return // WithWindow refuses these
		}
		width, n := length/int64(buckets), int64(buckets)
		baseT := time.Unix(0, base)
		w := circuit.NewTimeWindow(time.Duration(length), int(buckets), baseT)
		var events []fzEvent
		now := int64(0)
		// The clock runs from 0 to limit: no further than base+now can go.
		// (A breaker's clock reads nanoseconds since New in an int64; the
		// last bucket before 2^63 is clamped.)
		limit := int64(math.MaxInt64) - max(base, 0) - 2*width
		advance := func(d uint64) { now += int64(min(d, uint64(limit-now))) }
		r := &fzReader{b: ops}
		for r.more() {
			switch k := r.byte() % 12; {
			case k < 6: // record
				e := fzEvent{at: now, o: int(k % 3), slow: k >= 3 && int(k%3) != circuit.WindowExcluded}
				w.Record(now, e.o, e.slow)
				events = append(events, e)
			case k < 8: // advance by a fraction of a bucket
				advance(uint64(r.byte()) * uint64(width) / 16)
			case k == 8: // advance by whole buckets
				advance(uint64(r.byte()) * uint64(width))
			case k == 9: // advance by any amount
				advance(r.u64())
			case k == 10:
				w.Reset()
				events = events[:0]
			}
			// Compare at every step.
			cur := mdlFloorDiv(base+now, width)
			var want circuit.WindowCounts
			for _, e := range events {
				if b := mdlFloorDiv(base+e.at, width); b > cur-n && b <= cur {
					switch e.o {
					case circuit.WindowSuccess:
						want.Successes++
					case circuit.WindowFailure:
						want.Failures++
					default:
						want.Excluded++
					}
					if e.slow {
						want.Slow++
					}
				}
			}
			if got := w.Counts(now); got != want {
				t.Fatalf("at %v (width %v, %d buckets, base %v): want %+v, got %+v",
					time.Duration(now), time.Duration(width), n, baseT.UTC(), want, got)
			}
		}
	})
}

// FuzzCountWindow holds the count window against a list of the counted
// outcomes: it holds the last size of them, and the excluded ones since the
// last reset.
func FuzzCountWindow(f *testing.F) {
	f.Add(uint16(1), []byte{0, 1, 1, 0, 4, 2, 5})
	f.Add(uint16(3), []byte{0, 1, 2, 3, 4, 5, 6, 0, 1, 1, 1, 1})
	f.Add(uint16(20), []byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 6, 0, 0, 3, 4, 2})
	f.Fuzz(func(t *testing.T, size uint16, ops []byte) {
		if size == 0 {
			return // WithCountWindow refuses it
		}
		w := circuit.NewCountWindow(int(size))
		var counted []fzEvent
		excluded := 0
		for i, c := range ops {
			switch k := c % 7; {
			case k < 6:
				o, slow := int(k%3), k >= 3
				if o == circuit.WindowExcluded {
					slow = false
					excluded++
				} else {
					counted = append(counted, fzEvent{o: o, slow: slow})
				}
				w.Record(o, slow)
			default:
				w.Reset()
				counted, excluded = counted[:0], 0
			}
			last := counted
			if len(last) > int(size) {
				last = last[len(last)-int(size):]
			}
			want := circuit.WindowCounts{Excluded: excluded}
			for _, e := range last {
				if e.o == circuit.WindowSuccess {
					want.Successes++
				} else {
					want.Failures++
				}
				if e.slow {
					want.Slow++
				}
			}
			if got := w.Counts(); got != want {
				t.Fatalf("step %d (size %d): want %+v, got %+v", i, size, want, got)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// The model-based test, driven by the fuzzer.

// fzSource is a rand.Source that reads the fuzz data, so that the fuzzer
// chooses every decision of mdlGenerateFrom and mutations change sequences
// locally.
type fzSource struct {
	r    fzReader
	rest *rand.PCG // once the data runs out
}

func (s *fzSource) Uint64() uint64 {
	if !s.r.more() {
		return s.rest.Uint64()
	}
	// Two bytes a decision keep the data short; the low bits are a mix of
	// them, so that IntN's rejection sampling ends.
	hi := uint64(s.r.byte())<<8 | uint64(s.r.byte())
	return hi<<48 | (hi*0x9e3779b97f4a7c15)>>16
}

func FuzzModel(f *testing.F) {
	for _, seed := range [][]byte{
		nil,
		[]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"),
		[]byte(strings.Repeat("\xff\x00\x80", 40)),
		[]byte(strings.Repeat("\x10\x20\x30\x40\x50", 60)),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec := mdlGenerateFrom(rand.New(&fzSource{r: fzReader{b: data}, rest: rand.NewPCG(uint64(len(data)), 1)}), 40)
		if len(data)%2 == 1 {
			spec.onMonotonicClock()
		}
		if _, err := mdlReplay(t, spec, nil, nil); err != nil {
			min := mdlShrink(t, spec)
			var trace strings.Builder
			mdlReplay(t, min, &trace, nil)
			t.Fatalf("the breaker and the model disagree: %v\nshrunk to %d of %d steps:\n%s\n%s",
				err, len(min.ops), len(spec.ops), min.describe(), trace.String())
		}
	})
}

// Edges the fuzz targets reach, held through the public API.

// The end of an open period saturates: an open timeout, a backoff step or a
// RetryAfter() hint near math.MaxInt64 keeps the breaker Open however far the
// clock has moved, rather than wrapping the end negative.
func TestFuzzOpenPeriodNearMaxInt64Saturates(t *testing.T) {
	fail := func(context.Context) (int, error) { return 0, mdlErrFail }
	for _, tc := range []struct {
		name string
		opts []circuit.Option
		fn   func(context.Context) (int, error)
	}{
		{"WithOpenTimeout(math.MaxInt64)", []circuit.Option{circuit.WithOpenTimeout(math.MaxInt64)}, fail},
		{"backoff step near the maximum", []circuit.Option{circuit.WithOpenBackoff(circuit.ConstantBackoff(math.MaxInt64 - 1))}, fail},
		{"RetryAfter hint near the maximum", nil, func(context.Context) (int, error) { return 0, mdlHintErr{math.MaxInt64} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := circuittest.NewClock(time.Unix(1.7e9, 0))
			b := circuit.MustNew[int](append([]circuit.Option{circuit.WithClock(clk), circuit.WithConsecutiveFailures(1)}, tc.opts...)...)
			clk.Advance(time.Second)
			b.Execute(context.Background(), tc.fn)
			require.Equal(t, circuit.Open, b.State(), "right after the trip")
			clk.Advance(100 * 365 * 24 * time.Hour)
			_, err := b.Execute(context.Background(), fail)
			require.ErrorIs(t, err, circuit.ErrOpen, "a century later")
		})
	}
}

// The time window counts new outcomes however long it has been idle: a
// bucket last written 2^31 or more periods ago is not read as a later period
// (which would drop new outcomes in its slot), nor one written 2^32 periods
// ago as the current one. With 1ms buckets 2^31 periods are 25 days.
func TestFuzzTimeWindowCountsAfterAnyIdlePeriod(t *testing.T) {
	t.Run("window", func(t *testing.T) {
		ms := int64(time.Millisecond)
		w := circuit.NewTimeWindow(time.Millisecond, 1, time.Unix(0, 0))
		w.Record(0, circuit.WindowFailure, false)
		at := (1<<31 + 1) * ms
		w.Record(at, circuit.WindowFailure, false)
		require.Equal(t, circuit.WindowCounts{Failures: 1}, w.Counts(at), "2^31+1 periods later")
		require.Equal(t, circuit.WindowCounts{}, w.Counts(1<<32*ms), "2^32 periods later")
	})
	t.Run("breaker idle for 25 days with 1ms buckets", func(t *testing.T) {
		clk := circuittest.NewClock(time.Unix(1.7e9, 0))
		b := circuit.MustNew[int](circuit.WithClock(clk), circuit.WithWindow(10*time.Millisecond, 10),
			circuit.WithConsecutiveFailures(0), circuit.WithFailureRate(0.5, 2))
		clk.Advance(25 * 24 * time.Hour)
		for i := 0; i < 2; i++ {
			b.Execute(context.Background(), func(context.Context) (int, error) { return 0, mdlErrFail })
		}
		require.Equal(t, circuit.Open, b.State(), "2 failures of 2 calls")
	})
}

// Rule 13: ExponentialBackoff is never below zero nor above max, also where
// its float64 arithmetic rounds a step near 2^63 (which time.Duration(x)
// would turn into math.MinInt64) or rounds max up.
func TestFuzzExponentialBackoffStaysWithinZeroAndMax(t *testing.T) {
	for _, maxD := range []time.Duration{math.MaxInt64, math.MaxInt64 - 1, 1<<55 + 5, 1<<62 + 1} {
		for _, jitter := range []float64{0, 0.5, 1} {
			b := circuit.ExponentialBackoff(time.Second, maxD, jitter)
			for attempt := 1; attempt <= 100; attempt++ {
				d := b(attempt)
				require.True(t, d >= 0 && d <= maxD, "ExponentialBackoff(1s, %d, %v)(%d) = %d", maxD, jitter, attempt, d)
			}
		}
	}
}
