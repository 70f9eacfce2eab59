package generator

// hardeningManifest lists the robustness suite every generated service ships:
// tests that attack the running server the way hostile or broken clients do.
var hardeningManifest = []Entry{
	{"service/internal/server/hardening_test.go.tmpl", "internal/server/hardening_test.go", Always, modeFile},
	{"service/internal/server/hardening_http_test.go.tmpl", "internal/server/hardening_http_test.go", IfHTTP, modeFile},
	{"service/internal/server/hardening_grpc_test.go.tmpl", "internal/server/hardening_grpc_test.go", IfGRPC, modeFile},
}
