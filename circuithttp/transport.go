// Package circuithttp puts a circuit breaker per host in front of an
// http.RoundTripper.
//
// A Transport sends each request through the breaker of its host (the
// request URL's Host, such as "api.example.com" or "127.0.0.1:8080"). The
// breakers live in a circuit.Group, so a failing host never opens another
// host's breaker.
//
// A transport error, a 5xx response or a 429 response counts as a failure of
// the host; every other response counts as a success. The caller still gets
// every response, whatever its status, with a nil error and an unread body,
// as the http.RoundTripper contract requires. A request whose context the
// caller canceled counts as neither, because it says nothing about the host.
// A request that runs past its context's deadline (http.Client.Timeout, say)
// is a failure. The outcome is judged when the response headers arrive, so
// circuit.WithSlowCalls and circuit.WithHungCalls measure the time to the
// headers, not the time spent reading the body. circuit.WithCallTimeout
// cannot cancel a request sent through a Transport; it only counts one whose
// headers came later as a failure. Give the request a deadline instead.
//
// While a host's breaker is open, RoundTrip sends nothing to the host. It
// returns a nil response and an error wrapping circuit.ErrOpen, or
// circuit.ErrTooManyRequests while a half-open round's trial calls are all
// taken. It also closes the request body, as the RoundTripper contract
// requires. circuit.RetryAfter reads from that error how long the host stays
// open. An http.Client passes the error on wrapped in a *url.Error, and
// errors.Is and circuit.RetryAfter see through that.
//
// A 429 or 503 response with a Retry-After header, given in seconds or as an
// HTTP date, keeps the host's breaker open at least that long if it is the
// response that trips the breaker.
//
// There are two constructors. NewTransport takes circuit options, which every
// host's breaker gets, and is what most callers want. New also takes this
// package's own Options, which change what counts as a failure
// (WithFailureStatus), how requests map to breakers (WithKey) and how long a
// Retry-After may hold a breaker open (WithMaxRetryAfter):
//
//	t, err := circuithttp.New(nil,
//		circuithttp.WithFailureStatus(func(code int) bool { return code >= 500 }),
//		circuithttp.WithBreakerOptions(circuit.WithConsecutiveFailures(3)),
//	)
//
// A Transport is a circuit.Source and a circuit.History: the metrics adapters
// (circuitprom, circuitotel) and the status page (circuitdebug) read every
// host's breaker through it, and Transport.Metrics reads one host's figures.
//
// Make a Transport with NewTransport or New. Using a nil *Transport, or a
// Transport value not made by them, is a programming error: it panics at
// once with a message starting "circuit:", as net/http panics on a nil
// handler.
package circuithttp

import (
	"errors"
	"net/http"
	"time"

	"github.com/seed33933975/circuit"
)

// Transport is an http.RoundTripper that sends each request through the
// breaker of its host, made on first use. Make one with NewTransport or New.
// It is safe for concurrent use, as every RoundTripper must be.
//
// The zero value is not usable: every method of a Transport not made by
// NewTransport or New, or of a nil *Transport, panics with a message starting
// "circuit:". That is a programming error, as a nil handler is to net/http,
// and it shows on first use rather than as a nil dereference.
type Transport struct {
	base          http.RoundTripper
	group         *circuit.Group[string, struct{}]
	failure       func(code int) bool
	key           func(*http.Request) string
	maxRetryAfter time.Duration // > 0: cap on a Retry-After hint
}

var (
	_ http.RoundTripper = (*Transport)(nil)
	_ circuit.Source    = (*Transport)(nil)
	_ circuit.History   = (*Transport)(nil)
)

// NewTransport returns a Transport that sends requests through base, with one
// breaker per request host configured by opts. A nil base means
// http.DefaultTransport. Invalid opts make it return an error wrapping
// circuit.ErrInvalidOption, as circuit.New does.
//
// It is New(base, WithBreakerOptions(opts...)).
func NewTransport(base http.RoundTripper, opts ...circuit.Option) (*Transport, error) {
	return New(base, WithBreakerOptions(opts...))
}

