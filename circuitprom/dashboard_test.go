package circuitprom_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dashboard is the part of a Grafana dashboard model the tests read.
type dashboard struct {
	Title       string `json:"title"`
	UID         string `json:"uid"`
	Annotations struct {
		List []struct {
			Name string `json:"name"`
			Expr string `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Definition string          `json:"definition"`
			Query      json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int    `json:"id"`
		Title      string `json:"title"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile("dashboard.json")
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(raw, &d))
	return d
}

// labelValues matches a Grafana label_values(selector, label) query.
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)

// dashboardExprs returns every PromQL expression of the dashboard, by where
// it is: panel targets, annotations, and template variables' selectors.
func dashboardExprs(t *testing.T, d dashboard) map[string]string {
	t.Helper()
	exprs := map[string]string{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs[fmt.Sprintf("panel %q target %s", p.Title, tg.RefID)] = tg.Expr
		}
	}
	for _, a := range d.Annotations.List {
		if a.Expr != "" {
			exprs[fmt.Sprintf("annotation %q", a.Name)] = a.Expr
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct{ Query string }
		require.NoError(t, json.Unmarshal(v.Query, &q), "variable %s", v.Name)
		for _, s := range []string{v.Definition, q.Query} {
			m := labelValues.FindStringSubmatch(s)
			require.NotNil(t, m, "variable %s: %q is not label_values(selector, label)", v.Name, s)
			exprs[fmt.Sprintf("variable %s", v.Name)] = m[1]
		}
	}
	return exprs
}

// Every query of the dashboard reads only metrics circuitprom exports.
func TestDashboardQueriesReadOnlyExportedMetrics(t *testing.T) {
	d := loadDashboard(t)
	exprs := dashboardExprs(t, d)
	require.NotEmpty(t, exprs)
	for where, expr := range exprs {
		assertExportedOnly(t, where, expr)
	}
}

// Every figure circuitprom exports has a panel.
func TestDashboardShowsEveryFigure(t *testing.T) {
	var all strings.Builder
	for _, expr := range dashboardExprs(t, loadDashboard(t)) {
		all.WriteString(strings.Join(metricNames(expr), " ") + " ")
	}
	for _, name := range append(snapshotNames, "circuit_breaker_call_duration_seconds") {
		assert.Contains(t, all.String(), name)
	}
}

func TestDashboardModel(t *testing.T) {
	d := loadDashboard(t)
	assert.NotEmpty(t, d.Title)
	assert.NotEmpty(t, d.UID)
	ids := map[int]bool{}
	for _, p := range d.Panels {
		assert.False(t, ids[p.ID], "panel id %d twice", p.ID)
		ids[p.ID] = true
		assert.Equal(t, "${datasource}", p.Datasource.UID, "panel %q reads the chosen data source", p.Title)
		assert.NotEmpty(t, p.Targets, "panel %q", p.Title)
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	assert.Equal(t, []string{"datasource", "job", "name"}, vars)
}
