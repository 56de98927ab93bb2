package circuitprom_test

import (
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

// exported are the metric names circuitprom exports, with the series names
// Prometheus derives from the histogram.
var exported = append(slices.Clone(snapshotNames),
	"circuit_breaker_call_duration_seconds_bucket",
	"circuit_breaker_call_duration_seconds_sum",
	"circuit_breaker_call_duration_seconds_count",
)

var (
	stringLit = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	matchers  = regexp.MustCompile(`\{[^}]*\}`)
	ranges    = regexp.MustCompile(`\[[^\]]*\]`)
	grouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	ident     = regexp.MustCompile(`\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(\s*\()?`)
	keywords  = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
		"group_left", "group_right", "inf", "nan", "Inf", "NaN"}
)

// metricNames returns the metric names a PromQL expression reads: the
// identifiers left once strings, label matchers, ranges and grouping
// labels are taken out, that are neither functions (followed by a
// parenthesis) nor keywords.
func metricNames(expr string) []string {
	e := stringLit.ReplaceAllString(expr, `""`)
	e = matchers.ReplaceAllString(e, "")
	e = ranges.ReplaceAllString(e, "")
	e = grouping.ReplaceAllString(e, "")
	var names []string
	for _, m := range ident.FindAllStringSubmatch(e, -1) {
		if m[1] != "" || slices.Contains(keywords, m[0]) {
			continue
		}
		names = append(names, m[0])
	}
	return names
}

func TestMetricNames(t *testing.T) {
	cases := []struct {
		expr string
		want []string
	}{
		{`circuit_breaker_state{state=~"open|forced_open"} == 1`, []string{"circuit_breaker_state"}},
		{`increase(circuit_breaker_trips_total[15m]) >= 4`, []string{"circuit_breaker_trips_total"}},
		{`sum by (name, le) (rate(x_bucket{a="b"}[$__rate_interval]))`, []string{"x_bucket"}},
		{`sum without (state) (a) + 2 * sum(b) by (name) / on (name) group_left (job) c offset 5m`, []string{"a", "b", "c"}},
		{`count(up == 1) or vector(0)`, []string{"up"}},
		{`histogram_quantile(0.99, rate(h[1m]))`, []string{"h"}},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, metricNames(tc.expr), tc.expr)
	}
}

// assertExportedOnly checks that expr reads at least one metric and only
// metrics circuitprom exports.
func assertExportedOnly(t *testing.T, where, expr string) {
	t.Helper()
	names := metricNames(expr)
	assert.NotEmpty(t, names, "%s: %s reads no metric", where, expr)
	for _, n := range names {
		assert.Contains(t, exported, n, "%s: %s reads a metric circuitprom does not export", where, expr)
	}
}
