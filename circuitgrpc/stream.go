package circuitgrpc

import (
	"context"
	"errors"
	"io"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Stream returns the stream client interceptor, for
// grpc.WithStreamInterceptor or grpc.WithChainStreamInterceptor.
//
// A stream counts once in its key's breaker, when it ends: it is a failure
// if it cannot be opened, or if RecvMsg, SendMsg, CloseSend or Header
// returns an error with a failure code; it is a success when RecvMsg returns
// io.EOF, or the one response of a stream without server streaming arrives.
// A stream whose caller cancels its context is ignored, even if the caller
// never reads it again. A stream that the breaker rejects is not opened: the
// caller gets a nil stream and a codes.Unavailable status error that wraps
// the breaker's rejection.
//
// An admitted stream holds its breaker's permit until it ends, so read it
// until RecvMsg returns an error, or cancel its context, as gRPC asks anyway:
// a stream left open with a context that never ends holds a half-open trial
// or a bulkhead slot for ever.
func (i *Interceptors) Stream() grpc.StreamClientInterceptor { return i.stream }

// errStreamerPanicked is the failure counted for a stream whose opening
// panicked.
var errStreamerPanicked = errors.New("circuitgrpc: streamer panicked")

func (i *Interceptors) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn,
	method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if i.skip(method) {
		return streamer(ctx, desc, cc, method, opts...)
	}
	done, err := i.breaker(ctx, method, cc).Allow(ctx)
	if err != nil {
		return nil, &rejectedError{method: method, err: err}
	}
	// A done never called would hold a half-open trial for ever, so a panic
	// in streamer counts, as a failure, before it goes on.
	opened := false
	defer func() {
		if !opened {
			done(errStreamerPanicked)
		}
	}()
	cs, err := streamer(ctx, desc, cc, method, opts...)
	opened = true
	if err != nil {
		done(i.verdict(ctx, err, nil))
		return nil, err
	}
	s := &clientStream{ClientStream: cs, i: i, ctx: ctx, done: done, serverStreams: desc.ServerStreams,
		counted: make(chan struct{})}
	if ctx.Done() != nil {
		// gRPC ends a stream whose context ends, but tells no one who has
		// stopped reading it. Without this watch such a stream would never
		// be counted, and its permit never given back.
		s.stop = context.AfterFunc(ctx, s.abandoned)
	}
	return s, nil
}

// clientStream counts the outcome of one stream, once, when the caller
// learns that it ended.
type clientStream struct {
	grpc.ClientStream
	i             *Interceptors
	ctx           context.Context // the caller's, which the breaker judges
	done          func(error)     // the breaker's, from Allow
	serverStreams bool
	// stop deregisters abandoned; nil when ctx can never end. Set before the
	// caller gets the stream, so the caller's methods read it safely; the
	// callback itself never reads it.
	stop func() bool
	// counting is set by the first of end and abandoned, which alone counts:
	// SendMsg and RecvMsg may run on two goroutines, and the context's
	// callback on a third. It closes counted once the breaker has counted
	// the stream (its transitions delivered), and the caller's method that
	// learned the end waits for that, as a unary call's caller would.
	counting atomic.Bool
	counted  chan struct{}
}

// RecvMsg receives a message; io.EOF or an error ends the stream. On a
// stream without server streaming, the one response ends it too: gRPC has
// then already read the status, and it was OK.
func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	switch {
	case err == io.EOF:
		s.end(nil, false)
	case err != nil:
		s.end(err, true)
	case !s.serverStreams:
		s.end(nil, false)
	}
	return err
}

// SendMsg sends a message. Its io.EOF says only that the stream has ended:
// how, RecvMsg tells. Any other error has ended the stream.
func (s *clientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err != nil && err != io.EOF {
		s.end(err, false)
	}
	return err
}

// CloseSend closes the sending side. gRPC's own streams never fail here, but
// a stream from another interceptor may, and then it has ended.
func (s *clientStream) CloseSend() error {
	err := s.ClientStream.CloseSend()
	if err != nil {
		s.end(err, false)
	}
	return err
}

// Header returns the server's header. An error ends the stream.
func (s *clientStream) Header() (metadata.MD, error) {
	md, err := s.ClientStream.Header()
	if err != nil {
		s.end(err, false)
	}
	return md, err
}

// end counts the stream's outcome, err, unless it was counted already.
// recv says that RecvMsg returned err, after which gRPC allows reading the
// trailer and its pushback.
func (s *clientStream) end(err error, recv bool) {
	if !s.counting.CompareAndSwap(false, true) {
		<-s.counted
		return
	}
	defer close(s.counted)
	if s.stop != nil {
		s.stop()
	}
	var trailer metadata.MD
	if recv && s.i.verdict(s.ctx, err, nil) != nil {
		trailer = s.ClientStream.Trailer()
	}
	s.done(s.i.verdict(s.ctx, err, trailer))
}

// abandoned counts a stream whose context ended before the caller learned
// how it ended. The breaker judges the context: a cancellation is ignored and
// gives a half-open trial back; a deadline is a failure.
func (s *clientStream) abandoned() {
	if s.counting.CompareAndSwap(false, true) {
		defer close(s.counted)
		s.done(s.ctx.Err())
	}
}
