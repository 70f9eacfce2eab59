package deploycheck

import (
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/perfgen/perfgen/generator"
)

const (
	rulesPath          = "deploy/prometheus/rules.yaml"
	prometheusRulePath = "deploy/k8s/monitoring/prometheusrule.yaml"
)

func dashboardPath(p project) string { return "deploy/grafana/" + p.spec.Name + ".json" }

// monitored reports whether p deploys next to a Prometheus, and so has
// alert rules and a dashboard.
func monitored(p project) bool {
	return p.spec.HasDeploy(generator.DeployCompose) || p.spec.HasDeploy(generator.DeployK8s)
}

// promql is the parser Prometheus itself uses, with its default options.
var promql = parser.NewParser(parser.Options{})

// parseRules parses a rules file as Prometheus loads it: unknown fields are
// errors, and every expression and template is validated.
func parseRules(t *testing.T, src []byte) *rulefmt.RuleGroups {
	t.Helper()
	groups, errs := rulefmt.Parse(src, false, model.UTF8Validation, promql, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.Empty(t, errs, "rules.yaml")
	return groups
}

func TestMonitoringFollowsOptions(t *testing.T) {
	for _, p := range matrix(t) {
		assert.Equal(t, monitored(p), p.has(rulesPath), "%s: has %s", p, rulesPath)
		assert.Equal(t, monitored(p), p.has(dashboardPath(p)), "%s: has %s", p, dashboardPath(p))
		assert.Equal(t, p.spec.HasDeploy(generator.DeployK8s), p.has(prometheusRulePath), "%s: has %s", p, prometheusRulePath)
	}
}

func TestPrometheusRules(t *testing.T) {
	paths := func(p project) []string {
		if !monitored(p) {
			return nil
		}
		if p.spec.HasDeploy(generator.DeployK8s) {
			return []string{rulesPath, prometheusRulePath}
		}
		return []string{rulesPath}
	}
	distinct(t, matrix(t), paths, checkPrometheusRules)
}

// checkPrometheusRules parses rules.yaml as Prometheus does, checks that the
// alerts the project's components need are there, and that the
// PrometheusRule, decoded strictly into the Operator's type, carries the
// same groups.
func checkPrometheusRules(t *testing.T, p project) {
	groups := parseRules(t, p.file(t, rulesPath))
	var alerts []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				alerts = append(alerts, r.Alert)
				assert.Contains(t, []string{"page", "ticket"}, r.Labels["severity"], "alert %s", r.Alert)
				assert.NotEmpty(t, r.Annotations["summary"], "alert %s", r.Alert)
			}
		}
	}
	want := []string{"LatencyBudgetFastBurn", "LatencyBudgetSlowBurn", "ErrorBudgetFastBurn", "ErrorBudgetSlowBurn", "MemoryNearObjective", "CPUAboveObjective", "RequestsShed"}
	if p.spec.Cache {
		want = append(want, "CacheHitRatioCollapsed")
	}
	if p.spec.Store == generator.StorePostgres {
		want = append(want, "PostgresPoolExhausted")
		if p.spec.Cache {
			want = append(want, "CacheNotCoherent")
		}
	}
	assert.ElementsMatch(t, want, alerts)

	if !p.spec.HasDeploy(generator.DeployK8s) {
		return
	}
	var pr monitoringv1.PrometheusRule
	require.NoError(t, yaml.UnmarshalStrict(p.file(t, prometheusRulePath), &pr), prometheusRulePath)
	assert.Equal(t, "PrometheusRule", pr.Kind)
	assert.Equal(t, p.spec.Name, pr.Name)
	// Compare as generic documents: the Operator's types and rulefmt's
	// spell durations differently.
	var plain, operator struct {
		Groups any `json:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(p.file(t, rulesPath), &plain))
	spec, err := json.Marshal(pr.Spec)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(spec, &operator))
	assert.Equal(t, plain.Groups, operator.Groups, "the PrometheusRule's groups differ from rules.yaml's")
}

// grafanaDashboard is the part of Grafana's dashboard model the generated
// dashboard uses.
type grafanaDashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct {
		X, Y, W, H int
	} `json:"gridPos"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		RefID        string `json:"refId"`
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
	} `json:"targets"`
}

func parseDashboard(t *testing.T, src []byte) grafanaDashboard {
	t.Helper()
	var d grafanaDashboard
	dec := json.NewDecoder(strings.NewReader(string(src)))
	require.NoError(t, dec.Decode(&d), "dashboard JSON")
	require.False(t, dec.More(), "dashboard JSON has trailing data")
	return d
}

func TestGrafanaDashboard(t *testing.T) {
	paths := func(p project) []string {
		if !monitored(p) {
			return nil
		}
		return []string{dashboardPath(p)}
	}
	distinct(t, matrix(t), paths, checkDashboard)
}

