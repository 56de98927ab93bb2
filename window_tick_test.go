package circuit

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit/circuittest"
)

// The timers that spare a bare breaker's hot paths the clock read
// (window_tick.go, timeOpen). Each test runs in a synctest bubble: the
// runtime's timers and the monotonic clock are the bubble's fake ones, and
// pass moves them.

// pass moves the bubble's time on by d (its sleep returns at once in real
// time), and waits for every timer due by then to have run.
func pass(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

func okCall(context.Context) (int, error) { return 1, nil }

var errTick = errors.New("tick test: failure")

func failCall(context.Context) (int, error) { return 0, errTick }

// lastOf is the latest period a breaker's window recorded, and whether the
// tick has marked it over.
func lastOf(b *Breaker[int]) (epoch int64, over bool) {
	lp := b.c.tw.last.Load()
	return lp >> placeBits, lp&placeOver != 0
}

// overAfter moves time on by d and reports whether last's period is then
// marked over.
func overAfter(b *Breaker[int], d time.Duration) bool {
	pass(d)
	_, over := lastOf(b)
	return over
}

// succeed makes one successful call, and returns last's period and mark
// after it.
func succeed(b *Breaker[int]) (epoch int64, over bool) {
	_, _ = b.Execute(context.Background(), okCall)
	return lastOf(b)
}

func TestTickMarksThePeriodOverWhenTheClockLeavesItAndARecordBeginsTheNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := MustNew[int](WithWindow(10*time.Second, 10)) // 1s periods, from midnight: phase 0
		e, over := lastOf(b)
		require.Equal(t, int64(0), e)
		require.True(t, over, "a new window takes its first period as over")
		require.Nil(t, b.c.tw.tick, "and has no timer before its first call")
		pass(500 * time.Millisecond)
		_, over = succeed(b)
		require.False(t, over, "the first success reads the clock, finds period 0 running, and takes the mark off")
		require.NotNil(t, b.c.tw.tick, "and makes the tick, set for the period's end")
		require.True(t, overAfter(b, 500*time.Millisecond), "the tick marks period 0 over at its end")

		e, over = succeed(b)
		require.Equal(t, int64(1), e, "a success in period 1 reads the clock and begins it")
		require.False(t, over, "and sets the tick for its end: until then a success takes it with no clock read")
		require.False(t, overAfter(b, time.Second-1), "a nanosecond before its end, period 1 lasts")
		require.True(t, overAfter(b, 1), "the tick marks period 1 over at its end")

		e, over = succeed(b)
		assert.Equal(t, int64(2), e, "the first success after the mark reads the clock and begins period 2")
		assert.False(t, over, "and sets the tick for period 2's end")
		assert.True(t, overAfter(b, time.Second), "the tick set again marks period 2 over in turn")
		assert.Equal(t, 3, b.Metrics().Successes)
		assert.Equal(t, uint64(3), b.Metrics().Totals.Successes)
	})
}

func TestSuccessesCountedWithoutTheClockLeaveTheWindowOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := MustNew[int](WithWindow(10*time.Second, 10))
		ctx := context.Background()
		pass(time.Second)
		for range 3 {
			_, _ = b.Execute(ctx, okCall) // the first begins period 1; the others take it with no clock read
		}
		require.False(t, overAfter(b, 0))
		pass(9*time.Second + 999*time.Millisecond)
		_, _ = b.Execute(ctx, okCall)
		require.Equal(t, 4, b.Metrics().Successes, "period 1 is still in a window ending in period 10")
		pass(time.Millisecond)
		m := b.Metrics()
		assert.Equal(t, 1, m.Successes, "period 1 has left the window: only period 10's success is in it")
		assert.Equal(t, uint64(4), m.Totals.Successes, "and none is lost to the totals")
	})
}

func TestTickFiredBeforeItsPeriodEndsSetsItselfAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := MustNew[int](WithWindow(10*time.Second, 10))
		pass(time.Second)
		succeed(b)      // begins period 1
		b.c.tw.expire() // as if a raise of an older period had set the tick back
		require.False(t, overAfter(b, 0), "a tick before the period's end marks nothing")
		assert.True(t, overAfter(b, time.Second), "the tick it set again marks the period over at its end")
	})
}

func TestOpenPeriodEndsWithItsTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := MustNew[int](WithConsecutiveFailures(1), WithOpenTimeout(time.Second))
		ctx := context.Background()
		_, _ = b.Execute(ctx, failCall)
		o := b.c.open.Load()
		require.NotNil(t, o.over, "a bare breaker's open period has a timer")

		_, err := b.Execute(ctx, okCall)
		require.ErrorIs(t, err, ErrOpen)
		pass(time.Second - 1)
		_, err = b.Execute(ctx, okCall)
		require.ErrorIs(t, err, ErrOpen, "a nanosecond before its end the period lasts")
		assert.False(t, o.over.Load())

		pass(1)
		assert.True(t, o.over.Load(), "the timer fires at the period's end")
		v, err := b.Execute(ctx, okCall)
		require.NoError(t, err, "the next call is a half-open trial")
		assert.Equal(t, 1, v)
		assert.Equal(t, Closed, b.State())
		assert.Equal(t, uint64(2), b.Metrics().Rejected)
	})
}

func TestOnlyABareBreakerOnTheMonotonicClockHasTimers(t *testing.T) {
	ctx := context.Background()
	for name, opts := range map[string][]Option{
		"WithClock":    {WithClock(circuittest.NewClock(time.Unix(1.7e9, 0)))},
		"WithBulkhead": {WithBulkhead(4, 0)},
		"WithObserver": {WithObserver(func(context.Context, Observation) {})},
	} {
		t.Run(name, func(t *testing.T) {
			b := MustNew[int](append(opts, WithConsecutiveFailures(1))...)
			assert.Nil(t, b.c.tw.tick, "no tick")
			_, over := lastOf(b)
			assert.True(t, over, "every period is over for want of a tick: a success reads the clock")
			_, _ = b.Execute(ctx, okCall)
			_, over = lastOf(b)
			assert.True(t, over)
			_, _ = b.Execute(ctx, failCall)
			assert.Nil(t, b.c.open.Load().over, "no open period timer: a rejection reads the clock")
		})
	}
}

// windowNowOf is the reading a breaker's window takes as now, and whether it
// read the clock for it.
func windowNowOf(b *Breaker[int]) (now int64, readClock bool) {
	lazy := lazyNow{clk: &b.c.clk}
	now = b.c.windowNow(&lazy)
	return now, lazy.read
}

func TestTheWindowTakesTheRunningPeriodFromTheTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := MustNew[int](WithWindow(10*time.Second, 10))
		pass(1500 * time.Millisecond)
		now, read := windowNowOf(b)
		require.Equal(t, int64(1500*time.Millisecond), now)
		require.True(t, read, "no tick yet: the clock")
		succeed(b)
		now, read = windowNowOf(b)
		assert.Equal(t, int64(time.Second), now, "while period 1 runs, its start: the window finds the same buckets")
		assert.False(t, read, "with no clock read")
		_, _ = b.Execute(context.Background(), failCall)
		m := b.Metrics()
		assert.Equal(t, 1, m.Successes)
		assert.Equal(t, 1, m.Failures, "a failure counts in the running period as a success does")
		pass(500 * time.Millisecond)
		now, read = windowNowOf(b)
		assert.Equal(t, int64(2*time.Second), now)
		assert.True(t, read, "period 1 is over: the clock")
		assert.Equal(t, 2, b.Metrics().Calls)
	})
}

func TestASuccessThatReadTheClockLongAgoCannotReopenAPeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := MustNew[int](WithWindow(10*time.Second, 10))
		_, _ = b.Execute(context.Background(), okCall) // takes the mark off period 0 and sets the tick
		pass(1500 * time.Millisecond)
		lp := b.c.tw.last.Load()
		require.NotZero(t, lp&placeOver, "the tick marked period 0 over")
		b.c.tw.unmark(lp) // as a success that read the clock in period 0 and stalled until now
		_, over := lastOf(b)
		assert.True(t, over, "the clock has left period 0: the mark is back at once, not at the tick")
	})
}
