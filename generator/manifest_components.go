package generator

// componentManifest lists the performance components: cache, pools, load
// shedding, balancing and telemetry. Each is a small internal package of the
// generated service with its own tests and benchmarks.
var componentManifest = []Entry{
	// The items Service's own tests cover what the components add to it:
	// cache-aside reads and the bounded batch get.
	{"service/internal/items/service_test.go.tmpl", "internal/items/service_test.go", Always, modeFile},
	{"service/internal/config/settings_test.go.tmpl", "internal/config/settings_test.go", Always, modeFile},
	{"service/cmd/components_test.go.tmpl", "cmd/{{.Name}}/components_test.go", IfHTTP, modeFile},
	{"service/internal/httpapi/perf_test.go.tmpl", "internal/httpapi/perf_test.go", IfHTTP, modeFile},
	{"service/internal/counter/counter.go.tmpl", "internal/counter/counter.go", Always, modeFile},
	{"service/internal/counter/counter_test.go.tmpl", "internal/counter/counter_test.go", Always, modeFile},
	{"service/internal/cache/cache.go.tmpl", "internal/cache/cache.go", IfCache, modeFile},
	{"service/internal/cache/cache_test.go.tmpl", "internal/cache/cache_test.go", IfCache, modeFile},
	{"service/internal/pool/pool.go.tmpl", "internal/pool/pool.go", Always, modeFile},
	{"service/internal/pool/buffers.go.tmpl", "internal/pool/buffers.go", Always, modeFile},
	{"service/internal/pool/pool_test.go.tmpl", "internal/pool/pool_test.go", Always, modeFile},
	{"service/internal/limiter/limiter.go.tmpl", "internal/limiter/limiter.go", Always, modeFile},
	{"service/internal/limiter/limiter_test.go.tmpl", "internal/limiter/limiter_test.go", Always, modeFile},
	{"service/internal/connlimit/connlimit.go.tmpl", "internal/connlimit/connlimit.go", IfHTTP, modeFile},
	{"service/internal/connlimit/connlimit_test.go.tmpl", "internal/connlimit/connlimit_test.go", IfHTTP, modeFile},
	{"service/internal/httpclient/httpclient.go.tmpl", "internal/httpclient/httpclient.go", Always, modeFile},
	{"service/internal/httpclient/httpclient_test.go.tmpl", "internal/httpclient/httpclient_test.go", Always, modeFile},
	{"service/internal/lb/lb.go.tmpl", "internal/lb/lb.go", Always, modeFile},
	{"service/internal/lb/lb_test.go.tmpl", "internal/lb/lb_test.go", Always, modeFile},
	{"service/internal/memstats/memstats.go.tmpl", "internal/memstats/memstats.go", Always, modeFile},
	{"service/internal/memstats/memlimit.go.tmpl", "internal/memstats/memlimit.go", Always, modeFile},
	{"service/internal/memstats/memstats_test.go.tmpl", "internal/memstats/memstats_test.go", Always, modeFile},
}
