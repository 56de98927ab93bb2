package circuit

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// notifier delivers transitions to WithOnStateChange's function in order,
// outside every lock of the breaker (rule 6): transitions are queued under
// the breaker's mu, in the order they happen, and delivered after it is
// released.
type notifier struct {
	fn func(Transition) // nil: nothing is queued for delivery
	// tagCallers records which goroutine made each transition, so that an
	// observer is told the transitions its own call caused (WithObserver).
	tagCallers bool

	mu      sync.Mutex // guards pending and history
	pending []Transition
	// history holds the last HistoryLength transitions, made on the first
	// one: a ring written at seq % HistoryLength.
	history []madeTransition
	// seq counts the transitions made; added to under the breaker's mu
	// (and mu), read without a lock to see whether any came since a mark.
	seq atomic.Uint64

	// running is held while fn runs; hookGoroutine is the id of the goroutine
	// running it, 0 when none. Written by that goroutine only, read by others
	// to tell a hook that changes the state from another goroutine.
	running       sync.Mutex
	hookGoroutine atomic.Uint64
}

// madeTransition is a transition in the history, with its place in the
// sequence and the goroutine that made it (when callers are tagged).
type madeTransition struct {
	Transition
	seq uint64
	by  uint64
}

// queue records t in the history and adds it to the transitions to deliver,
// and reports whether there is a hook to deliver it to. Called under the
// breaker's mu, which orders the queue.
func (n *notifier) queue(t Transition) bool {
	var by uint64
	if n.tagCallers {
		by = goid() // about a microsecond, on a transition only
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.history == nil {
		n.history = make([]madeTransition, HistoryLength)
	}
	seq := n.seq.Add(1)
	n.history[seq%HistoryLength] = madeTransition{Transition: t, seq: seq, by: by}
	if n.fn == nil {
		return false
	}
	n.pending = append(n.pending, t)
	return true
}

// mark is the place in the sequence now: causedSince(mark) tells what came
// after it.
func (n *notifier) mark() uint64 { return n.seq.Load() }

// causedSince returns the transitions made after mark by the calling
// goroutine, in order; nil (without a lock) when none were made at all.
func (n *notifier) causedSince(mark uint64) []Transition {
	if n.seq.Load() == mark {
		return nil
	}
	me := goid()
	var out []Transition
	for _, m := range n.since(mark) {
		if m.by == me {
			out = append(out, m.Transition)
		}
	}
	return out
}

// recent returns the transitions in the history, oldest first.
func (n *notifier) recent() []Transition {
	var out []Transition
	for _, m := range n.since(0) {
		out = append(out, m.Transition)
	}
	return out
}

// since returns the history's transitions after mark, oldest first.
func (n *notifier) since(mark uint64) []madeTransition {
	n.mu.Lock()
	defer n.mu.Unlock()
	seq := n.seq.Load()
	first := max(mark+1, seq-min(seq, HistoryLength-1))
	out := make([]madeTransition, 0, seq-min(seq, first-1))
	for s := first; s <= seq; s++ {
		out = append(out, n.history[s%HistoryLength])
	}
	return out
}

// deliver runs the hook for the pending transitions, in order, and returns
// when the transitions this goroutine queued have been delivered. Whoever
// holds running delivers everything queued until it finds the queue empty,
// so a transition queued while another goroutine delivers is never stranded:
// a goroutine that finds running held waits for it, and by then its
// transition has been delivered, by the holder or by itself. The one
// exception is a hook that changes the state: its goroutine already holds
// running, so it must not wait; the new transition is delivered when the hook
// returns.
func (n *notifier) deliver() {
	for {
		if !n.running.TryLock() {
			if g := n.hookGoroutine.Load(); g != 0 && g == goid() {
				return // called from the hook itself
			}
			n.running.Lock()
		}
		n.runHooks()
		n.mu.Lock()
		more := len(n.pending) > 0
		n.mu.Unlock()
		if !more {
			return
		}
	}
}

// runHooks delivers until the queue is empty, then releases running.
func (n *notifier) runHooks() {
	n.hookGoroutine.Store(goid())
	defer func() {
		n.hookGoroutine.Store(0)
		n.running.Unlock()
	}()
	for {
		n.mu.Lock()
		q := n.pending
		n.pending = nil
		n.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, t := range q {
			n.fn(t)
		}
	}
}

// goid returns the id of the calling goroutine, from the first line of its
// stack trace ("goroutine 42 [running]:"). It costs about a microsecond and
// runs only when a transition is delivered to a hook, to tell a hook that
// changes the state from another goroutine that must wait for it.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = b[len("goroutine "):]
	var id uint64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			break
		}
		id = id*10 + uint64(ch-'0')
	}
	return id
}
