package circuit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Group keeps one Breaker per key, such as one per host, so that one
// dependency's failures never open another's breaker. Members are made on
// first use with the Group's options and named after their key.
//
// With WithGroupLimit a Group holds at most maxKeys members: members that are
// Closed and idle make room for new keys, and when none can, new keys share
// one overflow breaker, so that memory stays bounded (a service that calls
// hosts its users name would otherwise grow a breaker per host for ever).
//
// A Group is safe for concurrent use. Make one with NewGroup.
type Group[K comparable, T any] struct {
	cfg     *config
	clk     clock
	members sync.Map // K -> *member[T]
	size    atomic.Int64
	mu      sync.Mutex // serializes making, evicting and the overflow breaker

	// Guarded by mu.
	overflow *Breaker[T]
	nextScan int64 // clock reading before which a full group does not scan again
}

// member is a Group's breaker with its use bit for eviction (a second-chance
// scan): Get sets used, the scan clears it and notes when.
type member[T any] struct {
	b    *Breaker[T]
	used atomic.Bool // set by Get (a store only when clear), cleared by the scan
	// idleSince is the scan's clock reading when it last found used set: the
	// member has not been asked for since. Read and written under Group.mu.
	idleSince int64
}

// WithGroupLimit bounds a Group: at most maxKeys members. A member that is
// Closed, has no call in flight that it knows of, and has not been asked for
// (Get, Execute) for idle is removed to make room for a new key; with
// WithStore it stops syncing. A member that is not Closed is never removed:
// forgetting an outage would let a flood through. When the group is full and
// no member can be removed, Get returns the group's one overflow breaker
// (named "<group name>/overflow"), shared by every key without a member of
// its own, so memory stays bounded and calls stay protected. Calls in flight
// are known only with WithBulkhead or WithHungCalls; set idle above the
// longest call, or a call that outlives it may end on a removed member, its
// outcome uncounted. Only for NewGroup: New rejects it.
func WithGroupLimit(maxKeys int, idle time.Duration) Option {
	return func(c *config) {
		switch {
		case maxKeys < 1:
			c.fail(invalidf("WithGroupLimit", "maxKeys %d is below 1", maxKeys))
		case idle <= 0:
			c.fail(invalidf("WithGroupLimit", "idle %v is not positive", idle))
		default:
			c.groupMax, c.groupIdle = maxKeys, idle
		}
	}
}

// NewGroup returns a group whose members get opts. Invalid options make it
// return an error wrapping ErrInvalidOption, as New does.
func NewGroup[K comparable, T any](opts ...Option) (*Group[K, T], error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Group[K, T]{cfg: cfg, clk: newClock(cfg.clock)}, nil
}

// Get returns the breaker for key, making it on first use. Its name is
// fmt.Sprint(key), or name + "/" + fmt.Sprint(key) when the group was given
// WithName. Concurrent first uses of one key get the same breaker. With
// WithGroupLimit, a key that finds the group full gets the overflow breaker;
// so does a key that is not equal to itself (a float NaN).
func (g *Group[K, T]) Get(key K) *Breaker[T] {
	if g == nil || g.cfg == nil {
		panic("circuit: Group used without NewGroup (a nil or zero-value Group is not usable)")
	}
	if m, ok := g.members.Load(key); ok {
		return g.use(m.(*member[T]))
	}
	// Made under mu, not with LoadOrStore, so that no breaker is made and
	// thrown away: with a store it would have started syncing.
	g.mu.Lock()
	defer g.mu.Unlock()
	if m, ok := g.members.Load(key); ok {
		return g.use(m.(*member[T]))
	}
	if key != key || (g.cfg.groupMax > 0 && int(g.size.Load()) >= g.cfg.groupMax && !g.evict()) {
		return g.overflowBreaker()
	}
	b := g.make(fmt.Sprint(key))
	m := &member[T]{b: b}
	m.used.Store(true)
	g.members.Store(key, m)
	g.size.Add(1)
	return b
}

// use marks m as asked for: a load, and a store only when the scan has
// cleared the bit, so that a busy member's line stays shared.
func (g *Group[K, T]) use(m *member[T]) *Breaker[T] {
	if !m.used.Load() {
		m.used.Store(true)
	}
	return m.b
}

// make returns a new member named after key. Called under mu.
func (g *Group[K, T]) make(key string) *Breaker[T] {
	name := key
	if g.cfg.name != "" {
		name = g.cfg.name + "/" + key
	}
	b := new(Breaker[T])
	b.c.init(g.cfg, name)
	return b
}

// overflowBreaker returns the breaker of keys without a member, made on first
// use. Called under mu.
func (g *Group[K, T]) overflowBreaker() *Breaker[T] {
	if g.overflow == nil {
		g.overflow = g.make("overflow")
		if g.cfg.name == "" {
			g.overflow.c.name = "overflow"
		}
	}
	return g.overflow
}

// evict removes the members that have been idle for the group's idle time
// and reports whether it made room. A full scan costs a pass over the
// members, so a scan that frees nothing is not repeated for an eighth of idle.
// Called under mu.
func (g *Group[K, T]) evict() bool {
	now := g.clk.now()
	if now < g.nextScan {
		return false
	}
	idle := int64(g.cfg.groupIdle)
	freed := 0
	g.members.Range(func(k, v any) bool {
		m := v.(*member[T])
		if m.used.Load() {
			m.used.Store(false)
			m.idleSince = now
			return true
		}
		if now-m.idleSince >= idle && removable(&m.b.c) {
			g.members.Delete(k)
			g.size.Add(-1)
			_ = m.b.Close() // stop its sharing; a member's Close never fails
			freed++
		}
		return true
	})
	if freed == 0 {
		g.nextScan = now + max(idle/8, 1)
	}
	return freed > 0
}

// removable reports whether c may be forgotten: Closed, with no call in flight
// that it tracks.
func removable(c *core) bool {
	return c.state() == Closed && c.inflight.Load() == 0
}

// Len returns the number of members, the overflow breaker not counted.
func (g *Group[K, T]) Len() int { return int(g.size.Load()) }

// Execute runs fn through the breaker for key, as Breaker.Execute.
func (g *Group[K, T]) Execute(ctx context.Context, key K, fn func(context.Context) (T, error)) (T, error) {
	return g.Get(key).Execute(ctx, fn)
}

// ExecuteWithFallback runs fn through the breaker for key, as
// Breaker.ExecuteWithFallback: fallback(ctx, err) answers for every error
// Execute would return. A nil fallback panics on every call.
func (g *Group[K, T]) ExecuteWithFallback(ctx context.Context, key K, fn func(context.Context) (T, error),
	fallback func(context.Context, error) (T, error)) (T, error) {
	return g.Get(key).ExecuteWithFallback(ctx, fn, fallback)
}

// Range calls fn for each member until fn returns false, in no fixed order,
// as sync.Map.Range does. The overflow breaker is not a member.
func (g *Group[K, T]) Range(fn func(key K, b *Breaker[T]) bool) {
	g.members.Range(func(k, m any) bool { return fn(k.(K), m.(*member[T]).b) })
}

// Close closes every member and the overflow breaker, stopping their
// background sharing (WithStore), and returns their errors joined.
func (g *Group[K, T]) Close() error {
	var errs []error
	g.Range(func(_ K, b *Breaker[T]) bool {
		errs = append(errs, b.Close())
		return true
	})
	g.mu.Lock()
	if g.overflow != nil {
		errs = append(errs, g.overflow.Close())
	}
	g.mu.Unlock()
	return errors.Join(errs...)
}
