package generator

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Monitoring holds what the Prometheus rules, their unit tests and the
// Grafana dashboard compute from the SLOs, so the alerts page on the same
// objectives the load test gates on.
type Monitoring struct {
	// Metric is the prefix of the metrics the service defines, e.g. "demo".
	Metric string
	// Job is the Prometheus job label the compose config and the
	// ServiceMonitor give the service's targets.
	Job string

	// LatencyBuckets are the request-latency histogram's upper bounds, as
	// a Go list; one of them is exactly the SLO's P95 target, so the rules
	// count requests slower than it without interpolating.
	LatencyBuckets string
	// LatencySeconds is the SLO's P95 target in seconds, e.g. "0.1".
	LatencySeconds string
	// LatencyBucket is the PromQL label matcher of the bucket at the
	// target. Prometheus 3 stores a whole-second bound "1" as "1.0", so a
	// whole number matches both spellings.
	LatencyBucket string
	// ErrorBudget is the share of requests allowed to fail, e.g. "0.001";
	// LatencyBudget the share allowed to be slower than the target.
	ErrorBudget, LatencyBudget string
	// ErrorObjective and LatencyObjective are the objectives as
	// percentages of good requests, for humans: "99.9", "95".
	ErrorObjective, LatencyObjective string

	// Windows are the rate windows the SLO ratios are recorded over.
	Windows []string
	// ErrorBurn and LatencyBurn are the multi-window, multi-burn-rate
	// alerts on each budget.
	ErrorBurn, LatencyBurn []BurnAlert
	// Quantiles are the per-route latency quantiles recorded.
	Quantiles []Quantile

	// RSSBytes is the SLO's resident-memory bound; RSSAlertBytes the 90 %
	// of it the memory alert fires above, before the container limit
	// (the same number) kills the process.
	RSSBytes, RSSAlertBytes int64
	// CPUCores is the CPU one replica is given, in cores; CPURatio the
	// SLO's bound on the share of it in use, e.g. "0.7".
	CPUCores, CPURatio string
	// CPUSecondsPerMinute is the CPU time a replica busy on all its cores
	// uses in a minute, for the rules' unit tests.
	CPUSecondsPerMinute string
	// GRPCErrorCodes are the gRPC status codes that count against the
	// error budget: the server's faults and overload, never the caller's.
	GRPCErrorCodes string

	// InstanceAlerts are the alerts other than the budget burns that
	// fire per instance; JobAlerts those that fire per job.
	InstanceAlerts, JobAlerts []string

	// Dashboard is the Grafana dashboard's layout; GrafanaImage the
	// compose file's Grafana, which provisions it.
	Dashboard    Dashboard
	GrafanaImage string
	// texts are the alerts' annotations by alert name; the rules and their
	// unit tests read them through Summary and Description.
	texts map[string]alertText

	// http and grpc report which transports' metrics the SLIs sum.
	http, grpc bool
}

// BurnAlert is one alert on an error budget: it fires when the budget burns
// Factor times faster than the objective allows over both the long and the
// short window of any of its Windows (Google SRE workbook, chapter 5).
type BurnAlert struct {
	// Name is the alert's name.
	Name string
	// Severity is "page" for fast burns and "ticket" for slow ones.
	Severity string
	// For is how long the condition must hold before the alert fires.
	For string
	// Windows are the window pairs; the alert fires when any pair burns.
	Windows []BurnWindow
}

// BurnWindow is one long/short window pair of a BurnAlert.
type BurnWindow struct {
	Long, Short string
	// Factor is the burn rate, e.g. "14.4": at that rate a 30-day budget
	// lasts 30/14.4 days.
	Factor string
}

// Quantile is one recorded latency quantile.
type Quantile struct {
	// Name is the recording rule's suffix, e.g. "p95".
	Name string
	// Value is the quantile, e.g. "0.95".
	Value string
}

// defaultLatencyBuckets are the request-latency histogram's bounds in
// seconds, before the SLO's target is added.
var defaultLatencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// burnRates are the SRE workbook's recommended window pairs for a 30-day
// budget: 2 % of it in an hour or 5 % in six hours pages; 10 % in a day or
// three days files a ticket.
var burnRates = []struct {
	severity        string
	long, short     string
	factor          float64
	forDuration     string
	alertNameSuffix string
}{
	{"page", "1h", "5m", 14.4, "2m", "FastBurn"},
	{"page", "6h", "30m", 6, "2m", "FastBurn"},
	{"ticket", "1d", "2h", 3, "15m", "SlowBurn"},
	{"ticket", "3d", "6h", 1, "15m", "SlowBurn"},
}

