package generator

// IfMonitoring holds when the project has a deploy output that runs
// Prometheus: docker compose starts one, and a Kubernetes cluster has one.
// The plain rules file (and its promtool unit tests) comes with either, not
// only with compose: it is what a Prometheus without the Operator loads
// (a Helm chart's rule files, a VM's /etc/prometheus), and the tests of the
// PrometheusRule's identical groups.
var IfMonitoring = Condition{"monitoring", func(d *Data) bool { return d.Compose || d.K8s }}

// monitoringManifest lists the alerting and recording rules and the
// dashboard computed from the project's SLOs, and the profiling the admin
// port serves.
var monitoringManifest = []Entry{
	{"service/internal/profiling/profiling.go.tmpl", "internal/profiling/profiling.go", Always, modeFile},
	{"service/internal/profiling/profiling_test.go.tmpl", "internal/profiling/profiling_test.go", Always, modeFile},
	// The whole-process tests run the HTTP service (startRun).
	{"service/cmd/profiling_test.go.tmpl", "cmd/{{.Name}}/profiling_test.go", IfHTTP, modeFile},
	// The alert rules read the latency histogram's bucket at the SLO target.
	{"service/internal/metrics/buckets_test.go.tmpl", "internal/metrics/buckets_test.go", Always, modeFile},
	{"deploy/prometheus/rules.yaml.tmpl", "deploy/prometheus/rules.yaml", IfMonitoring, modeFile},
	{"deploy/prometheus/rules_test.yaml.tmpl", "deploy/prometheus/rules_test.yaml", IfMonitoring, modeFile},
	{"deploy/k8s/monitoring/prometheusrule.yaml.tmpl", "deploy/k8s/monitoring/prometheusrule.yaml", IfK8s, modeFile},
	// The dashboard comes with the rules, to import into any Grafana;
	// compose also provisions it into its own.
	{"deploy/grafana/dashboard.json.tmpl", "deploy/grafana/{{.Name}}.json", IfMonitoring, modeFile},
	{"deploy/grafana/datasource.yaml.tmpl", "deploy/grafana/provisioning/datasources/prometheus.yaml", IfCompose, modeFile},
	{"deploy/grafana/dashboards.yaml.tmpl", "deploy/grafana/provisioning/dashboards/{{.Name}}.yaml", IfCompose, modeFile},
}
