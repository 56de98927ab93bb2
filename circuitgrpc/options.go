package circuitgrpc

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/seed33933975/circuit"
)

// An Option configures the Interceptors made by New. Options are applied in
// order, and each one replaces its default whole. New reports invalid values
// as errors and never replaces them with defaults.
type Option func(*settings)

// settings is what the Options of one New call build up.
type settings struct {
	breaker []circuit.Option
	key     func(ctx context.Context, method string, cc *grpc.ClientConn) string
	failure codeSet
	skip    func(method string) bool
	errs    []error
}

// defaultSettings are New's settings before its options: a breaker per
// target, the default failure codes and the health-check skip.
func defaultSettings() settings {
	return settings{key: byTarget, failure: defaultFailureCodes, skip: isHealthCheck}
}

// invalid returns an error wrapping circuit.ErrInvalidOption that names the
// option and the value, in the core's words:
// "circuit: invalid option circuitgrpc.WithKey: nil func".
func invalid(option, format string, args ...any) error {
	return fmt.Errorf("%w circuitgrpc.%s: %s", circuit.ErrInvalidOption, option, fmt.Sprintf(format, args...))
}

// codeSet is a set of gRPC codes, one bit per code. A bit test keeps the
// verdict on a failed call free of map lookups and allocations.
type codeSet uint32

// maxCode is the highest code gRPC defines (Unauthenticated, 16).
const maxCode = codes.Unauthenticated

func (s codeSet) has(c codes.Code) bool { return c <= maxCode && s&(1<<c) != 0 }

func (s codeSet) with(c codes.Code) codeSet { return s | 1<<c }

// defaultFailureCodes are the codes that say the server or the path to it is
// unwell. The others (NotFound, InvalidArgument, PermissionDenied and so on)
// are answers about the request: a healthy server gives them.
var defaultFailureCodes = codeSet(0).
	with(codes.Unavailable).
	with(codes.DeadlineExceeded).
	with(codes.ResourceExhausted).
	with(codes.Internal).
	with(codes.Unknown).
	with(codes.DataLoss)

// byTarget keys breakers by the target the ClientConn was made for, so that
// one failing server never opens the breaker of another.
func byTarget(_ context.Context, _ string, cc *grpc.ClientConn) string { return cc.Target() }

// ByMethod keys breakers by the full method name, such as
// "/pkg.Service/Method", for use with WithKey. One method failing, say
// because its storage is down, then never rejects calls to the others. The
// breakers are shared by every ClientConn that uses the same Interceptors;
// to key by target and method, write a key func that joins cc.Target() and
// method.
func ByMethod(_ context.Context, method string, _ *grpc.ClientConn) string { return method }

// healthPrefix starts the methods of the standard health service.
const healthPrefix = "/grpc.health.v1.Health/"

// isHealthCheck is the default skip: health checks must reach the server
// while its breaker is open, or a load balancer or a readiness probe would
// never see it recover.
func isHealthCheck(method string) bool { return strings.HasPrefix(method, healthPrefix) }

// WithBreakerOptions gives opts to every breaker of the Interceptors. Options
// given in several WithBreakerOptions are applied in order, as if they were
// given in one. New validates them and returns their error.
//
// The breakers see only the errors of failures (see WithFailureCodes): a call
// that ends with any other code reaches them as a success, so
// circuit.WithIsFailure and circuit.WithExclude are asked only about those.
func WithBreakerOptions(opts ...circuit.Option) Option {
	return func(s *settings) { s.breaker = append(s.breaker, opts...) }
}

// WithKey replaces the default key, cc.Target(): calls for which fn returns
// the same key share a breaker, named after the key. fn is called for every
// call that is not skipped, so it must be cheap and safe for concurrent use.
// ByMethod is a ready-made key per method.
func WithKey(fn func(ctx context.Context, method string, cc *grpc.ClientConn) string) Option {
	return func(s *settings) {
		if fn == nil {
			s.errs = append(s.errs, invalid("WithKey", "nil func"))
			return
		}
		s.key = fn
	}
}

// WithFailureCodes replaces the whole default set of failure codes
// (Unavailable, DeadlineExceeded, ResourceExhausted, Internal, Unknown and
// DataLoss) with cs. A call that ends with one of cs counts as a failure;
// any other code counts as a success. A call whose caller canceled its
// context is ignored even if codes.Canceled is in cs, and one that ran past
// the caller's deadline is a failure even if codes.DeadlineExceeded is not.
// cs must not be empty, nor hold codes.OK or a code gRPC does not define.
func WithFailureCodes(cs ...codes.Code) Option {
	return func(s *settings) {
		if len(cs) == 0 {
			s.errs = append(s.errs, invalid("WithFailureCodes", "no codes"))
			return
		}
		var set codeSet
		for _, c := range cs {
			if c == codes.OK || c > maxCode {
				s.errs = append(s.errs, invalid("WithFailureCodes", "code %v cannot be a failure", c))
				return
			}
			set = set.with(c)
		}
		s.failure = set
	}
}

// WithSkip replaces the default skip, which lets the methods of the standard
// health service (/grpc.health.v1.Health/) pass. A call to a method for which
// fn returns true goes straight to the server, even while a breaker is open,
// and is not counted. fn is called for every call, so it must be cheap and
// safe for concurrent use. To skip nothing, give a func that returns false.
func WithSkip(fn func(method string) bool) Option {
	return func(s *settings) {
		if fn == nil {
			s.errs = append(s.errs, invalid("WithSkip", "nil func"))
			return
		}
		s.skip = fn
	}
}
