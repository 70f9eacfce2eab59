package generator

import "strconv"

// Dashboard is the layout of the project's Grafana dashboard: rows of
// panels, one row per component the project has.
type Dashboard struct {
	// UID is the dashboard's stable identifier in Grafana.
	UID string
	// Title is the dashboard's title.
	Title string
	// Panels lists rows and their panels, in order, positioned on
	// Grafana's 24-column grid.
	Panels []Panel
}

// Panel is one Grafana panel: a row header or a time series.
type Panel struct {
	// ID is unique within the dashboard.
	ID int
	// Type is "row" or "timeseries".
	Type string
	// Title and Description are what the panel shows.
	Title, Description string
	// Unit is Grafana's unit id for the values, e.g. "s" or "reqps".
	Unit string
	// X, Y, W and H are the panel's place on the grid.
	X, Y, W, H int
	// Targets are the panel's queries.
	Targets []Target
}

// Target is one PromQL query of a panel.
type Target struct {
	// RefID names the query within its panel: A, B, ...
	RefID string
	// Expr is the PromQL expression; $job is the dashboard's job variable.
	Expr string
	// Legend is Grafana's legend format, e.g. "{{route}}".
	Legend string
}

// dashboardBuilder places panels two to a line under row headers.
type dashboardBuilder struct {
	d      Dashboard
	y, col int
}

func (b *dashboardBuilder) row(title string) {
	if b.col != 0 {
		b.y += 8
		b.col = 0
	}
	b.d.Panels = append(b.d.Panels, Panel{ID: len(b.d.Panels) + 1, Type: "row", Title: title, X: 0, Y: b.y, W: 24, H: 1})
	b.y++
}

// panel adds a half-width time series; targets alternate expression and
// legend.
func (b *dashboardBuilder) panel(title, unit, description string, targets ...string) {
	p := Panel{ID: len(b.d.Panels) + 1, Type: "timeseries", Title: title, Description: description, Unit: unit, X: b.col * 12, Y: b.y, W: 12, H: 8}
	for i := 0; i+1 < len(targets); i += 2 {
		p.Targets = append(p.Targets, Target{RefID: string(rune('A' + i/2)), Expr: targets[i], Legend: targets[i+1]})
	}
	b.d.Panels = append(b.d.Panels, p)
	if b.col == 1 {
		b.y += 8
	}
	b.col = 1 - b.col
}

