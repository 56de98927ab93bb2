package chaos

import (
	"context"
	"time"
)

// apply applies a fault that fires on a call before the call runs. It returns
// nil when the call should then run (a delay that ran out), or the error the
// call returns instead of running. HTTPStatus faults never reach it.
func (f *Fault) apply(ctx context.Context) error {
	switch f.kind {
	case kindLatency:
		return sleep(ctx, f.delay)
	case kindHang:
		<-ctx.Done()
		return ctx.Err()
	default:
		return f.err
	}
}

// sleep waits d, or until ctx ends, whichever is first, and returns ctx's
// error if ctx ended first. A context that had ended already returns at once,
// so a canceled call never runs even when the timer would fire as quickly.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// A stopped timer is released at once; time.After would keep one per
	// canceled call alive until its d ran out.
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
