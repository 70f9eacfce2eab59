package generator

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// A Condition decides whether a manifest entry belongs in a project.
type Condition struct {
	// Name identifies the condition in exported manifests, e.g. "grpc".
	Name string
	// Holds reports whether the condition is true for the project.
	Holds func(*Data) bool
	// Each makes an entry render once for each resource added with
	// perfgen add resource (Spec.Resources), with Data.Resource set to
	// it; Holds is then asked of that Data. An entry whose condition
	// has it renders nothing in a project without added resources.
	Each bool
}

// The conditions manifest entries use.
var (
	Always     = Condition{Name: "always", Holds: func(*Data) bool { return true }}
	IfHTTP     = Condition{Name: "http", Holds: func(d *Data) bool { return d.HTTP }}
	IfGRPC     = Condition{Name: "grpc", Holds: func(d *Data) bool { return d.GRPC }}
	IfMemory   = Condition{Name: "memory", Holds: func(d *Data) bool { return d.Memory }}
	IfPostgres = Condition{Name: "postgres", Holds: func(d *Data) bool { return d.Postgres }}
	IfCache    = Condition{Name: "cache", Holds: func(d *Data) bool { return d.Cache }}
	// IfUpstream holds when the example outbound call is generated, with
	// the HTTP client and load balancer it uses.
	IfUpstream = Condition{Name: "upstream", Holds: func(d *Data) bool { return d.Upstream }}
	IfDocker   = Condition{Name: "docker", Holds: func(d *Data) bool { return d.Docker }}
	IfCompose  = Condition{Name: "compose", Holds: func(d *Data) bool { return d.Compose }}
	IfK8s      = Condition{Name: "k8s", Holds: func(d *Data) bool { return d.K8s }}
	IfSysctl   = Condition{Name: "sysctl", Holds: func(d *Data) bool { return d.Sysctl }}
	IfSystemd  = Condition{Name: "systemd", Holds: func(d *Data) bool { return d.Systemd }}
	// IfMonitoring holds when the project has a deploy output that runs
	// Prometheus: docker compose starts one, and a Kubernetes cluster has
	// one. The plain rules file (and its promtool unit tests) comes with
	// either, not only with compose: it is what a Prometheus without the
	// Operator loads, and the tests of the PrometheusRule's identical groups.
	IfMonitoring = Condition{Name: "monitoring", Holds: func(d *Data) bool { return d.Compose || d.K8s }}
	// IfDependency holds when the service calls something that can fail
	// under it, the database or an upstream, and so needs a circuit breaker.
	IfDependency = Condition{Name: "dependency", Holds: func(d *Data) bool { return d.Postgres || d.Upstream }}
	IfCI         = Condition{Name: "ci", Holds: func(d *Data) bool { return d.CI }}
	// IfAPI holds when the service has a public API, HTTP or gRPC: the
	// load-test harness needs one and drives whichever the service has.
	IfAPI = Condition{Name: "api", Holds: func(d *Data) bool { return d.HTTP || d.GRPC }}
	// IfResources holds when the project has resources added with perfgen
	// add resource.
	IfResources = Condition{Name: "resources", Holds: func(d *Data) bool { return len(d.Resources) > 0 }}
	// EachResource renders an entry once per added resource (see
	// Condition.Each); combine it with others: All(EachResource, IfGRPC).
	EachResource = Condition{Name: "resource", Holds: func(*Data) bool { return true }, Each: true}
	// Never lets a custom manifest switch a built-in file off.
	Never = Condition{Name: "never", Holds: func(*Data) bool { return false }}
)

// Conditions lists every named condition, for exported manifests.
var Conditions = []Condition{Always, IfHTTP, IfGRPC, IfAPI, IfMemory, IfPostgres, IfCache, IfUpstream, IfDocker, IfCompose, IfK8s, IfSysctl, IfSystemd, IfMonitoring, IfDependency, IfCI, IfResources, EachResource, Never}

