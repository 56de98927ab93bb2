package chaos

import "net/http"

// RoundTripper returns an http.RoundTripper that sends requests through base
// and gives them in's faults. A nil base means http.DefaultTransport.
//
// An Error fault returns its error with a nil response; a Hang fault, and a
// Latency fault whose request's context ends during the delay, return the
// context's error. An HTTPStatus fault returns a response of its status with
// an empty body and a nil error, as a server that answered so would. In each
// case nothing is sent to the server, and the request body is closed, as the
// http.RoundTripper contract requires. A Latency fault whose delay runs out
// sends the request late. While in is disabled every request goes to base
// untouched.
//
// The RoundTripper has a CloseIdleConnections method that calls base's, so
// that http.Client.CloseIdleConnections reaches through it. RoundTripper
// panics if in is nil.
func (in *Injector) RoundTripper(base http.RoundTripper) http.RoundTripper {
	in.mustExist("RoundTripper")
	if base == nil {
		base = http.DefaultTransport
	}
	return &roundTripper{in: in, base: base}
}

// roundTripper is what Injector.RoundTripper returns.
type roundTripper struct {
	in   *Injector
	base http.RoundTripper
}

// RoundTrip gives req the fault that fires on it, if any, and otherwise sends
// it through base.
func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if !rt.in.enabled.Load() {
		return rt.base.RoundTrip(req)
	}
	f := rt.in.draw(true)
	switch {
	case f == nil:
		return rt.base.RoundTrip(req)
	case f.kind == kindStatus:
		closeBody(req)
		return f.response(req), nil
	}
	if err := f.apply(req.Context()); err != nil {
		closeBody(req)
		return nil, err
	}
	return rt.base.RoundTrip(req)
}

// CloseIdleConnections closes the idle connections of base, if it has a
// CloseIdleConnections method.
func (rt *roundTripper) CloseIdleConnections() {
	if c, ok := rt.base.(interface{ CloseIdleConnections() }); ok {
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
