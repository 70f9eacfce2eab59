package generator

// benchManifest lists the benchmark and load-test harness: the load
// generator, its objectives and request mix, the orchestration script, and
// the build-tagged hooks that let the load test prove it catches a slow
// service. Every service with a public API gets the harness; each target
// and hook comes with the API it drives or slows: h2c and HTTP/1.1 with the
// HTTP API, the generated gRPC client with the gRPC one.
var benchManifest = []Entry{
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
	{"bench/server/loadtest_hook.go.tmpl", "internal/server/loadtest_hook.go", IfHTTP, modeFile},
	{"bench/server/loadtest_hook_slow.go.tmpl", "internal/server/loadtest_hook_slow.go", IfHTTP, modeFile},
	{"bench/server/loadtest_hook_grpc.go.tmpl", "internal/server/loadtest_hook_grpc.go", IfGRPC, modeFile},
	{"bench/server/loadtest_hook_grpc_slow.go.tmpl", "internal/server/loadtest_hook_grpc_slow.go", IfGRPC, modeFile},
	{"bench/server/loadtest_delay_slow.go.tmpl", "internal/server/loadtest_delay_slow.go", IfAPI, modeFile},
}
