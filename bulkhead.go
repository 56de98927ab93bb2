package circuit

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// bulkhead caps the calls in flight (WithBulkhead). Taking a free slot is one
// CAS; only a caller that finds none waits, on its own goroutine, for a
// release to wake it, its wait time to end or its context to end.
type bulkhead struct {
	max     int64
	wait    time.Duration
	n       atomic.Int64 // slots taken
	waiters atomic.Int64
	// wake carries a token from a release to a waiter. A waiter counts itself
	// in waiters before it last tries for a slot, and a release frees its slot
	// before it reads waiters, so either the waiter sees the slot or the
	// release sees the waiter. Tokens left by waiters that gave up only cause
	// a spurious retry.
	wake chan struct{}
	full *rejection
}

func newBulkhead(maxConcurrent int, wait time.Duration, full *rejection) *bulkhead {
	return &bulkhead{max: int64(maxConcurrent), wait: wait, wake: make(chan struct{}, maxConcurrent), full: full}
}

func (b *bulkhead) tryAcquire() bool {
	for {
		n := b.n.Load()
		if n >= b.max {
			return false
		}
		if b.n.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (b *bulkhead) acquire(ctx context.Context) error {
	if b.tryAcquire() {
		return nil
	}
	if b.wait <= 0 {
		return b.full
	}
	b.waiters.Add(1)
	defer b.waiters.Add(-1)
	t := time.NewTimer(b.wait)
	defer t.Stop()
	for {
		if b.tryAcquire() {
			return nil
		}
		select {
		case <-b.wake:
		case <-t.C:
			return b.full
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", b.full, ctx.Err())
		}
	}
}

func (b *bulkhead) release() {
	b.n.Add(-1)
	if b.waiters.Load() > 0 {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
}