// newMonitoring computes the monitoring settings of the project d
// describes; d's Deployment must already be set.
func newMonitoring(d *Data) Monitoring {
	s := d.SLO
	target := float64(s.P95Millis) / 1000
	buckets := slices.Clone(defaultLatencyBuckets)
	if !slices.Contains(buckets, target) {
		buckets = append(buckets, target)
		slices.Sort(buckets)
	}
	bounds := make([]string, len(buckets))
	for i, b := range buckets {
		bounds[i] = formatFloat(b)
	}
	le := fmt.Sprintf("le=%q", formatFloat(target))
	if target == math.Trunc(target) {
		le = fmt.Sprintf(`le=~"%s|%s\\.0"`, formatFloat(target), formatFloat(target))
	}
	errorBudget := s.ErrorPercent / 100
	const latencyBudget = 0.05
	m := Monitoring{
		Metric:              goPackage(d.Name),
		Job:                 d.Name,
		LatencyBuckets:      strings.Join(bounds, ", "),
		LatencySeconds:      formatFloat(target),
		LatencyBucket:       le,
		ErrorBudget:         formatFloat(errorBudget),
		LatencyBudget:       formatFloat(latencyBudget),
		ErrorObjective:      formatFloat(100 - s.ErrorPercent),
		LatencyObjective:    formatFloat(100 * (1 - latencyBudget)),
		Windows:             []string{"5m", "30m", "1h", "2h", "6h", "1d", "3d"},
		ErrorBurn:           burnAlerts("ErrorBudget", errorBudget),
		LatencyBurn:         burnAlerts("LatencyBudget", latencyBudget),
		Quantiles:           []Quantile{{"p50", "0.5"}, {"p95", "0.95"}, {"p99", "0.99"}},
		RSSBytes:            int64(s.RSSMiB) << 20,
		RSSAlertBytes:       int64(s.RSSMiB) << 20 * 9 / 10,
		CPUCores:            formatFloat(float64(d.Deployment.CPUMillis) / 1000),
		CPURatio:            formatFloat(float64(s.CPUPercent) / 100),
		CPUSecondsPerMinute: formatFloat(float64(d.Deployment.CPUMillis) * 60 / 1000),
		GRPCErrorCodes:      "Unknown|DeadlineExceeded|ResourceExhausted|Internal|Unavailable|DataLoss",
		http:                d.HTTP,
		grpc:                d.GRPC,
	}
	m.InstanceAlerts = []string{"MemoryNearObjective", "CPUAboveObjective"}
	if d.Postgres {
		m.InstanceAlerts = append(m.InstanceAlerts, "PostgresPoolExhausted")
		if d.Cache {
			m.InstanceAlerts = append(m.InstanceAlerts, "CacheNotCoherent")
		}
	}
	m.JobAlerts = []string{"RequestsShed"}
	if d.Cache {
		m.JobAlerts = append(m.JobAlerts, "CacheHitRatioCollapsed")
	}
	m.Dashboard = newDashboard(d, m)
	m.GrafanaImage = "grafana/grafana:12.0.0"
	m.texts = alertTexts(d, m)
	return m
}

// alertText is an alert's severity and its two annotations.
type alertText struct{ severity, summary, description string }

// alertTexts writes every alert's annotations. They name no label and no
// value, so the rules' unit tests can state them exactly.
func alertTexts(d *Data, m Monitoring) map[string]alertText {
	texts := map[string]alertText{
		"MemoryNearObjective": {
			"ticket",
			fmt.Sprintf("%s uses over 90 %% of its %d MiB memory objective", d.Name, d.SLO.RSSMiB),
			fmt.Sprintf("Resident memory is above %d bytes; at %d the container limit kills the process. Compare the live heap with GOMEMLIMIT on the dashboard.", m.RSSAlertBytes, m.RSSBytes),
		},
		"CPUAboveObjective": {
			"ticket",
			fmt.Sprintf("%s uses more than %d %% of its %s cores", d.Name, d.SLO.CPUPercent, m.CPUCores),
			"An instance has used more CPU than the objective allows for 15 minutes; add replicas, or profile it with /debug/pprof/profile on the admin port.",
		},
		"RequestsShed": {
			"ticket",
			d.Name + " is shedding more than 1 % of requests",
			"The concurrency limiter rejects requests because latency rose or the limit was reached: the service is overloaded or a dependency is slow.",
		},
		"CacheHitRatioCollapsed": {
			"ticket",
			d.Name + "'s cache hit ratio fell below half of its daily average",
			"Reads the cache used to answer now reach the store; look for evictions, a changed key pattern or a shorter TTL.",
		},
		"CacheNotCoherent": {
			"ticket",
			d.Name + " is bypassing its cache: it cannot hear other replicas' writes",
			"The instance lost its LISTEN connection to Postgres, so it cannot learn of rows other replicas change; it reads every request from the store until it reconnects, which is correct but slower. Check the database's connection limit and the listener's reconnects on the dashboard.",
		},
		"PostgresPoolExhausted": {
			"page",
			d.Name + "'s Postgres pool is exhausted",
			"Over 90 % of the pool's connections are in use and requests wait for one; raise the pool size or find the slow queries.",
		},
	}
	for _, a := range m.ErrorBurn {
		texts[a.Name] = alertText{
			a.Severity,
			d.Name + " is spending its error budget too fast",
			fmt.Sprintf("More than %s of requests fail, %s. See the SLO burn rate panel.", m.ErrorBudget, burnHorizon(a.Severity)),
		}
	}
	for _, a := range m.LatencyBurn {
		texts[a.Name] = alertText{
			a.Severity,
			d.Name + " is spending its latency budget too fast",
			fmt.Sprintf("More than %s of requests take longer than %s s, %s. See the SLO burn rate panel.", m.LatencyBudget, m.LatencySeconds, burnHorizon(a.Severity)),
		}
	}
	return texts
}