// New is like NewTransport but takes this package's Options. Without options
// it behaves as NewTransport(base) does. An invalid option value, including
// an invalid circuit option given through WithBreakerOptions, makes it return
// an error wrapping circuit.ErrInvalidOption that names the option.
func New(base http.RoundTripper, opts ...Option) (*Transport, error) {
	s := settings{failure: DefaultFailureStatus, key: HostKey}
	for i, o := range opts {
		if o == nil {
			s.errs = append(s.errs, invalid("Option", "option %d is nil", i))
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
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{
		base:          base,
		group:         g,
		failure:       s.failure,
		key:           s.key,
		maxRetryAfter: s.maxRetryAfter,
	}, nil
}

// errNoURL is returned for a request with a nil URL, which has no host to key
// its breaker by.
var errNoURL = errors.New("circuithttp: request has a nil URL")

// errPanicked is the failure counted for a request during which the base
// RoundTripper panicked.
var errPanicked = errors.New("circuithttp: base RoundTripper panicked")

// RoundTrip sends req through the breaker of its host.
//
// If the breaker admits the request, RoundTrip returns what the base
// RoundTripper returned, whatever the response's status. It counts the
// outcome as the package doc describes. If the breaker rejects the request,
// RoundTrip sends nothing, closes req.Body and returns a nil response with
// the breaker's error. That error wraps circuit.ErrOpen,
// circuit.ErrTooManyRequests or circuit.ErrBulkheadFull.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mustBeMade()
	if req.URL == nil {
		closeBody(req)
		return nil, errNoURL
	}
	done, err := t.group.Get(t.key(req)).Allow(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	// A done never called would hold a half-open trial for ever, so a panic
	// in base still counts, as a failure, before it goes on.
	finished := false
	defer func() {
		if !finished {
			done(errPanicked)
		}
	}()
	resp, err := t.base.RoundTrip(req)
	finished = true
	switch {
	case err != nil:
		done(err)
	case t.failure(resp.StatusCode):
		done(t.statusError(resp))
	default:
		done(nil)
	}
	return resp, err
}

// Breakers calls fn with the name and a Metrics snapshot of each breaker made
// so far, one per key (by default per host), in no fixed order, until fn
// returns false. It makes a Transport a circuit.Source. A breaker is named
// after its key, prefixed by circuit.WithName's name and a slash when the
// breaker options gave one: "api.example.com", or "api/api.example.com".
func (t *Transport) Breakers(fn func(name string, m circuit.Metrics) bool) {
	t.mustBeMade()
	t.group.Breakers(fn)
}

// Transitions calls fn with the name and the recent transitions of each
// breaker made so far, oldest first, until fn returns false. It makes a
// Transport a circuit.History, so that the status page shows them.
func (t *Transport) Transitions(fn func(name string, recent []circuit.Transition) bool) {
	t.mustBeMade()
	t.group.Transitions(fn)
}

// Metrics returns a snapshot of the figures of the breaker for key: by
// default a request URL's Host, such as "api.example.com" or
// "127.0.0.1:8080" (see HostKey and WithKey). It reports false, with zero
// Metrics (whose State is circuit.Closed), when no request with that key has
// been made yet. It looks through the breakers made so far; Breakers reads
// them all at once.
func (t *Transport) Metrics(key string) (circuit.Metrics, bool) {
	t.mustBeMade()
	var (
		m     circuit.Metrics
		found bool
	)
	t.group.Range(func(k string, b *circuit.Breaker[struct{}]) bool {
		if k == key {
			m, found = b.Metrics(), true
		}
		return !found
	})
	return m, found
}

// Close closes every breaker of the Transport, which stops their background
// sharing when circuit.WithStore was given. Without a store it does nothing.
// It does not close the base RoundTripper's connections: that is
// CloseIdleConnections.
func (t *Transport) Close() error {
	t.mustBeMade()
	return t.group.Close()
}

// CloseIdleConnections closes the idle connections of the base RoundTripper,
// if it has a CloseIdleConnections method, so that
// http.Client.CloseIdleConnections reaches through a Transport.
func (t *Transport) CloseIdleConnections() {
	t.mustBeMade()
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// closeBody closes the body of a request that is not sent. The RoundTripper
// contract makes RoundTrip close it even on errors.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// mustBeMade panics unless t was made by New or NewTransport. Without its
// group a Transport has no breakers: rather than fail later with a nil
// dereference deep in a request, it names the mistake on first use.
func (t *Transport) mustBeMade() {
	if t == nil {
		panic("circuit: method called on a nil *circuithttp.Transport")
	}
	if t.group == nil {
		panic("circuit: circuithttp.Transport used without NewTransport or New (its zero value is not usable)")
	}
}
