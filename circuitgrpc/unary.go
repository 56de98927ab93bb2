package circuitgrpc

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Unary returns the unary client interceptor, for grpc.WithUnaryInterceptor
// or grpc.WithChainUnaryInterceptor.
//
// It sends each call that is not skipped through its key's breaker, with the
// caller's context, and counts the call as the package doc describes. The
// caller gets the server's error unchanged, whatever its code; a call the
// breaker rejects is not sent, and gets a codes.Unavailable status error
// that wraps the breaker's rejection.
//
// Interceptors chained after this one, and gRPC's own retries, run inside
// the breaker: one call through this interceptor counts once, however many
// attempts it took.
func (i *Interceptors) Unary() grpc.UnaryClientInterceptor { return i.unary }

func (i *Interceptors) unary(ctx context.Context, method string, req, reply any,
	cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if i.skip(method) {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	var (
		sent    bool
		callErr error
		trailer metadata.MD
	)
	// The trailer is asked for with an option of our own, appended to a copy
	// of opts so that a caller's own grpc.Trailer, and the slice it gave, are
	// left alone: gRPC fills every Trailer option of a call.
	opts = append(opts[:len(opts):len(opts)], grpc.Trailer(&trailer))
	// Execute runs the call with the caller's context, or the one
	// circuit.WithCallTimeout derives from it, so that the breaker judges the
	// caller's cancellation and deadline itself (ignored, failure). The
	// closure tells the breaker only the verdict and keeps the server's error
	// for the caller.
	_, err := i.breaker(ctx, method, cc).Execute(ctx, func(ctx context.Context) (struct{}, error) {
		sent = true
		callErr = invoker(ctx, method, req, reply, cc, opts...)
		return struct{}{}, i.verdict(ctx, callErr, trailer)
	})
	if !sent {
		return &rejectedError{method: method, err: err}
	}
	return callErr
}