// All returns a condition that holds when every one of cs holds. Its name
// joins theirs with "+"; it renders per resource when any of cs does.
func All(cs ...Condition) Condition {
	names := make([]string, len(cs))
	each := false
	for i, c := range cs {
		names[i] = c.Name
		each = each || c.Each
	}
	return Condition{
		Name: strings.Join(names, "+"),
		Each: each,
		Holds: func(d *Data) bool {
			for _, c := range cs {
				if !c.Holds(d) {
					return false
				}
			}
			return true
		},
	}
}

// ParseCondition parses a condition name as exported manifests write it:
// one name from Conditions, or several joined with "+".
func ParseCondition(s string) (Condition, error) {
	var cs []Condition
	for _, name := range strings.Split(s, "+") {
		i := slices.IndexFunc(Conditions, func(c Condition) bool { return c.Name == name })
		if i < 0 {
			names := make([]string, len(Conditions))
			for j, c := range Conditions {
				names[j] = c.Name
			}
			return Condition{}, fmt.Errorf("unknown condition %q; use one of %s, or several joined with +", name, strings.Join(names, ", "))
		}
		cs = append(cs, Conditions[i])
	}
	if len(cs) == 1 {
		return cs[0], nil
	}
	return All(cs...), nil
}

// An Entry says that one template becomes one file of a project.
type Entry struct {
	// Template is the template's path in the template file system.
	Template string
	// Path is the output path, relative to the project root and slash
	// separated. It is itself a template over Data: "cmd/{{.Name}}/main.go".
	Path string
	// When decides whether the file belongs in the project.
	When Condition
	// Mode is the file's permission bits.
	Mode fs.FileMode
}

// File modes used by the manifest.
const (
	modeFile fs.FileMode = 0o644
	modeExec fs.FileMode = 0o755
)

