package chaos

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/seed33933975/circuit"
)

// kind is what a Fault does to the call it fires on. The zero kind marks the
// zero Fault, which New rejects.
type kind uint8

const (
	kindError kind = iota + 1
	kindLatency
	kindHang
	kindStatus
)

// A Fault is one kind of failure and the rate at which an Injector gives it
// to calls. Make one with Error, Latency, Hang or HTTPStatus; the zero Fault
// is invalid. A Fault made from bad arguments carries the problem, and New
// reports it.
type Fault struct {
	kind      kind
	threshold uint64        // fires when a 53-bit draw is below it: rate * 2^53
	err       error         // kindError: what the call returns
	delay     time.Duration // kindLatency
	code      int           // kindStatus
	bad       error         // why the arguments are invalid, or nil
}

// Error returns a Fault that makes a call return err instead of running. Its
// rate, the fraction of calls it fires on, must be in [0, 1], and err must
// not be nil. Through a RoundTripper the request is not sent and err comes
// back as the transport error (an http.Client wraps it in a *url.Error).
func Error(rate float64, err error) Fault {
	f := newFault(kindError, "chaos.Error", rate)
	f.err = err
	if err == nil {
		f.bad = errors.Join(f.bad, invalid("chaos.Error", "err is nil"))
	}
	return f
}

// Latency returns a Fault that runs a call d later. If the call's context
// ends during the delay, the call does not run and returns the context's
// error. A zero d runs the call at once, but the fault still counts in
// Injected. Its rate must be in [0, 1], and d must not be negative.
func Latency(rate float64, d time.Duration) Fault {
	f := newFault(kindLatency, "chaos.Latency", rate)
	f.delay = d
	if d < 0 {
		f.bad = errors.Join(f.bad, invalid("chaos.Latency", "delay %v is negative", d))
	}
	return f
}

// Hang returns a Fault that blocks a call until its context ends, without
// running it, and then returns the context's error. A call whose context
// never ends (context.Background, or a request without a deadline) never
// returns, as with a dependency that accepts a connection and never answers.
// Its rate must be in [0, 1].
func Hang(rate float64) Fault {
	return newFault(kindHang, "chaos.Hang", rate)
}

// HTTPStatus returns a Fault that answers a request with a response of status
// code and an empty body, without sending the request. Only an Injector's
// RoundTripper applies it; Wrap ignores it. Its rate must be in [0, 1], and
// code in [100, 599].
func HTTPStatus(rate float64, code int) Fault {
	f := newFault(kindStatus, "chaos.HTTPStatus", rate)
	f.code = code
	if code < 100 || code > 599 {
		f.bad = errors.Join(f.bad, invalid("chaos.HTTPStatus", "code %d outside [100, 599]", code))
	}
	return f
}

// newFault checks the rate, which every kind of Fault has.
func newFault(k kind, name string, rate float64) Fault {
	f := Fault{kind: k}
	// The negated test also catches NaN, for which every comparison is false.
	if !(rate >= 0 && rate <= 1) {
		f.bad = invalid(name, "rate %v outside [0, 1]", rate)
		return f
	}
	// 2^53 * rate is exact for rate 1 and never above 2^53, so a rate-1
	// fault fires on every draw (which is below 2^53) and a rate-0 on none.
	f.threshold = uint64(rate * (1 << 53))
	return f
}

// invalid returns an error wrapping circuit.ErrInvalidOption that names the
// constructor and the value, as the core's errors do. For example:
// "circuit: invalid option chaos.Error: rate 1.5 outside [0, 1]".
func invalid(name, format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", circuit.ErrInvalidOption, name, fmt.Sprintf(format, args...))
}

// check returns why f cannot be given to New, or nil. i is f's position in
// New's arguments.
func (f *Fault) check(i int) error {
	if f.kind == 0 {
		return invalid("chaos.New", "faults[%d] is the zero Fault", i)
	}
	return f.bad
}

// fires reports whether draw, a uniform 64-bit value, gives f to the call.
func (f *Fault) fires(draw uint64) bool { return draw>>11 < f.threshold }

// response returns the made-up response of an HTTPStatus fault to req: what
// a server that answered with that status and no body would have sent.
func (f *Fault) response(req *http.Request) *http.Response {
	status := strconv.Itoa(f.code)
	if text := http.StatusText(f.code); text != "" {
		status += " " + text
	}
	return &http.Response{
		Status:        status,
		StatusCode:    f.code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        make(http.Header),
		Body:          http.NoBody,
		ContentLength: 0,
		Request:       req,
	}
}
