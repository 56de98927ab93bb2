package floor

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// The floor under ClosedSuccess with a breaker's rules. FloorExecuteWindow
// keeps none of the rules DESIGN.md sets for a Closed success; this floor
// keeps each of them, in the fewest steps, in one frame, and does nothing
// else:
//
//   - the breaker is a value of its own, reached through a pointer, and
//     panics at once if it is nil or was not made (a programming error), as
//     it does on a nil fn;
//   - a panic in fn is a failure, with all a failure does (the trip rules),
//     so the guard calls a function where FloorExecuteWindow's only adds;
//   - a Clock given with WithClock is asked instead of the monotonic one;
//   - an outcome of a round that ended during the call is dropped, not
//     counted: the state word is loaded again after the call, and the
//     window's round compared with it (a reset starts a new one);
//   - a success ends the failure streak (WithConsecutiveFailures, on by
//     default): a load, and a store only when there is a streak to end.
//
// What the breaker costs above this is how it is written, not what it does.

// A state word holds the state in its low rulesStateBits (0 is Closed) and
// the round above them.
const (
	rulesStateBits = 3
	rulesClosed    = 0
)

// rulesBreaker is the least a breaker holds for the Closed path: its state
// word, an optional Clock, the window and the failure streak, off the
// word's cache line as a breaker keeps it.
type rulesBreaker struct {
	word   atomic.Uint64
	made   bool                         // false: not made by its constructor
	clock  interface{ Now() time.Time } // nil: the monotonic clock
	base   time.Time
	round  uint64 // the round the window's counts belong to
	win    floorWindow
	streak atomic.Uint64
	_      [56]byte
	fails  atomic.Uint64
}

// failed is the failure path, which a panic in fn takes: the trip rules live
// there, past what this floor measures.
//
//go:noinline
func (b *rulesBreaker) failed(w uint64) { b.fails.Add(1) }

// rulesExecute is a Closed success with every rule kept, in Execute's shape.
// What it hands elsewhere (another state, an error, a Clock, a late outcome)
// returns at once: those paths are not the floor's.
func rulesExecute[T any](b *rulesBreaker, ctx context.Context, fn func(context.Context) (T, error)) (v T, err error) {
	if b == nil || !b.made {
		panic("floor: breaker not made")
	}
	if fn == nil {
		panic("floor: nil fn")
	}
	w := b.word.Load()
	if w&(1<<rulesStateBits-1) != rulesClosed {
		return v, errFloor
	}
	finished := false
	defer func() {
		if !finished {
			b.failed(w)
		}
	}()
	v, err = fn(ctx)
	finished = true
	if err != nil || ctx.Done() != nil || b.clock != nil {
		return v, err // classified, or read from the Clock, elsewhere
	}
	now := int64(time.Since(b.base))
	if b.word.Load() != w || b.round != w>>rulesStateBits {
		return v, err // a late outcome
	}
	b.win.record(now)
	if b.streak.Load() != 0 {
		b.streak.Store(0)
	}
	return v, err
}

// ExecuteRules is the floor under ClosedSuccess for a breaker that keeps
// DESIGN.md's rules: FloorExecuteWindow and each rule's least cost.
func ExecuteRules(b *testing.B) {
	br := &rulesBreaker{made: true, base: time.Now()}
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		_, _ = rulesExecute(br, ctx, ok)
	}
	if br.fails.Load() != 0 {
		b.Fatal("rulesExecute took the failure path")
	}
}