// Manifest is the table of every file perfgen can generate. A file exists in
// a project exactly when its entry's condition holds; the manifest test fails
// on a template no entry uses and on an entry whose template is missing.
// The Go code generated from the .proto is not listed: Render compiles every
// rendered .proto file and adds that code itself.
var Manifest = []Entry{
	// The project's own files: answers, module, docs, tooling, and the
	// go:generate hook that runs `perfgen sync`.
	{"service/perfgen.yaml.tmpl", ".perfgen.yaml", Always, modeFile},
	{"service/go.mod.tmpl", "go.mod", Always, modeFile},
	{"service/gitignore.tmpl", ".gitignore", Always, modeFile},
	{"service/README.md.tmpl", "README.md", Always, modeFile},
	{"service/Makefile.tmpl", "Makefile", Always, modeFile},
	{"service/generate.go.tmpl", "generate.go", Always, modeFile},
	// Lint config, CI workflow and dependency updates.
	{"service/golangci.yml.tmpl", ".golangci.yml", Always, modeFile},
	{"service/github/workflows/ci.yml.tmpl", ".github/workflows/ci.yml", IfCI, modeFile},
	{"service/github/dependabot.yml.tmpl", ".github/dependabot.yml", IfCI, modeFile},

	// The entry point: config, wiring, signals, and the one list of the
	// resources the service serves.
	{"service/cmd/main.go.tmpl", "cmd/{{.Name}}/main.go", Always, modeFile},
	{"service/cmd/main_test.go.tmpl", "cmd/{{.Name}}/main_test.go", Always, modeFile},
	{"service/cmd/resources.go.tmpl", "cmd/{{.Name}}/resources.go", Always, modeFile},
	// The whole-process tests run the HTTP service (startRun).
	{"service/cmd/process_test.go.tmpl", "cmd/{{.Name}}/process_test.go", IfHTTP, modeFile},
	{"service/cmd/tracing_test.go.tmpl", "cmd/{{.Name}}/tracing_test.go", IfHTTP, modeFile},
	{"service/cmd/components_test.go.tmpl", "cmd/{{.Name}}/components_test.go", IfUpstream, modeFile},
	{"service/cmd/openapi_test.go.tmpl", "cmd/{{.Name}}/openapi_test.go", IfHTTP, modeFile},
	{"service/cmd/migrate.go.tmpl", "cmd/{{.Name}}/migrate.go", IfPostgres, modeFile},
	{"service/cmd/migrate_test.go.tmpl", "cmd/{{.Name}}/migrate_test.go", IfPostgres, modeFile},
	{"service/cmd/startup.go.tmpl", "cmd/{{.Name}}/startup.go", IfPostgres, modeFile},
	{"service/cmd/startup_test.go.tmpl", "cmd/{{.Name}}/startup_test.go", All(IfPostgres, IfHTTP), modeFile},
	{"service/internal/config/config.go.tmpl", "internal/config/config.go", Always, modeFile},
	{"service/internal/config/config_test.go.tmpl", "internal/config/config_test.go", Always, modeFile},
	{"service/internal/config/settings_test.go.tmpl", "internal/config/settings_test.go", Always, modeFile},
	{"service/internal/config/resource.go.tmpl", "internal/config/resource.go", Always, modeFile},
	{"service/internal/config/observability.go.tmpl", "internal/config/observability.go", Always, modeFile},
	{"service/internal/config/observability_test.go.tmpl", "internal/config/observability_test.go", Always, modeFile},

	// The core, which knows no resource: listeners, limits, health and
	// shutdown, and the robustness suite that attacks them.
	{"service/internal/server/server.go.tmpl", "internal/server/server.go", Always, modeFile},
	{"service/internal/server/server_test.go.tmpl", "internal/server/server_test.go", Always, modeFile},
	{"service/internal/server/grpc.go.tmpl", "internal/server/grpc.go", IfGRPC, modeFile},
	{"service/internal/server/grpc_test.go.tmpl", "internal/server/grpc_test.go", IfGRPC, modeFile},
	{"service/internal/server/grpc_requestid_test.go.tmpl", "internal/server/grpc_requestid_test.go", IfGRPC, modeFile},
	{"service/internal/server/hardening_test.go.tmpl", "internal/server/hardening_test.go", Always, modeFile},
	{"service/internal/server/hardening_http_test.go.tmpl", "internal/server/hardening_http_test.go", IfHTTP, modeFile},
	{"service/internal/server/hardening_grpc_test.go.tmpl", "internal/server/hardening_grpc_test.go", IfGRPC, modeFile},
	{"service/internal/server/postgres_test.go.tmpl", "internal/server/postgres_test.go", All(IfPostgres, IfHTTP), modeFile},
	{"service/internal/server/observe.go.tmpl", "internal/server/observe.go", Always, modeFile},
	{"service/internal/server/deadline.go.tmpl", "internal/server/deadline.go", IfHTTP, modeFile},
	{"service/internal/server/deadline_test.go.tmpl", "internal/server/deadline_test.go", IfHTTP, modeFile},
	{"service/internal/server/observe_test.go.tmpl", "internal/server/observe_test.go", IfHTTP, modeFile},
	{"service/internal/server/tracing_test.go.tmpl", "internal/server/tracing_test.go", Always, modeFile},
	{"service/internal/tracing/tracing.go.tmpl", "internal/tracing/tracing.go", Always, modeFile},
	{"service/internal/tracing/batch.go.tmpl", "internal/tracing/batch.go", Always, modeFile},
	{"service/internal/tracing/batch_test.go.tmpl", "internal/tracing/batch_test.go", Always, modeFile},
	{"service/internal/tracing/otlp.go.tmpl", "internal/tracing/otlp.go", Always, modeFile},
	{"service/internal/tracing/otlp_test.go.tmpl", "internal/tracing/otlp_test.go", Always, modeFile},
	{"service/internal/tracing/http.go.tmpl", "internal/tracing/http.go", IfHTTP, modeFile},
	{"service/internal/tracing/grpc.go.tmpl", "internal/tracing/grpc.go", IfGRPC, modeFile},
	{"service/internal/tracing/transport.go.tmpl", "internal/tracing/transport.go", IfUpstream, modeFile},
	{"service/internal/tracing/transport_test.go.tmpl", "internal/tracing/transport_test.go", IfUpstream, modeFile},
	{"service/internal/tracing/tracingtest/receiver.go.tmpl", "internal/tracing/tracingtest/receiver.go", Always, modeFile},
	{"service/internal/reqlog/reqlog.go.tmpl", "internal/reqlog/reqlog.go", Always, modeFile},
	{"service/internal/reqlog/reqlog_test.go.tmpl", "internal/reqlog/reqlog_test.go", Always, modeFile},
	{"service/internal/reqlog/requestid.go.tmpl", "internal/reqlog/requestid.go", Always, modeFile},
	{"service/internal/reqlog/access.go.tmpl", "internal/reqlog/access.go", IfHTTP, modeFile},

	// What every resource shares: error values and their statuses, cursor
	// pagination, pre-encoded values, cache-aside reads, registration.
	{"service/internal/resource/errors.go.tmpl", "internal/resource/errors.go", Always, modeFile},
	{"service/internal/resource/page.go.tmpl", "internal/resource/page.go", Always, modeFile},
	{"service/internal/resource/encoded.go.tmpl", "internal/resource/encoded.go", Always, modeFile},
	{"service/internal/resource/set.go.tmpl", "internal/resource/set.go", Always, modeFile},
	{"service/internal/resource/timeout.go.tmpl", "internal/resource/timeout.go", Always, modeFile},
	{"service/internal/resource/resource_test.go.tmpl", "internal/resource/resource_test.go", Always, modeFile},
	{"service/internal/resource/cacheaside.go.tmpl", "internal/resource/cacheaside.go", IfCache, modeFile},
	{"service/internal/resource/cacheaside_test.go.tmpl", "internal/resource/cacheaside_test.go", IfCache, modeFile},
	{"service/internal/resource/caches.go.tmpl", "internal/resource/caches.go", IfCache, modeFile},
	{"service/internal/resource/caches_test.go.tmpl", "internal/resource/caches_test.go", IfCache, modeFile},
	{"service/internal/resource/status.go.tmpl", "internal/resource/status.go", IfAPI, modeFile},
	{"service/internal/resource/message.go.tmpl", "internal/resource/message.go", IfResources, modeFile},
	{"service/internal/resource/message_test.go.tmpl", "internal/resource/message_test.go", IfResources, modeFile},
	{"service/internal/httpjson/httpjson.go.tmpl", "internal/httpjson/httpjson.go", IfHTTP, modeFile},
	{"service/internal/httpjson/httpjson_test.go.tmpl", "internal/httpjson/httpjson_test.go", IfHTTP, modeFile},

	// The example resource: its rules, service, store interface, the
	// implementation of its .proto service that both APIs serve, and its
	// Register.
	{"service/internal/items/item.go.tmpl", "internal/items/item.go", Always, modeFile},
	{"service/internal/items/item_test.go.tmpl", "internal/items/item_test.go", Always, modeFile},
	{"service/internal/items/service.go.tmpl", "internal/items/service.go", Always, modeFile},
	{"service/internal/items/service_test.go.tmpl", "internal/items/service_test.go", Always, modeFile},
	{"service/internal/items/resource.go.tmpl", "internal/items/resource.go", Always, modeFile},
	{"service/internal/items/server.go.tmpl", "internal/items/server.go", IfAPI, modeFile},
	{"service/internal/items/http.go.tmpl", "internal/items/http.go", IfHTTP, modeFile},
	{"service/internal/items/http_test.go.tmpl", "internal/items/http_test.go", IfHTTP, modeFile},
	{"service/internal/items/perf_test.go.tmpl", "internal/items/perf_test.go", IfHTTP, modeFile},
	{"service/internal/items/grpc.go.tmpl", "internal/items/grpc.go", IfGRPC, modeFile},
	{"service/internal/items/grpc_test.go.tmpl", "internal/items/grpc_test.go", IfGRPC, modeFile},
	{"service/internal/items/fuzz_test.go.tmpl", "internal/items/fuzz_test.go", IfAPI, modeFile},
	// The .proto is the one API definition of every transport; Render adds
	// the Go code and the OpenAPI document generated from it.
	{"service/api/proto/items.proto.tmpl", "{{.Proto.Dir}}/{{.Proto.File}}", IfAPI, modeFile},
	{"service/api/proto/doc.go.tmpl", "{{.Proto.Dir}}/doc.go", IfAPI, modeFile},
	{"service/api/openapi.go.tmpl", "api/openapi.go", IfHTTP, modeFile},
	{"service/api/openapi_test.go.tmpl", "api/openapi_test.go", IfHTTP, modeFile},

	// The resources added with perfgen add resource, each rendered once
	// per resource (EachResource): its .proto service in the project's
	// proto package, its package with the rules, Service, gRPC server and
	// Register, its stores and migration, and their tests.
	{"service/resource/resource.proto.tmpl", "{{.Proto.Dir}}/{{.Resource.Name}}.proto", EachResource, modeFile},
	{"service/resource/record.go.tmpl", "internal/{{.Resource.Name}}/{{.Resource.Singular}}.go", EachResource, modeFile},
	{"service/resource/service.go.tmpl", "internal/{{.Resource.Name}}/service.go", EachResource, modeFile},
	{"service/resource/grpc.go.tmpl", "internal/{{.Resource.Name}}/{{if .GRPC}}grpc{{else}}server{{end}}.go", EachResource, modeFile},
	{"service/resource/register.go.tmpl", "internal/{{.Resource.Name}}/resource.go", EachResource, modeFile},
	{"service/resource/service_test.go.tmpl", "internal/{{.Resource.Name}}/service_test.go", EachResource, modeFile},
	{"service/resource/grpc_test.go.tmpl", "internal/{{.Resource.Name}}/grpc_test.go", All(EachResource, IfGRPC), modeFile},
	{"service/resource/http_test.go.tmpl", "internal/{{.Resource.Name}}/http_test.go", All(EachResource, IfHTTP), modeFile},
	{"service/resource/fuzz_test.go.tmpl", "internal/{{.Resource.Name}}/fuzz_test.go", EachResource, modeFile},
	{"service/resource/memory.go.tmpl", "internal/store/memory/{{.Resource.Name}}.go", EachResource, modeFile},
	{"service/resource/memory_test.go.tmpl", "internal/store/memory/{{.Resource.Name}}_test.go", EachResource, modeFile},
	{"service/resource/postgres.go.tmpl", "internal/store/postgres/{{.Resource.Name}}.go", All(EachResource, IfPostgres), modeFile},
	{"service/resource/postgres_test.go.tmpl", "internal/store/postgres/{{.Resource.Name}}_test.go", All(EachResource, IfPostgres), modeFile},
	{"service/resource/migration.sql.tmpl", "internal/store/postgres/migrations/{{.Resource.Migration}}", All(EachResource, IfPostgres), modeFile},

	// Stores. The memory store exists in every project: it is the default
	// store, and the transports' tests run on it whichever store the
	// service uses. The Postgres store brings its pool, migrations and
	// query tracing, and a proxy its outage tests cut.
	{"service/internal/store/memory.go.tmpl", "internal/store/memory/memory.go", Always, modeFile},
	{"service/internal/store/memory_test.go.tmpl", "internal/store/memory/memory_test.go", Always, modeFile},
	{"service/internal/pgtest/pgtest.go.tmpl", "internal/pgtest/pgtest.go", IfPostgres, modeFile},
	{"service/internal/pgtest/proxy.go.tmpl", "internal/pgtest/proxy.go", IfPostgres, modeFile},
	{"service/internal/pgtest/proxy_test.go.tmpl", "internal/pgtest/proxy_test.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/postgres.go.tmpl", "internal/store/postgres/postgres.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/migrate.go.tmpl", "internal/store/postgres/migrate.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/migrations/0001_create_items.sql.tmpl", "internal/store/postgres/migrations/0001_create_items.sql", IfPostgres, modeFile},
	{"service/internal/store/postgres/migrations/0002_cache_invalidation.sql.tmpl", "internal/store/postgres/migrations/0002_cache_invalidation.sql", IfPostgres, modeFile},
	{"service/internal/store/postgres/listen.go.tmpl", "internal/store/postgres/listen.go", All(IfPostgres, IfCache), modeFile},
	{"service/internal/store/postgres/coherence_test.go.tmpl", "internal/store/postgres/coherence_test.go", All(IfPostgres, IfCache), modeFile},
	{"service/internal/store/postgres/tracer.go.tmpl", "internal/store/postgres/tracer.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/breaker.go.tmpl", "internal/store/postgres/breaker.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/breaker_test.go.tmpl", "internal/store/postgres/breaker_test.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/spans.go.tmpl", "internal/store/postgres/spans.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/collector.go.tmpl", "internal/store/postgres/collector.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/helpers_test.go.tmpl", "internal/store/postgres/helpers_test.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/postgres_test.go.tmpl", "internal/store/postgres/postgres_test.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/migrate_test.go.tmpl", "internal/store/postgres/migrate_test.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/metrics_test.go.tmpl", "internal/store/postgres/metrics_test.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/service_test.go.tmpl", "internal/store/postgres/service_test.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/outage_test.go.tmpl", "internal/store/postgres/outage_test.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/bench_test.go.tmpl", "internal/store/postgres/bench_test.go", IfPostgres, modeFile},

	// Performance components: each a small package with its own tests and
	// benchmarks, generated when an option uses it.
	{"service/internal/metrics/metrics.go.tmpl", "internal/metrics/metrics.go", Always, modeFile},
	{"service/internal/metrics/metrics_test.go.tmpl", "internal/metrics/metrics_test.go", Always, modeFile},
	{"service/internal/metrics/grpc.go.tmpl", "internal/metrics/grpc.go", IfGRPC, modeFile},
	{"service/internal/metrics/grpc_test.go.tmpl", "internal/metrics/grpc_test.go", IfGRPC, modeFile},
	// The alert rules read the latency histogram's bucket at the SLO target.
	{"service/internal/metrics/buckets_test.go.tmpl", "internal/metrics/buckets_test.go", Always, modeFile},
	{"service/internal/counter/counter.go.tmpl", "internal/counter/counter.go", Always, modeFile},
	{"service/internal/counter/counter_test.go.tmpl", "internal/counter/counter_test.go", Always, modeFile},
	{"service/internal/cache/cache.go.tmpl", "internal/cache/cache.go", IfCache, modeFile},
	{"service/internal/cache/cache_test.go.tmpl", "internal/cache/cache_test.go", IfCache, modeFile},
	{"service/internal/breaker/breaker.go.tmpl", "internal/breaker/breaker.go", IfDependency, modeFile},
	{"service/internal/breaker/breaker_test.go.tmpl", "internal/breaker/breaker_test.go", IfDependency, modeFile},
	{"service/internal/limiter/limiter.go.tmpl", "internal/limiter/limiter.go", Always, modeFile},
	{"service/internal/limiter/limiter_test.go.tmpl", "internal/limiter/limiter_test.go", Always, modeFile},
	{"service/internal/connlimit/connlimit.go.tmpl", "internal/connlimit/connlimit.go", IfAPI, modeFile},
	{"service/internal/connlimit/connlimit_test.go.tmpl", "internal/connlimit/connlimit_test.go", IfAPI, modeFile},
	{"service/internal/httpclient/httpclient.go.tmpl", "internal/httpclient/httpclient.go", IfUpstream, modeFile},
	{"service/internal/httpclient/httpclient_test.go.tmpl", "internal/httpclient/httpclient_test.go", IfUpstream, modeFile},
	{"service/internal/lb/lb.go.tmpl", "internal/lb/lb.go", IfUpstream, modeFile},
	{"service/internal/lb/retry.go.tmpl", "internal/lb/retry.go", IfUpstream, modeFile},
	{"service/internal/lb/retry_test.go.tmpl", "internal/lb/retry_test.go", IfUpstream, modeFile},
	{"service/internal/lb/lb_test.go.tmpl", "internal/lb/lb_test.go", IfUpstream, modeFile},
	{"service/internal/memstats/memstats.go.tmpl", "internal/memstats/memstats.go", Always, modeFile},
	{"service/internal/memstats/memlimit.go.tmpl", "internal/memstats/memlimit.go", Always, modeFile},
	{"service/internal/memstats/heapgoal.go.tmpl", "internal/memstats/heapgoal.go", Always, modeFile},
	{"service/internal/memstats/memstats_test.go.tmpl", "internal/memstats/memstats_test.go", Always, modeFile},
	// Block and mutex profile rates and the flight recorder the admin port
	// serves; the whole-process tests run the HTTP service (startRun).
	{"service/internal/profiling/profiling.go.tmpl", "internal/profiling/profiling.go", Always, modeFile},
	{"service/internal/profiling/profiling_test.go.tmpl", "internal/profiling/profiling_test.go", Always, modeFile},
	{"service/cmd/profiling_test.go.tmpl", "cmd/{{.Name}}/profiling_test.go", IfHTTP, modeFile},

	// The benchmark and load-test harness: the load generator, its
	// objectives and request mix, the orchestration script, and the
	// build-tagged hooks that let the load test prove it catches a slow
	// service. Every service with a public API gets it; each target comes
	// with the API it drives: h2c and HTTP/1.1 with the HTTP API, the
	// generated gRPC client with the gRPC one.
	{"bench/README.md.tmpl", "bench/README.md", IfAPI, modeFile},
	{"bench/slo.yaml.tmpl", "bench/slo.yaml", IfAPI, modeFile},
	{"bench/scenario.yaml.tmpl", "bench/scenario.yaml", IfAPI, modeFile},
	{"bench/loadtest.sh.tmpl", "bench/loadtest.sh", IfAPI, modeExec},
	{"bench/loadgen/main.go.tmpl", "cmd/loadgen/main.go", IfAPI, modeFile},
	{"bench/loadgen/main_test.go.tmpl", "cmd/loadgen/main_test.go", IfAPI, modeFile},
	{"bench/loadtest/loadtest.go.tmpl", "internal/loadtest/loadtest.go", IfAPI, modeFile},
	{"bench/loadtest/loadtest_test.go.tmpl", "internal/loadtest/loadtest_test.go", IfAPI, modeFile},
	{"bench/loadtest/target.go.tmpl", "internal/loadtest/target.go", IfAPI, modeFile},
	{"bench/loadtest/target_http.go.tmpl", "internal/loadtest/target_http.go", IfHTTP, modeFile},
	{"bench/loadtest/target_http_test.go.tmpl", "internal/loadtest/target_http_test.go", IfHTTP, modeFile},
	{"bench/loadtest/target_grpc.go.tmpl", "internal/loadtest/target_grpc.go", IfGRPC, modeFile},
	{"bench/loadtest/target_grpc_test.go.tmpl", "internal/loadtest/target_grpc_test.go", IfGRPC, modeFile},
	{"bench/loadtest/scenario.go.tmpl", "internal/loadtest/scenario.go", IfAPI, modeFile},
	{"bench/loadtest/slo.go.tmpl", "internal/loadtest/slo.go", IfAPI, modeFile},
	{"bench/loadtest/server.go.tmpl", "internal/loadtest/server.go", IfAPI, modeFile},
	{"bench/loadtest/server_test.go.tmpl", "internal/loadtest/server_test.go", IfAPI, modeFile},
	{"bench/loadtest/report.go.tmpl", "internal/loadtest/report.go", IfAPI, modeFile},
	{"bench/loadtest/report_test.go.tmpl", "internal/loadtest/report_test.go", IfAPI, modeFile},
	{"bench/cmd/loadtest.go.tmpl", "cmd/{{.Name}}/loadtest.go", IfAPI, modeFile},
	{"bench/cmd/loadtest_slow.go.tmpl", "cmd/{{.Name}}/loadtest_slow.go", IfAPI, modeFile},
	{"bench/slow/slow.go.tmpl", "internal/slow/slow.go", IfAPI, modeFile},
	{"bench/slow/slow_test.go.tmpl", "internal/slow/slow_test.go", IfAPI, modeFile},
	{"bench/slow/http.go.tmpl", "internal/slow/http.go", IfHTTP, modeFile},
	{"bench/slow/grpc.go.tmpl", "internal/slow/grpc.go", IfGRPC, modeFile},

	// Deployment: container, Kubernetes (kustomize: a base every cluster
	// can apply, and an overlay for the Prometheus Operator's CRDs),
	// compose and host tuning.
	{"deploy/docker/Dockerfile.tmpl", "Dockerfile", IfDocker, modeFile},
	{"deploy/docker/dockerignore.tmpl", ".dockerignore", IfDocker, modeFile},

	{"deploy/k8s/base/kustomization.yaml.tmpl", "deploy/k8s/base/kustomization.yaml", IfK8s, modeFile},
	{"deploy/k8s/base/config.env.tmpl", "deploy/k8s/base/config.env", IfK8s, modeFile},
	{"deploy/k8s/base/deployment.yaml.tmpl", "deploy/k8s/base/deployment.yaml", IfK8s, modeFile},
	{"deploy/k8s/base/service.yaml.tmpl", "deploy/k8s/base/service.yaml", IfK8s, modeFile},
	{"deploy/k8s/base/hpa.yaml.tmpl", "deploy/k8s/base/hpa.yaml", IfK8s, modeFile},
	{"deploy/k8s/base/pdb.yaml.tmpl", "deploy/k8s/base/pdb.yaml", IfK8s, modeFile},
	{"deploy/k8s/base/networkpolicy.yaml.tmpl", "deploy/k8s/base/networkpolicy.yaml", IfK8s, modeFile},
	{"deploy/k8s/monitoring/kustomization.yaml.tmpl", "deploy/k8s/monitoring/kustomization.yaml", IfK8s, modeFile},
	{"deploy/k8s/monitoring/servicemonitor.yaml.tmpl", "deploy/k8s/monitoring/servicemonitor.yaml", IfK8s, modeFile},
	{"deploy/k8s/monitoring/prometheusrule.yaml.tmpl", "deploy/k8s/monitoring/prometheusrule.yaml", IfK8s, modeFile},

	// Alerting and recording rules and the dashboard, computed from the
	// project's SLOs. The dashboard comes with the rules, to import into any
	// Grafana; compose also provisions it into its own.
	{"deploy/prometheus/rules.yaml.tmpl", "deploy/prometheus/rules.yaml", IfMonitoring, modeFile},
	{"deploy/prometheus/rules_test.yaml.tmpl", "deploy/prometheus/rules_test.yaml", IfMonitoring, modeFile},
	{"deploy/grafana/dashboard.json.tmpl", "deploy/grafana/{{.Name}}.json", IfMonitoring, modeFile},
	{"deploy/grafana/datasource.yaml.tmpl", "deploy/grafana/provisioning/datasources/prometheus.yaml", IfCompose, modeFile},
	{"deploy/grafana/dashboards.yaml.tmpl", "deploy/grafana/provisioning/dashboards/{{.Name}}.yaml", IfCompose, modeFile},

	{"deploy/compose/docker-compose.yaml.tmpl", "docker-compose.yaml", IfCompose, modeFile},
	{"deploy/compose/prometheus.yml.tmpl", "deploy/prometheus/prometheus.yml", IfCompose, modeFile},

	{"deploy/sysctl/sysctl.conf.tmpl", "deploy/sysctl/99-{{.Name}}.conf", IfSysctl, modeFile},
	{"deploy/sysctl/tune.sh.tmpl", "deploy/sysctl/tune.sh", IfSysctl, modeExec},

	{"deploy/systemd/service.tmpl", "deploy/systemd/{{.Name}}.service", IfSystemd, modeFile},
}
