package circuitgrpc

import (
	"context"
	"errors"

	"google.golang.org/grpc"

	"github.com/seed33933975/circuit"
)

// Interceptors holds one circuit breaker per key (by default per target) and
// gives a unary and a stream client interceptor that send calls through
// them. Give both to the same grpc.NewClient, or to several: calls through
// every ClientConn that uses one Interceptors share its breakers by key.
//
// Interceptors is safe for concurrent use. Make one with New.
type Interceptors struct {
	group   *circuit.Group[string, struct{}]
	key     func(ctx context.Context, method string, cc *grpc.ClientConn) string
	failure codeSet
	skip    func(method string) bool
}

// New returns Interceptors configured by opts. Without options every target
// gets a breaker with the circuit package's defaults, the default failure
// codes apply, and health checks pass untouched.
//
// An invalid option (a nil Option, a nil func, no failure codes, or an
// invalid circuit option given through WithBreakerOptions) makes New return an
// error wrapping circuit.ErrInvalidOption that names the option.
func New(opts ...Option) (*Interceptors, error) {
	s := defaultSettings()
	for n, o := range opts {
		if o == nil {
			s.errs = append(s.errs, invalid("Option", "option %d is nil", n))
			continue
		}
		o(&s)
	}
	if len(s.errs) > 0 {
		return nil, errors.Join(s.errs...)
	}
	g, err := circuit.NewGroup[string, struct{}](s.breaker...)
	if err != nil {
		return nil, err
	}
	return &Interceptors{group: g, key: s.key, failure: s.failure, skip: s.skip}, nil
}

// Breakers calls fn with the name and a Metrics snapshot of each breaker made
// so far, in no fixed order, until fn returns false. It makes Interceptors a
// circuit.Source, for the status page and the metrics adapters. A breaker is
// named after its key, prefixed by circuit.WithName's name and a slash when
// WithBreakerOptions gave one.
func (i *Interceptors) Breakers(fn func(name string, m circuit.Metrics) bool) {
	i.group.Breakers(fn)
}

// Transitions calls fn with the name and the recent transitions of each
// breaker made so far, oldest first, until fn returns false: Interceptors
// are a circuit.History, so that the status page shows them.
func (i *Interceptors) Transitions(fn func(name string, recent []circuit.Transition) bool) {
	i.group.Transitions(fn)
}

// breaker returns the breaker for a call, made on first use.
func (i *Interceptors) breaker(ctx context.Context, method string, cc *grpc.ClientConn) *circuit.Breaker[struct{}] {
	return i.group.Get(i.key(ctx, method, cc))
}
