package generator_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/templates"
)

// promtool returns the path of Prometheus's promtool, skipping the test when
// it is not installed (make tools installs it).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not on PATH, so the generated alert rules are not checked; install it with: make tools")
	}
	return p
}

// checkRules runs promtool's rule checks and the rules' own unit tests in
// dir, the deploy/prometheus directory of a project.
func checkRules(t *testing.T, tool, dir string) {
	t.Helper()
	for _, args := range [][]string{
		{"check", "rules", "rules.yaml"},
		{"test", "rules", "rules_test.yaml"},
	} {
		cmd := exec.Command(tool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "promtool %v in %s:\n%s", args, dir, out)
	}
}

// TestGoldenRulesPassPromtool checks every golden case's alert and
// recording rules with promtool, and runs their unit tests, in which each
// alert fires once and stays quiet once. Only projects that deploy next to a
// Prometheus (compose or Kubernetes) have rules.
func TestGoldenRulesPassPromtool(t *testing.T) {
	tool := promtool(t)
	for _, name := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join(goldenDir, name, generator.AnswersFile))
			require.NoError(t, err)
			defer f.Close()
			spec, err := generator.ReadAnswers(generator.AnswersFile, f, generator.DefaultSpec(name))
			require.NoError(t, err)
			dir := filepath.Join(goldenDir, name, "deploy", "prometheus")
			_, statErr := os.Stat(filepath.Join(dir, "rules.yaml"))
			want := spec.HasDeploy(generator.DeployCompose) || spec.HasDeploy(generator.DeployK8s)
			require.Equal(t, want, statErr == nil, "rules.yaml exists = %v, want %v", statErr == nil, want)
			if want {
				checkRules(t, tool, dir)
			}
		})
	}
}

// TestRulesFollowSLOs renders projects whose objectives and components
// differ from the goldens' and runs promtool on their rules: a latency
// target that is not a default bucket, a whole number of seconds, an error
// budget so large that the fast-burn alert cannot fire and is left out, and
// each transport alone.
func TestRulesFollowSLOs(t *testing.T) {
	tool := promtool(t)
	cases := map[string]func(*generator.Spec){
		"p95 50ms grpc":        func(s *generator.Spec) { s.SLO.P95Millis, s.Transport = 50, generator.TransportGRPC },
		"p95 75ms postgres":    func(s *generator.Spec) { s.SLO.P95Millis, s.Store = 75, generator.StorePostgres },
		"p95 2s errors 10%":    func(s *generator.Spec) { s.SLO.P95Millis, s.SLO.ErrorPercent = 2000, 10 },
		"http no cache 22krps": func(s *generator.Spec) { s.Transport, s.Cache, s.SLO.RPS = generator.TransportHTTP, false, 22000 },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			spec := generator.DefaultSpec("orders-api")
			spec.Deploy = []generator.Deploy{generator.DeployK8s}
			edit(&spec)
			files, err := generator.Render(templates.FS, spec)
			require.NoError(t, err)
			dir := t.TempDir()
			for _, p := range []string{"deploy/prometheus/rules.yaml", "deploy/prometheus/rules_test.yaml"} {
				f, ok := files.Lookup(p)
				require.True(t, ok, "no %s", p)
				require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(p)), f.Content, 0o644))
			}
			checkRules(t, tool, dir)

			data, err := generator.NewData(spec)
			require.NoError(t, err)
			rules, _ := files.Lookup("deploy/prometheus/rules.yaml")
			assert.Contains(t, string(rules.Content), data.Monitoring.LatencyBucket, "the slow-request ratio must read the bucket at the target")
			metrics, ok := files.Lookup("internal/metrics/metrics.go")
			require.True(t, ok)
			assert.Contains(t, string(metrics.Content), data.Monitoring.LatencyBuckets)
		})
	}
}

// TestLatencyBucketAtTarget checks the histogram bounds the rules depend
// on: the target is among them exactly once, in order.
func TestLatencyBucketAtTarget(t *testing.T) {
	for _, tc := range []struct {
		p95  int
		want string
		le   string
	}{
		{100, "0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5", `le="0.1"`},
		{50, "0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5", `le="0.05"`},
		{75, "0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5", `le="0.075"`},
		{3000, "0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 3", `le=~"3|3\\.0"`},
	} {
		spec := generator.DefaultSpec("demo")
		spec.SLO.P95Millis = tc.p95
		data, err := generator.NewData(spec)
		require.NoError(t, err)
		assert.Equal(t, tc.want, data.Monitoring.LatencyBuckets, "p95 %d ms", tc.p95)
		assert.Equal(t, tc.le, data.Monitoring.LatencyBucket, "p95 %d ms", tc.p95)
	}
}

// TestBurnAlertsLeaveOutImpossibleThresholds checks that a window pair
// whose threshold is 100 % or more is not written: no error ratio exceeds
// it, so its alert could never fire.
func TestBurnAlertsLeaveOutImpossibleThresholds(t *testing.T) {
	spec := generator.DefaultSpec("demo")
	spec.SLO.ErrorPercent = 20 // 14.4x and 6x are past 100 %; 3x and 1x remain
	data, err := generator.NewData(spec)
	require.NoError(t, err)
	require.Len(t, data.Monitoring.ErrorBurn, 1)
	assert.Equal(t, "ErrorBudgetSlowBurn", data.Monitoring.ErrorBurn[0].Name)
	assert.Len(t, data.Monitoring.ErrorBurn[0].Windows, 2)
	assert.Len(t, data.Monitoring.LatencyBurn, 2, "the latency budget is always 5 %%")
}
