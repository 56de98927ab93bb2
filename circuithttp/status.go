package circuithttp

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// statusError is what a breaker counts for a response whose status is a
// failure. The caller gets the response and never sees this error. Its
// RetryAfter method is the core's hook (see circuit's retryHint): if this
// failure trips the breaker, the breaker stays open at least that long.
type statusError struct {
	code       int
	retryAfter time.Duration // 0: no usable Retry-After
}

func (e *statusError) Error() string {
	s := "circuithttp: response status " + strconv.Itoa(e.code)
	if text := http.StatusText(e.code); text != "" {
		s += " " + text
	}
	if e.retryAfter > 0 {
		s += " (Retry-After " + e.retryAfter.String() + ")"
	}
	return s
}

// RetryAfter returns how long the server asked callers to wait, or zero.
func (e *statusError) RetryAfter() time.Duration { return e.retryAfter }

// statusError returns the failure to count for resp. Only a 429 or 503
// carries a Retry-After hint: that is what RFC 9110 gives the header for.
func (t *Transport) statusError(resp *http.Response) error {
	e := &statusError{code: resp.StatusCode}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			if t.maxRetryAfter > 0 && d > t.maxRetryAfter {
				d = t.maxRetryAfter
			}
			e.retryAfter = d
		}
	}
	return e
}

// maxHint bounds a Retry-After hint. A breaker adds the hint to its clock
// reading, so an unbounded one (such as "Retry-After: 99999999999") could
// overflow. A century is a longer wait than any real server asks for.
const maxHint = 100 * 365 * 24 * time.Hour

// parseRetryAfter parses a Retry-After value, either delay-seconds or an HTTP
// date, into the wait it asks for from now. It reports false for a missing,
// malformed, zero or past value.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if isDigits(v) {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > int64(maxHint/time.Second) {
			return maxHint, true // only overflow fails: all digits
		}
		if secs == 0 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := at.Sub(now)
	if d <= 0 {
		return 0, false
	}
	return min(d, maxHint), true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
