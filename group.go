package circuit

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Group keeps one Breaker per key, such as one per host, so that one
// dependency's failures never open another's breaker. Members are made on
// first use with the Group's options and named after their key.
//
// A Group is safe for concurrent use. Make one with NewGroup.
type Group[K comparable, T any] struct {
	cfg     *config
	members sync.Map // K -> *Breaker[T]
	mu      sync.Mutex
}

// NewGroup returns a group whose members get opts. Invalid options make it
// return an error wrapping ErrInvalidOption, as New does.
func NewGroup[K comparable, T any](opts ...Option) (*Group[K, T], error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Group[K, T]{cfg: cfg}, nil
}

// Get returns the breaker for key, making it on first use. Its name is
// fmt.Sprint(key), or name + "/" + fmt.Sprint(key) when the group was given
// WithName. Concurrent first uses of one key get the same breaker.
func (g *Group[K, T]) Get(key K) *Breaker[T] {
	if g == nil || g.cfg == nil {
		panic("circuit: Group used without NewGroup (a nil or zero-value Group is not usable)")
	}
	if b, ok := g.members.Load(key); ok {
		return b.(*Breaker[T])
	}
	// Made under mu, not with LoadOrStore, so that no breaker is made and
	// thrown away: with a store it would have started syncing.
	g.mu.Lock()
	defer g.mu.Unlock()
	if b, ok := g.members.Load(key); ok {
		return b.(*Breaker[T])
	}
	name := fmt.Sprint(key)
	if g.cfg.name != "" {
		name = g.cfg.name + "/" + name
	}
	b := new(Breaker[T])
	b.c.init(g.cfg, name)
	g.members.Store(key, b)
	return b
}

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
// as sync.Map.Range does.
func (g *Group[K, T]) Range(fn func(key K, b *Breaker[T]) bool) {
	g.members.Range(func(k, b any) bool { return fn(k.(K), b.(*Breaker[T])) })
}

// Close closes every member, stopping their background sharing (WithStore),
// and returns their errors joined.
func (g *Group[K, T]) Close() error {
	var errs []error
	g.Range(func(_ K, b *Breaker[T]) bool {
		if err := b.Close(); err != nil {
			errs = append(errs, err)
		}
		return true
	})
	return errors.Join(errs...)
}
