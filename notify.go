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
	fn func(Transition) // nil: nothing is queued

	mu      sync.Mutex // guards pending
	pending []Transition

	// running is held while fn runs; hookGoroutine is the id of the goroutine
	// running it, 0 when none. Written by that goroutine only, read by others
	// to tell a hook that changes the state from another goroutine.
	running       sync.Mutex
	hookGoroutine atomic.Uint64
}

// queue adds t to the transitions to deliver, and reports whether there is a
// hook to deliver it to. Called under the breaker's mu, which orders the
// queue.
func (n *notifier) queue(t Transition) bool {
	if n.fn == nil {
		return false
	}
	n.mu.Lock()
	n.pending = append(n.pending, t)
	n.mu.Unlock()
	return true
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