// newDashboard lays out the RED view per route, the SLO burn rates, the
// runtime, and a row for each component the project has. Its queries read
// the recording rules where there is one, so the dashboard and the alerts
// agree and the dashboard stays cheap to load.
func newDashboard(d *Data, m Monitoring) Dashboard {
	b := dashboardBuilder{d: Dashboard{UID: d.Name + "-service", Title: d.Name}}
	job := `{job="$job"}`
	ns := m.Metric
	if d.HTTP {
		b.row("HTTP requests")
		b.panel("Request rate by route", "reqps", "Requests per second over 5 minutes.",
			"job_route:"+ns+"_http_requests:rate5m"+job, "{{route}}")
		b.panel("Error ratio by route", "percentunit", "Share of requests answered 5xx over 5 minutes.",
			"job_route:"+ns+"_http_errors:ratio_rate5m"+job, "{{route}}")
		b.panel("P95 latency by route", "s", "95th percentile latency over 5 minutes; the SLO target is "+m.LatencySeconds+" s.",
			"job_route:"+ns+"_http_request_duration_seconds:p95_rate5m"+job, "{{route}}",
			"vector("+m.LatencySeconds+")", "SLO target")
		b.panel("P50 and P99 latency by route", "s", "Median and 99th percentile latency over 5 minutes.",
			"job_route:"+ns+"_http_request_duration_seconds:p50_rate5m"+job, "p50 {{route}}",
			"job_route:"+ns+"_http_request_duration_seconds:p99_rate5m"+job, "p99 {{route}}")
		b.panel("Requests in flight", "short", "HTTP requests being served.",
			"sum by (instance) ("+ns+"_http_requests_in_flight"+job+")", "{{instance}}")
	}
	if d.GRPC {
		b.row("gRPC calls")
		b.panel("Call rate by method", "reqps", "Calls per second over 5 minutes.",
			"job_method:"+ns+"_grpc_server_handled:rate5m"+job, "{{method}}")
		b.panel("Error ratio by method", "percentunit", "Share of calls that failed on the server's side over 5 minutes.",
			"job_method:"+ns+"_grpc_server_errors:ratio_rate5m"+job, "{{method}}")
		b.panel("P95 latency by method", "s", "95th percentile latency over 5 minutes; the SLO target is "+m.LatencySeconds+" s.",
			"job_method:"+ns+"_grpc_server_handling_seconds:p95_rate5m"+job, "{{method}}",
			"vector("+m.LatencySeconds+")", "SLO target")
		b.panel("P50 and P99 latency by method", "s", "Median and 99th percentile latency over 5 minutes.",
			"job_method:"+ns+"_grpc_server_handling_seconds:p50_rate5m"+job, "p50 {{method}}",
			"job_method:"+ns+"_grpc_server_handling_seconds:p99_rate5m"+job, "p99 {{method}}")
	}
	b.row("SLO burn rate")
	b.panel("Error budget burn rate", "x", "How many times faster than the objective allows the error budget ("+m.ErrorBudget+") burns; 1 spends it in exactly 30 days, the page fires at 14.4.",
		"job:"+ns+"_slo_errors:ratio_rate5m"+job+" / "+m.ErrorBudget, "5m",
		"job:"+ns+"_slo_errors:ratio_rate1h"+job+" / "+m.ErrorBudget, "1h",
		"job:"+ns+"_slo_errors:ratio_rate6h"+job+" / "+m.ErrorBudget, "6h")
	b.panel("Latency budget burn rate", "x", "How many times faster than the objective allows the share of requests slower than "+m.LatencySeconds+" s ("+m.LatencyBudget+") burns.",
		"job:"+ns+"_slo_slow_requests:ratio_rate5m"+job+" / "+m.LatencyBudget, "5m",
		"job:"+ns+"_slo_slow_requests:ratio_rate1h"+job+" / "+m.LatencyBudget, "1h",
		"job:"+ns+"_slo_slow_requests:ratio_rate6h"+job+" / "+m.LatencyBudget, "6h")

	b.row("Runtime and memory")
	b.panel("Resident memory", "bytes", "Resident set size against the SLO's bound, and the Go heap.",
		"process_resident_memory_bytes"+job, "RSS {{instance}}",
		ns+"_memory_heap_live_bytes"+job, "live heap {{instance}}",
		ns+"_memory_limit_bytes"+job, "GOMEMLIMIT {{instance}}",
		"vector("+itoa64(m.RSSBytes)+")", "SLO bound")
	b.panel("CPU", "percentunit", "CPU used as a share of the "+m.CPUCores+" cores a replica is given; the SLO bound is "+m.CPURatio+".",
		"rate(process_cpu_seconds_total"+job+"[5m]) / "+m.CPUCores, "{{instance}}",
		"vector("+m.CPURatio+")", "SLO bound")
	b.panel("Goroutines", "short", "Live goroutines.",
		ns+"_goroutines"+job, "{{instance}}")
	b.panel("GC pauses", "s", "99th percentile stop-the-world pause, and GC cycles per second.",
		"histogram_quantile(0.99, sum by (instance, le) (rate("+ns+"_memory_gc_pause_seconds_bucket"+job+"[5m])))", "p99 pause {{instance}}",
		"rate("+ns+"_memory_gc_cycles_total"+job+"[5m])", "cycles/s {{instance}}")

	b.row("Load shedding")
	b.panel("Concurrency limit", "short", "The adaptive limit and the requests admitted under it.",
		ns+"_limiter_limit"+job, "limit {{instance}}",
		ns+"_limiter_in_flight"+job, "in flight {{instance}}")
	b.panel("Shed requests", "reqps", "Requests rejected because the limit was reached, and the share shed.",
		"sum by (instance) (rate("+ns+"_limiter_shed_total"+job+"[5m]))", "shed/s {{instance}}",
		"job:"+ns+"_limiter_shed:ratio_rate5m"+job, "share shed")

	if d.Cache {
		b.row("Cache")
		b.panel("Hit ratio", "percentunit", "Share of lookups that found a fresh entry, now and over the day.",
			"job:"+ns+"_cache_hits:ratio_rate5m"+job, "5m",
			"job:"+ns+"_cache_hits:ratio_rate1d"+job, "1d")
		b.panel("Entries and evictions", "short", "Entries held, and evictions per second.",
			"sum by (instance) ("+ns+"_cache_entries"+job+")", "entries {{instance}}",
			"sum by (instance) (rate("+ns+"_cache_evictions_total"+job+"[5m]))", "evictions/s {{instance}}")
		if d.Postgres {
			b.panel("Coherence across replicas", "short", "1 while an instance hears other replicas' writes (LISTEN) and trusts its cache, 0 while it bypasses it; invalidations received per second by table.",
				ns+"_cache_coherent"+job, "coherent {{instance}}",
				"sum by (table) (rate("+ns+"_cache_invalidations_total"+job+"[5m]))", "invalidations/s {{table}}")
		}
	}
	if d.Postgres {
		b.row("Postgres pool")
		b.panel("Connections", "short", "Connections in use and idle, against the pool's size.",
			ns+"_db_pool_acquired_conns"+job, "acquired {{instance}}",
			ns+"_db_pool_idle_conns"+job, "idle {{instance}}",
			ns+"_db_pool_max_conns"+job, "max {{instance}}")
		b.panel("Acquire wait", "s", "Seconds per second requests spent waiting for a connection.",
			"rate("+ns+"_db_pool_empty_acquire_wait_seconds_total"+job+"[5m])", "{{instance}}")
	}
	if d.HTTP {
		b.row("Upstream calls")
		b.panel("Upstream request rate", "reqps", "Outbound requests per second by status code.",
			"sum by (code) (rate("+ns+"_http_client_requests_total"+job+"[5m]))", "{{code}}")
		b.panel("Upstream P95 latency", "s", "95th percentile time to response headers.",
			"histogram_quantile(0.95, sum by (le) (rate("+ns+"_http_client_request_duration_seconds_bucket"+job+"[5m])))", "p95")
		b.panel("Endpoints available", "short", "Upstream endpoints passing health checks and not ejected.",
			"sum by (instance) ("+ns+"_lb_endpoint_available"+job+")", "{{instance}}")
		b.panel("Ejections", "short", "Passive ejections per second after consecutive failures.",
			"sum by (endpoint) (rate("+ns+"_lb_ejections_total"+job+"[5m]))", "{{endpoint}}")
	}
	return b.d
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
