package circuithttp

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		value string
		want  time.Duration
		ok    bool
	}{
		{"delay-seconds", "120", 120 * time.Second, true},
		{"delay-seconds with spaces around", " 7 ", 7 * time.Second, true},
		{"zero seconds asks for no wait", "0", 0, false},
		{"negative seconds are malformed", "-5", 0, false},
		{"fractional seconds are malformed", "1.5", 0, false},
		{"words are malformed", "soon", 0, false},
		{"empty is absent", "", 0, false},
		{"IMF-fixdate in the future", "Sun, 01 Mar 2026 12:02:00 GMT", 2 * time.Minute, true},
		{"RFC 850 date in the future", "Sunday, 01-Mar-26 12:00:30 GMT", 30 * time.Second, true},
		{"asctime date in the future", "Sun Mar  1 12:00:05 2026", 5 * time.Second, true},
		{"date now asks for no wait", "Sun, 01 Mar 2026 12:00:00 GMT", 0, false},
		{"date in the past asks for no wait", "Sat, 28 Feb 2026 12:00:00 GMT", 0, false},
		{"seconds beyond a century are capped", "99999999999", maxHint, true},
		{"seconds beyond int64 are capped", "999999999999999999999999", maxHint, true},
		{"a date centuries ahead is capped", "Fri, 31 Dec 9999 23:59:59 GMT", maxHint, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := parseRetryAfter(tc.value, now)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, d)
		})
	}
}

func TestStatusErrorText(t *testing.T) {
	assert.Equal(t, "circuithttp: response status 503 Service Unavailable (Retry-After 2m0s)",
		(&statusError{code: 503, retryAfter: 2 * time.Minute}).Error())
	assert.Equal(t, "circuithttp: response status 500 Internal Server Error", (&statusError{code: 500}).Error())
	assert.Equal(t, "circuithttp: response status 599", (&statusError{code: 599}).Error())
}

func TestNilBaseIsDefaultTransport(t *testing.T) {
	tr, err := NewTransport(nil)
	require.NoError(t, err)
	assert.Same(t, http.DefaultTransport, tr.base)
}