// burnHorizon says how soon a burn alert's rate spends the budget.
func burnHorizon(severity string) string {
	if severity == "page" {
		return "fast enough to spend the 30-day budget within days"
	}
	return "fast enough to spend the 30-day budget before the month ends"
}

// Severity returns the severity label of the alert called name.
func (m Monitoring) Severity(name string) (string, error) {
	t, ok := m.texts[name]
	if !ok {
		return "", fmt.Errorf("no severity for alert %q", name)
	}
	return t.severity, nil
}

// Summary returns the summary annotation of the alert called name.
func (m Monitoring) Summary(name string) (string, error) {
	t, ok := m.texts[name]
	if !ok {
		return "", fmt.Errorf("no annotations for alert %q", name)
	}
	return t.summary, nil
}

// Description returns the description annotation of the alert called name.
func (m Monitoring) Description(name string) (string, error) {
	t, ok := m.texts[name]
	if !ok {
		return "", fmt.Errorf("no annotations for alert %q", name)
	}
	return t.description, nil
}

// burnAlerts returns the fast and slow burn alerts on a budget, leaving out
// any window pair whose threshold is 100 % or more: a ratio can never
// exceed it, so the alert could never fire.
func burnAlerts(prefix string, budget float64) []BurnAlert {
	var out []BurnAlert
	for _, r := range burnRates {
		if r.factor*budget >= 1 {
			continue
		}
		w := BurnWindow{Long: r.long, Short: r.short, Factor: formatFloat(r.factor)}
		if n := len(out); n > 0 && out[n-1].Severity == r.severity {
			out[n-1].Windows = append(out[n-1].Windows, w)
			continue
		}
		out = append(out, BurnAlert{Name: prefix + r.alertNameSuffix, Severity: r.severity, For: r.forDuration, Windows: []BurnWindow{w}})
	}
	return out
}

// formatFloat writes f in its shortest form, without a float64's rounding
// noise: 0.1/100 is "0.001", not "0.0010000000000000002".
func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', 10, 64)
}

// Selector returns the PromQL that sums, by job, the rate over window of
// the request counters (HTTP and gRPC) of the requests matcher selects:
// "errors", "all", or for the latency histograms "fast" (at or under the
// target) and "timed" (every observation).
func (m Monitoring) Selector(which, window string) (string, error) {
	var httpSel, grpcSel string
	switch which {
	case "errors":
		httpSel = m.Metric + `_http_requests_total{code="5xx"}`
		grpcSel = m.Metric + `_grpc_server_handled_total{code=~"` + m.GRPCErrorCodes + `"}`
	case "all":
		httpSel = m.Metric + "_http_requests_total"
		grpcSel = m.Metric + "_grpc_server_handled_total"
	case "fast":
		httpSel = m.Metric + "_http_request_duration_seconds_bucket{" + m.LatencyBucket + "}"
		grpcSel = m.Metric + "_grpc_server_handling_seconds_bucket{" + m.LatencyBucket + "}"
	case "timed":
		httpSel = m.Metric + "_http_request_duration_seconds_count"
		grpcSel = m.Metric + "_grpc_server_handling_seconds_count"
	default:
		return "", fmt.Errorf("unknown selector %q; use errors, all, fast or timed", which)
	}
	var parts []string
	if m.http {
		parts = append(parts, "rate("+httpSel+"["+window+"])")
	}
	if m.grpc {
		parts = append(parts, "rate("+grpcSel+"["+window+"])")
	}
	// HTTP series carry a route label and gRPC ones do not, so "or" is a
	// union that keeps both, and still answers when one has no traffic.
	return "sum by (job) (" + strings.Join(parts, " or ") + ")", nil
}
