package circuithttp

import (
	"fmt"
	"net/http"
	"time"

	"github.com/seed33933975/circuit"
)

// An Option configures a Transport made with New. Options are applied in
// order. New reports invalid values as errors and never replaces them with
// defaults.
type Option func(*settings)

// settings is what the Options of one New call build up.
type settings struct {
	breaker       []circuit.Option
	failure       func(int) bool
	key           func(*http.Request) string
	maxRetryAfter time.Duration
	errs          []error
}

// invalid returns an error wrapping circuit.ErrInvalidOption that names the
// option and the value, as the core's errors do. For example:
// "circuit: invalid option WithKey: function is nil".
func invalid(option, format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", circuit.ErrInvalidOption, option, fmt.Sprintf(format, args...))
}

// DefaultFailureStatus reports whether a response status counts as a failure
// of the host when WithFailureStatus is not given. It is true for 429 Too Many
// Requests and for every 5xx status.
func DefaultFailureStatus(code int) bool {
	return code == http.StatusTooManyRequests || (code >= 500 && code <= 599)
}

// HostKey returns req.URL.Host. It is the key that maps requests to breakers
// when WithKey is not given.
func HostKey(req *http.Request) string { return req.URL.Host }

// WithBreakerOptions gives opts to every breaker of the Transport. Options
// given in several WithBreakerOptions are applied in order, as if they were
// given in one.
func WithBreakerOptions(opts ...circuit.Option) Option {
	return func(s *settings) { s.breaker = append(s.breaker, opts...) }
}

// WithFailureStatus replaces DefaultFailureStatus. A response whose status
// makes fn return true counts as a failure of its host, and any other
// response counts as a success. The caller gets the response either way.
// Transport errors always count as failures, and calls whose caller canceled
// them are always ignored.
func WithFailureStatus(fn func(code int) bool) Option {
	return func(s *settings) {
		if fn == nil {
			s.errs = append(s.errs, invalid("WithFailureStatus", "predicate is nil"))
			return
		}
		s.failure = fn
	}
}

// WithKey replaces HostKey. Requests for which fn returns the same key share
// a breaker, which is named after the key. fn is called for every request,
// must be safe for concurrent use and must not modify the request. For
// example, req.URL.Hostname() makes one breaker for all ports of a host, and
// req.Method + " " + req.URL.Host separates writes from reads.
func WithKey(fn func(req *http.Request) string) Option {
	return func(s *settings) {
		if fn == nil {
			s.errs = append(s.errs, invalid("WithKey", "function is nil"))
			return
		}
		s.key = fn
	}
}

// WithMaxRetryAfter caps how long a Retry-After header can keep a breaker
// open, as a guard against a server that asks for hours. The breaker's own
// open timeout still applies when it is longer. By default there is no cap,
// and the server's Retry-After is honoured whatever its length. d must be
// positive.
func WithMaxRetryAfter(d time.Duration) Option {
	return func(s *settings) {
		if d <= 0 {
			s.errs = append(s.errs, invalid("WithMaxRetryAfter", "d %v is not positive", d))
			return
		}
		s.maxRetryAfter = d
	}
}
