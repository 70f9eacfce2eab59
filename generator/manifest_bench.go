package generator

// benchManifest lists the benchmark and load-test harness: the load
// generator, its objectives and request mix, the orchestration script, and
// the build-tagged hook that lets the load test prove it catches a slow
// service. The harness is generated with the HTTP API, which its slow hook
// and default checks use; with gRPC as well it also drives the gRPC API.
var benchManifest = []Entry{
	{"bench/README.md.tmpl", "bench/README.md", IfHTTP, modeFile},
	{"bench/slo.yaml.tmpl", "bench/slo.yaml", IfHTTP, modeFile},
	{"bench/scenario.yaml.tmpl", "bench/scenario.yaml", IfHTTP, modeFile},
	{"bench/loadtest.sh.tmpl", "bench/loadtest.sh", IfHTTP, modeExec},
	{"bench/loadgen/main.go.tmpl", "cmd/loadgen/main.go", IfHTTP, modeFile},
	{"bench/loadgen/main_test.go.tmpl", "cmd/loadgen/main_test.go", IfHTTP, modeFile},
	{"bench/loadtest/loadtest.go.tmpl", "internal/loadtest/loadtest.go", IfHTTP, modeFile},
	{"bench/loadtest/loadtest_test.go.tmpl", "internal/loadtest/loadtest_test.go", IfHTTP, modeFile},
	{"bench/loadtest/target.go.tmpl", "internal/loadtest/target.go", IfHTTP, modeFile},
	{"bench/loadtest/target_grpc.go.tmpl", "internal/loadtest/target_grpc.go", All(IfHTTP, IfGRPC), modeFile},
	{"bench/loadtest/target_grpc_test.go.tmpl", "internal/loadtest/target_grpc_test.go", All(IfHTTP, IfGRPC), modeFile},
	{"bench/loadtest/scenario.go.tmpl", "internal/loadtest/scenario.go", IfHTTP, modeFile},
	{"bench/loadtest/slo.go.tmpl", "internal/loadtest/slo.go", IfHTTP, modeFile},
	{"bench/loadtest/server.go.tmpl", "internal/loadtest/server.go", IfHTTP, modeFile},
	{"bench/loadtest/server_test.go.tmpl", "internal/loadtest/server_test.go", IfHTTP, modeFile},
	{"bench/loadtest/report.go.tmpl", "internal/loadtest/report.go", IfHTTP, modeFile},
	{"bench/loadtest/report_test.go.tmpl", "internal/loadtest/report_test.go", IfHTTP, modeFile},
	{"bench/server/loadtest_hook.go.tmpl", "internal/server/loadtest_hook.go", IfHTTP, modeFile},
	{"bench/server/loadtest_hook_slow.go.tmpl", "internal/server/loadtest_hook_slow.go", IfHTTP, modeFile},
	{"bench/server/loadtest_hook_grpc.go.tmpl", "internal/server/loadtest_hook_grpc.go", IfGRPC, modeFile},
	{"bench/server/loadtest_hook_grpc_slow.go.tmpl", "internal/server/loadtest_hook_grpc_slow.go", IfGRPC, modeFile},
	{"bench/server/loadtest_delay_slow.go.tmpl", "internal/server/loadtest_delay_slow.go", Always, modeFile},
}
