package circuitprom_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// rules is the part of a Prometheus rule file the tests read.
type rules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestAlertRules(t *testing.T) {
	raw, err := os.ReadFile("alerts.yml")
	require.NoError(t, err)
	var rs rules
	require.NoError(t, yaml.Unmarshal(raw, &rs))
	found := map[string]string{}
	for _, g := range rs.Groups {
		for _, r := range g.Rules {
			found[r.Alert] = r.For
			assertExportedOnly(t, r.Alert, r.Expr)
			assert.Contains(t, r.Annotations["summary"], "{{ $labels.name }}", r.Alert)
			assert.Contains(t, r.Annotations["description"], "{{ $labels.name }}", r.Alert)
			assert.NotEmpty(t, r.Labels["severity"], r.Alert)
		}
	}
	require.Contains(t, found, "CircuitBreakerOpen")
	assert.Equal(t, "1m", found["CircuitBreakerOpen"])
	assert.Contains(t, found, "CircuitBreakerFlapping")
}

// promtool, from Prometheus, checks the rules as Prometheus loads them.
func TestPromtoolCheckRules(t *testing.T) {
	out, err := exec.Command(binary(t, "promtool"), "check", "rules", "alerts.yml").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "SUCCESS: 2 rules found")
}

// testdata/alerts_test.yml: CircuitBreakerOpen fires for an open or forced
// open breaker after a minute and not for a closed one, nor one that closed
// within the minute; CircuitBreakerFlapping fires for 4 trips in 15m and not
// for 3.
func TestPromtoolTestRules(t *testing.T) {
	out, err := exec.Command(binary(t, "promtool"), "test", "rules", "testdata/alerts_test.yml").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "SUCCESS")
}
