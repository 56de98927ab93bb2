package circuitgrpc

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/seed33933975/circuit"
)

// rejectedError is what a caller gets for a call its breaker turned away:
// nothing was sent. It is a gRPC status error, so that status.Code and a
// server handler that returns it see codes.Unavailable, and it unwraps to the
// breaker's rejection, so that errors.Is finds circuit.ErrOpen (or
// ErrTooManyRequests, ErrBulkheadFull) and circuit.RetryAfter reads the wait.
type rejectedError struct {
	method string
	err    error // the breaker's rejection; it names the breaker
}

func (e *rejectedError) Error() string {
	return "circuitgrpc: " + e.method + " not sent: " + e.err.Error()
}

func (e *rejectedError) Unwrap() error { return e.err }

// GRPCStatus returns the rejection's status. While the breaker is open it
// carries a google.rpc.RetryInfo detail with the time left, so that a client
// further up, reached through a server that returns this error, learns the
// wait as well.
func (e *rejectedError) GRPCStatus() *status.Status {
	st := status.New(e.code(), e.Error())
	if d, ok := circuit.RetryAfter(e.err); ok {
		if withInfo, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)}); err == nil {
			return withInfo
		}
	}
	return st
}

// code is Unavailable, which tells gRPC clients and proxies that the call may
// be tried again later and was not processed. The one exception is a caller
// whose own context ended while it waited for a bulkhead slot: that is its
// cancellation or deadline, and gRPC reports those with their own codes.
func (e *rejectedError) code() codes.Code {
	switch {
	case errors.Is(e.err, context.Canceled):
		return codes.Canceled
	case errors.Is(e.err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	}
	return codes.Unavailable
}

// pushbackError is what a breaker counts for a failure whose trailer asked
// the client to wait before it tries again. Its RetryAfter method is the
// core's hook: if this failure trips the breaker, the breaker stays open at
// least that long. The caller never sees it: it gets the server's status.
type pushbackError struct {
	err  error // the call's status error
	wait time.Duration
}

func (e *pushbackError) Error() string {
	return e.err.Error() + " (" + pushbackKey + " " + e.wait.String() + ")"
}

func (e *pushbackError) Unwrap() error { return e.err }

// RetryAfter returns the wait the server asked for.
func (e *pushbackError) RetryAfter() time.Duration { return e.wait }

// GRPCStatus keeps the server's status visible through the wrapper, for
// circuit.WithIsFailure and circuit.WithExclude predicates that call
// status.Code.
func (e *pushbackError) GRPCStatus() *status.Status { return status.Convert(e.err) }

// pushbackKey is the trailer in which a gRPC server asks clients to hold off
// (gRFC A6, client retries), in milliseconds.
const pushbackKey = "grpc-retry-pushback-ms"

// maxPushback bounds a pushback. The breaker adds it to its clock reading; a
// century is longer than any server means, and keeps the sum far from
// overflow.
const maxPushback = 100 * 365 * 24 * time.Hour

// pushback reads the wait a trailer asks for. A missing, malformed, zero or
// negative value (gRFC A6 uses a negative one to say "do not retry", which
// gives a breaker no time) asks for none.
func pushback(md metadata.MD) (time.Duration, bool) {
	v := md.Get(pushbackKey)
	if len(v) == 0 {
		return 0, false
	}
	ms, err := strconv.ParseUint(strings.TrimSpace(v[0]), 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange) || ms > uint64(maxPushback/time.Millisecond):
		return maxPushback, true // all digits, just too many of them
	case err != nil || ms == 0:
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}

// verdict returns what a call's breaker is told about a call that ended with
// err: nil, a success, unless err's code is a failure code or the call ran
// past ctx's deadline. The caller's cancellation needs no case here: the
// breaker judges it from the caller's context before it looks at the error.
func (i *Interceptors) verdict(ctx context.Context, err error, trailer metadata.MD) error {
	if err == nil {
		return nil
	}
	if code := status.Code(err); !i.failure.has(code) && !(code == codes.DeadlineExceeded && pastDeadline(ctx)) {
		return nil
	}
	if d, ok := pushback(trailer); ok {
		return &pushbackError{err: err, wait: d}
	}
	return err
}

// pastDeadline reports whether ctx's deadline has passed. The breaker finds
// a call that ran past it from ctx.Err, but a DeadlineExceeded can reach the
// client before its own timer has marked ctx done: the server enforces the
// deadline the client sent it, and its timer may fire first.
func pastDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}