// checkDashboard checks the dashboard's model: unique panel ids, panels on
// the 24-column grid without overlapping, every query on the datasource
// variable, and a row for each component the project has and no other.
func checkDashboard(t *testing.T, p project) {
	d := parseDashboard(t, p.file(t, dashboardPath(p)))
	assert.NotEmpty(t, d.UID)
	assert.LessOrEqual(t, len(d.UID), 40, "Grafana limits uids to 40 characters")
	assert.Positive(t, d.SchemaVersion)
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	assert.ElementsMatch(t, []string{"datasource", "job"}, vars)

	ids := map[int]bool{}
	type cell struct{ x, y int }
	used := map[cell]int{}
	var rows []string
	for _, panel := range d.Panels {
		assert.False(t, ids[panel.ID], "panel id %d repeats", panel.ID)
		ids[panel.ID] = true
		g := panel.GridPos
		assert.True(t, g.X >= 0 && g.W > 0 && g.X+g.W <= 24 && g.H > 0, "panel %q is off the grid: %+v", panel.Title, g)
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := used[cell{x, y}]; ok {
					t.Errorf("panel %d overlaps panel %d at %d,%d", panel.ID, other, x, y)
				}
				used[cell{x, y}] = panel.ID
			}
		}
		switch panel.Type {
		case "row":
			rows = append(rows, panel.Title)
			assert.Empty(t, panel.Targets)
		case "timeseries":
			require.NotNil(t, panel.Datasource, "panel %q has no datasource", panel.Title)
			assert.Equal(t, "${datasource}", panel.Datasource.UID)
			assert.NotEmpty(t, panel.FieldConfig.Defaults.Unit, "panel %q has no unit", panel.Title)
			require.NotEmpty(t, panel.Targets, "panel %q has no query", panel.Title)
			refs := map[string]bool{}
			for _, tg := range panel.Targets {
				assert.False(t, refs[tg.RefID], "panel %q repeats refId %s", panel.Title, tg.RefID)
				refs[tg.RefID] = true
				_, err := promql.ParseExpr(tg.Expr)
				assert.NoError(t, err, "panel %q: %s", panel.Title, tg.Expr)
			}
		default:
			t.Errorf("panel %q has type %q", panel.Title, panel.Type)
		}
	}
	want := []string{"SLO burn rate", "Runtime and memory", "Load shedding"}
	if p.spec.Transport != generator.TransportGRPC {
		want = append(want, "HTTP requests", "Upstream calls")
	}
	if p.spec.Transport != generator.TransportHTTP {
		want = append(want, "gRPC calls")
	}
	if p.spec.Cache {
		want = append(want, "Cache")
	}
	if p.spec.Store == generator.StorePostgres {
		want = append(want, "Postgres pool")
	}
	assert.ElementsMatch(t, want, rows)
}

// TestDashboardIsDeterministic renders the same answers twice.
func TestDashboardIsDeterministic(t *testing.T) {
	a, b := defaultProject(t), defaultProject(t)
	assert.Equal(t, a.file(t, dashboardPath(a)), b.file(t, dashboardPath(b)))
}

// queries returns every PromQL expression of p's rules and dashboard, and
// the names the rules record.
func queries(t *testing.T, p project) (exprs, recorded []string) {
	t.Helper()
	for _, g := range parseRules(t, p.file(t, rulesPath)).Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
			if r.Record != "" {
				recorded = append(recorded, r.Record)
			}
		}
	}
	for _, panel := range parseDashboard(t, p.file(t, dashboardPath(p))).Panels {
		for _, tg := range panel.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	return exprs, recorded
}

// metricNames returns the metric names expr selects.
func metricNames(t *testing.T, expr string) []string {
	t.Helper()
	node, err := promql.ParseExpr(expr)
	require.NoError(t, err, expr)
	var names []string
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			require.NotEmpty(t, vs.Name, "a selector without a metric name: %s", expr)
			names = append(names, vs.Name)
		}
		return nil
	})
	slices.Sort(names)
	return slices.Compact(names)
}

// TestQueriesReadRecordedNames checks that every name a query selects is a
// recording rule's, a metric the service defines (its namespace), or a Go
// runtime or process metric: a typo in a recorded name would otherwise leave
// a panel or an alert silently empty. TestQueriesNameExportedMetrics checks
// the service's own names against a running instance.
func TestQueriesReadRecordedNames(t *testing.T) {
	paths := func(p project) []string {
		if !monitored(p) {
			return nil
		}
		return []string{rulesPath, dashboardPath(p)}
	}
	distinct(t, matrix(t), paths, func(t *testing.T, p project) {
		data, err := generator.NewData(p.spec)
		require.NoError(t, err)
		exprs, recorded := queries(t, p)
		for _, e := range exprs {
			for _, name := range metricNames(t, e) {
				ok := slices.Contains(recorded, name) ||
					strings.HasPrefix(name, data.Monitoring.Metric+"_") ||
					strings.HasPrefix(name, "process_")
				assert.True(t, ok, "%s selects %s, which nothing records or exports", e, name)
			}
		}
	})
}
