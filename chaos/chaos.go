// Package chaos injects faults (errors, latency, hangs and HTTP error
// statuses) into calls, so that tests can watch what a program does when its
// dependencies fail: a breaker opening, a fallback serving, a retry giving up.
//
// An Injector holds the faults and their rates. Wrap puts it in front of a
// function of the shape circuit.Breaker.Execute takes, and
// Injector.RoundTripper in front of an http.RoundTripper:
//
//	in, err := chaos.New(1, chaos.Error(0.3, errors.New("connection refused")))
//	...
//	fetch := chaos.Wrap(in, fetchPrice) // 3 calls in 10 fail without running
//	client := &http.Client{Transport: in.RoundTripper(nil)}
//
// Faults are drawn from the Injector's seed, not from a global source, so a
// test that runs its calls on one goroutine sees the same faults on every run.
//
// The package is meant for tests and for staging. It can run in production,
// for game days, but with care: keep the rates low, keep a way to Disable the
// Injector at once (a disabled Injector costs one atomic load per call), and
// remember that a Hang fault holds a call until its context ends, which with
// no deadline is for ever.
package chaos

import (
	"errors"
	"sync/atomic"
)

// An Injector gives faults to the calls that go through it: each call draws
// once for each fault, in the order the faults were given to New, and the
// first that fires applies. A call that no fault fires on runs untouched.
//
// Calls go through an Injector by Wrap, for functions, or by its
// RoundTripper, for HTTP requests. Enable and Disable switch it on and off,
// and Injected counts the faults it has applied.
//
// An Injector is safe for concurrent use. On one goroutine its faults follow
// from its seed alone; on several they still come at the given rates, but
// which call gets which fault depends on the order the calls arrive in. The
// zero Injector is disabled and has no faults; make one with New.
type Injector struct {
	// enabled is read by every call and written only by Enable and Disable.
	// It sits apart from the counters, which enabled calls write, so that the
	// disabled path reads a cache line nobody else writes.
	enabled atomic.Bool
	_       [56]byte

	// calls numbers the enabled calls. A call's Add gives it a number of its
	// own, so its draws need no lock and concurrent calls never share one.
	calls atomic.Uint64
	// injected counts applied faults; only a total is needed, so it is
	// updated with no ordering beyond the Add's own atomicity.
	injected atomic.Uint64

	key    uint64  // the seed, mixed; read-only after New
	faults []Fault // read-only after New
}

// New returns an enabled Injector that gives faults to calls at their rates,
// drawing from seed. The same seed and faults give the same draws.
//
// A fault made from a bad value (a rate outside [0, 1] or NaN, a nil error,
// a negative delay, a status code outside [100, 599]) or the zero Fault makes
// New return an error wrapping circuit.ErrInvalidOption that names the value,
// such as "circuit: invalid option chaos.Error: rate 1.5 outside [0, 1]".
// New without faults returns an Injector that never injects anything.
func New(seed uint64, faults ...Fault) (*Injector, error) {
	var errs []error
	for i := range faults {
		if err := faults[i].check(i); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	in := &Injector{key: mix(seed), faults: append([]Fault(nil), faults...)}
	in.enabled.Store(true)
	return in, nil
}

// Enable makes the Injector give faults again, from the next call on. Calls
// already in progress are not affected. A new Injector is enabled.
func (in *Injector) Enable() {
	in.mustExist("Enable")
	in.enabled.Store(true)
}

// Disable makes the Injector pass every call through untouched, from the next
// call on, until Enable. A disabled Injector draws nothing, so the calls it
// passes do not advance the sequence of faults. Calls already delayed or
// hanging are not released.
func (in *Injector) Disable() {
	in.mustExist("Disable")
	in.enabled.Store(false)
}

// Injected returns the number of faults the Injector has applied so far, of
// every kind: errors returned, calls delayed (even when the delay was cut
// short), calls hung and responses made up.
func (in *Injector) Injected() uint64 {
	in.mustExist("Injected")
	return in.injected.Load()
}

// draw numbers a call and returns the fault that fires on it, or nil. forHTTP
// says whether the caller can apply HTTPStatus faults; when it cannot, they
// are passed over as if they had not been given. A fault returned is counted
// as applied.
func (in *Injector) draw(forHTTP bool) *Fault {
	n := in.calls.Add(1) - 1
	// Draw j of the whole sequence is the j-th output of a splitmix64
	// generator seeded with key, and call n makes draws n*len(faults) on.
	// Computing an output from its index alone is what makes this lock-free.
	j := n * uint64(len(in.faults))
	for i := range in.faults {
		f := &in.faults[i]
		if f.kind == kindStatus && !forHTTP {
			continue
		}
		if f.fires(mix(in.key + (j+uint64(i)+1)*golden)) {
			in.injected.Add(1)
			return f
		}
	}
	return nil
}

// golden is splitmix64's increment, 2^64 divided by the golden ratio.
const golden = 0x9e3779b97f4a7c15

// mix is splitmix64's output function: a bijection of the 64-bit values that
// sends consecutive inputs to unrelated outputs.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// mustExist panics when in is nil: a call through a nil Injector is a
// programming error, better found where it is made than at the first call.
func (in *Injector) mustExist(method string) {
	if in == nil {
		panic("circuit: chaos." + method + " on a nil *Injector")
	}
}
