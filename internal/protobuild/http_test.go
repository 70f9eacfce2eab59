package protobuild_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/internal/protobuild"
)

// httpRoot is an import root with HTTP bindings of every supported kind,
// and the items API of a generated project.
const httpRoot = "testdata/http/api"

func TestGenerateWritesHTTPFiles(t *testing.T) {
	files, err := protobuild.Generate(readSources(t, httpRoot))
	require.NoError(t, err)
	got := byPath(files)
	for _, p := range []string{"shop/v1/shop_http.pb.go", "shop/v1/money_http.pb.go", "items/v1/items_http.pb.go"} {
		require.Contains(t, got, p)
		source, ok := protobuild.GeneratedFrom([]byte(got[p]))
		require.True(t, ok, "%s is not recognised as generated", p)
		assert.Contains(t, protobuild.OutputPaths(source), p)
	}
	shop := got["shop/v1/shop_http.pb.go"]
	for _, want := range []string{
		"func RegisterShopHTTP(mux *http.ServeMux, srv StrictShopServer, opts ShopHTTPOptions) {",
		`h.handle(mux, "GET /v1/shelves/{shelf}/products/{id}", "GetProduct", h.getProduct1)`,
		`h.handle(mux, "POST /v1/products/{id}/stock:add", "RestockProduct", h.restockProduct)`,
		"func (x *Product) AppendJSON(b []byte) []byte {",
		"func (x *Product_Dimensions) UnmarshalJSON(data []byte) error {",
		`case "displayName", "display_name":`,
		"d := jsonDecoder{data: data}",
	} {
		assert.Contains(t, shop, want)
	}
	assert.NotContains(t, shop, "Ping", "a method without an HTTP binding gets no route")
	// The runtime the package's files use is written once, beside them.
	for _, dir := range []string{"shop/v1", "items/v1"} {
		rt := got[dir+"/"+protobuild.RuntimeFile]
		require.NotEmpty(t, rt, "%s has no %s", dir, protobuild.RuntimeFile)
		assert.Contains(t, rt, "type jsonDecoder struct {")
		assert.Contains(t, rt, "func httpWriteError(")
		source, ok := protobuild.GeneratedFrom([]byte(rt))
		require.True(t, ok, "the runtime of %s is not recognised as generated", dir)
		assert.Contains(t, protobuild.OutputPaths(source), dir+"/"+protobuild.RuntimeFile)
	}
	for p, src := range got {
		if strings.HasSuffix(p, "_http.pb.go") {
			assert.NotRegexp(t, `(?m)^func (json|http)\w+\(|^type json`, src, "%s declares part of the runtime", p)
		}
	}
	assert.Contains(t, got["shop/v1/shop_grpc.pb.go"], "func RegisterStrictShopServer(s grpc.ServiceRegistrar, srv StrictShopServer) {")
	for p := range got {
		assert.NotContains(t, p, "google/api", "the embedded google/api files are never generated")
	}

	again, err := protobuild.Generate(readSources(t, httpRoot))
	require.NoError(t, err)
	require.Equal(t, got, byPath(again), "generation is deterministic")
}

func TestGenerateRejectsUnsupportedBindings(t *testing.T) {
	const header = "syntax = \"proto3\";\npackage p;\nimport \"google/api/annotations.proto\";\noption go_package = \"example.com/p\";\n" +
		"message Req { string id = 1; Sub sub = 2; repeated string tags = 3; double d = 4; }\nmessage Sub { string s = 1; }\n"
	rpc := func(opt string) string {
		return header + "service S {\n  rpc M(Req) returns (Sub) {\n    option (google.api.http) = { " + opt + " };\n  }\n}\n"
	}
	tests := []struct{ name, src, want string }{
		{"custom method", rpc(`custom: { kind: "HEAD" path: "/v1/x" }`), "custom HTTP methods are not supported"},
		{"nested path variable", rpc(`get: "/v1/{sub.s}"`), "names a nested field"},
		{"variable with a pattern", rpc(`get: "/v1/{id=shelves/*}"`), "has a path pattern"},
		{"verb after a variable", rpc(`post: "/v1/{id}:cancel"`), "ServeMux matches only whole-segment variables"},
		{"wildcard", rpc(`get: "/v1/*"`), "is a wildcard"},
		{"unknown variable", rpc(`get: "/v1/{nope}"`), "is not a field of p.Req"},
		{"message variable", rpc(`get: "/v1/{sub}"`), "path variables must be singular"},
		{"float variable", rpc(`get: "/v1/{d}"`), "path variables must be singular"},
		{"GET with a body", rpc(`get: "/v1/x" body: "*"`), "a GET binding cannot have a body"},
		{"body not a message", rpc(`post: "/v1/x" body: "id"`), `body "id" must be a singular message field`},
		{"unknown body", rpc(`post: "/v1/x" body: "nope"`), `body "nope" is not a field of p.Req`},
		{"relative path", rpc(`get: "v1/x"`), "must start with /"},
		{"trailing slash", rpc(`get: "/v1/x/"`), "must not end with /"},
		{"conflicting routes", rpc(`get: "/v1/{id}" additional_bindings { get: "/v1/{tags}" }`), "path variables must be singular"},
		{
			"streaming",
			header + "service S {\n  rpc M(Req) returns (stream Sub) {\n    option (google.api.http) = { get: \"/v1/x\" };\n  }\n}\n",
			"streaming methods have no HTTP binding",
		},
		{
			"same route twice",
			header + "service S {\n  rpc M(Req) returns (Sub) { option (google.api.http) = { get: \"/v1/{id}\" }; }\n  rpc N(Req) returns (Sub) { option (google.api.http) = { get: \"/v1/{id}\" }; }\n}\n",
			"conflicts with another",
		},
		{
			"oneof in a JSON message",
			header + "message O { oneof k { string a = 1; int32 b = 2; } }\nservice S {\n  rpc M(Req) returns (O) { option (google.api.http) = { get: \"/v1/x\" }; }\n}\n",
			"is in a oneof",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := protobuild.Generate(map[string][]byte{"p.proto": []byte(tt.src)})
			var ce *protobuild.CompileError
			require.True(t, errors.As(err, &ce), "want a *CompileError, got %T: %v", err, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Regexp(t, `^p\.proto:\d+:\d+: `, err.Error(), "the error points at the .proto")
		})
	}
}

// TestHTTPBindingsInAModule builds the code generated from httpRoot in a
// temporary module and runs testdata/httpmod's tests in it: every binding
// over HTTP/1.1 and h2c, the JSON codec against protojson, and the fuzz
// test's seeds. It also checks that the code is vet and staticcheck clean,
// and that a Strict server missing a method does not compile.
func TestHTTPBindingsInAModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gRPC in a temporary module; skipped with -short")
	}
	goTool := need(t, "go", "https://go.dev/dl/")
	mod := t.TempDir()
	files, err := protobuild.Generate(readSources(t, httpRoot))
	require.NoError(t, err)
	for _, f := range files {
		name := filepath.Join(mod, "api", filepath.FromSlash(f.Path))
		require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
		require.NoError(t, os.WriteFile(name, f.Content, 0o644))
	}
	test, err := os.ReadFile("testdata/httpmod/http_test.go")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(mod, "http_test.go"), test, 0o644))
	gomod := "module example.com/shop\n\ngo 1.25.0\n\nrequire (\n" +
		"\t" + protobuild.GoogleAPIsModule + " " + protobuild.GoogleAPIsModuleVersion + "\n" +
		"\tgoogle.golang.org/grpc v1.85.0\n" +
		"\tgoogle.golang.org/protobuf " + protobufVersion(t) + "\n)\n"
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod), 0o644))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	run := func(tool string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, tool, args...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	mustRun := func(tool string, args ...string) {
		t.Helper()
		out, err := run(tool, args...)
		require.NoError(t, err, "%s %s:\n%s", tool, strings.Join(args, " "), out)
	}
	mustRun(goTool, "mod", "tidy")
	out, err := run(goTool, "list", "-m", protobuild.GoogleAPIsModule)
	require.NoError(t, err, out)
	assert.Equal(t, protobuild.GoogleAPIsModule+" "+protobuild.GoogleAPIsModuleVersion, strings.TrimSpace(out),
		"gRPC requires a newer %s than perfgen pins; raise GoogleAPIsModuleVersion", protobuild.GoogleAPIsModule)
	mustRun(goTool, "vet", "./...")
	if staticcheck, err := exec.LookPath("staticcheck"); err == nil {
		mustRun(staticcheck, "./...")
	} else {
		t.Log("staticcheck is not on PATH; make tools installs it")
	}
	mustRun(goTool, "test", "-count=1", "-timeout=5m", "./...")
	if os.Getenv("PERFGEN_JSON_BENCH") != "" {
		// The table in docs/performance.md: PERFGEN_JSON_BENCH=1 go test
		// ./internal/protobuild -run TestHTTPBindingsInAModule -v
		out, err := run(goTool, "test", "-run=^$", "-bench=.", "-benchmem", "-count=5", ".")
		require.NoError(t, err, out)
		t.Log("\n" + out)
	}

	t.Run("a Strict server missing a method does not compile", func(t *testing.T) {
		dir := filepath.Join(mod, "missing")
		require.NoError(t, os.MkdirAll(dir, 0o755))
		src := `package missing

import (
	"context"

	"google.golang.org/grpc"

	shopv1 "example.com/shop/api/shop/v1"
)

// server implements every method of shop.v1.Shop but RestockProduct.
type server struct{}

func (server) GetProduct(context.Context, *shopv1.GetProductRequest) (*shopv1.Product, error) { return nil, nil }
func (server) ListProducts(context.Context, *shopv1.ListProductsRequest) (*shopv1.ListProductsResponse, error) {
	return nil, nil
}
func (server) CreateProduct(context.Context, *shopv1.Product) (*shopv1.Product, error) { return nil, nil }
func (server) UpdateProduct(context.Context, *shopv1.UpdateProductRequest) (*shopv1.Product, error) {
	return nil, nil
}
func (server) DeleteProduct(context.Context, *shopv1.DeleteProductRequest) (*shopv1.DeleteProductResponse, error) {
	return nil, nil
}
func (server) Ping(context.Context, *shopv1.DeleteProductResponse) (*shopv1.DeleteProductResponse, error) {
	return nil, nil
}

func Register(s *grpc.Server) { shopv1.RegisterStrictShopServer(s, server{}) }
`
		require.NoError(t, os.WriteFile(filepath.Join(dir, "missing.go"), []byte(src), 0o644))
		out, err := run(goTool, "build", "./missing")
		require.Error(t, err, "an implementation without RestockProduct compiled")
		assert.Contains(t, out, "does not implement shopv1.StrictShopServer (missing method RestockProduct)")
	})
}

// TestGenerateHTTPOnly checks the generation for a service without gRPC:
// no stubs, and nothing generated imports gRPC, while the HTTP file
// declares the Strict interface its handlers call.
func TestGenerateHTTPOnly(t *testing.T) {
	src := "syntax = \"proto3\";\npackage p.v1;\nimport \"google/api/annotations.proto\";\noption go_package = \"example.com/p/v1;pv1\";\n" +
		"message Req { string id = 1; string name = 2; }\nmessage Thing { string id = 1; string name = 2; }\n" +
		"service Things {\n" +
		"  rpc GetThing(Req) returns (Thing) { option (google.api.http) = { get: \"/v1/things/{id}\" }; }\n" +
		"  rpc UpdateThing(Req) returns (Thing) { option (google.api.http) = { put: \"/v1/things/{id}\" body: \"*\" }; }\n" +
		"}\n"
	files, err := protobuild.Options{HTTPOnly: true}.Generate(map[string][]byte{"p/v1/p.proto": []byte(src)})
	require.NoError(t, err)
	got := byPath(files)
	assert.NotContains(t, got, "p/v1/p_grpc.pb.go", "no gRPC stubs without gRPC")
	require.Contains(t, got, "p/v1/p_http.pb.go")
	for p, content := range got {
		assert.NotContains(t, content, "google.golang.org/grpc", "%s imports gRPC", p)
	}
	httpFile := got["p/v1/p_http.pb.go"]
	for _, want := range []string{
		"type StrictThingsServer interface {",
		"GetThing(context.Context, *Req) (*Thing, error)",
		"UpdateThing(context.Context, *Req) (*Thing, error)",
		"func RegisterThingsHTTP(mux *http.ServeMux, srv StrictThingsServer, opts ThingsHTTPOptions) {",
		"CanonicalCode() uint32",
	} {
		assert.Contains(t, httpFile, want)
	}

	withGRPC, err := protobuild.Generate(map[string][]byte{"p/v1/p.proto": []byte(src)})
	require.NoError(t, err)
	assert.Contains(t, byPath(withGRPC), "p/v1/p_grpc.pb.go", "the default still writes gRPC stubs")
	assert.NotContains(t, byPath(withGRPC)["p/v1/p_http.pb.go"], "type StrictThingsServer interface", "with gRPC the stubs declare the interface")
}

func TestGenerateHTTPOnlyRejectsMethodsOnlyGRPCServes(t *testing.T) {
	const header = "syntax = \"proto3\";\npackage p;\nimport \"google/api/annotations.proto\";\noption go_package = \"example.com/p\";\n" +
		"message Req { string id = 1; }\nmessage Res { string id = 1; }\n"
	tests := []struct{ name, src, want string }{
		{
			"streaming",
			header + "service S {\n  rpc M(Req) returns (stream Res);\n}\n",
			"method p.S.M: streaming needs gRPC",
		},
		{
			"no binding",
			header + "service S {\n  rpc M(Req) returns (Res) { option (google.api.http) = { get: \"/v1/{id}\" }; }\n  rpc N(Req) returns (Res);\n}\n",
			"method p.S.N: no google.api.http option, and without gRPC (--grpc=false) nothing would serve the method",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := protobuild.Options{HTTPOnly: true}.Generate(map[string][]byte{"p.proto": []byte(tt.src)})
			var ce *protobuild.CompileError
			require.True(t, errors.As(err, &ce), "want a *CompileError, got %T: %v", err, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Regexp(t, `^p\.proto:\d+:\d+: `, err.Error(), "the error points at the .proto")
			_, err = protobuild.Generate(map[string][]byte{"p.proto": []byte(tt.src)})
			assert.NoError(t, err, "with gRPC the method is served")
		})
	}
}

// TestGenerateRefusesASourceNamedLikeTheRuntime checks that a .proto whose
// Go code would overwrite its package's RuntimeFile is refused by name.
func TestGenerateRefusesASourceNamedLikeTheRuntime(t *testing.T) {
	src := "syntax = \"proto3\";\npackage p.v1;\nimport \"google/api/annotations.proto\";\noption go_package = \"example.com/p/v1;pv1\";\n" +
		"message Thing { string id = 1; }\n" +
		"service Things { rpc GetThing(Thing) returns (Thing) { option (google.api.http) = { get: \"/v1/things/{id}\" }; } }\n"
	_, err := protobuild.Generate(map[string][]byte{"p/v1/http_runtime.proto": []byte(src)})
	var compileErr *protobuild.CompileError
	require.ErrorAs(t, err, &compileErr)
	assert.Equal(t, "p/v1/http_runtime.proto: its Go code would be p/v1/http_runtime.pb.go, the file of the package's HTTP runtime; rename the .proto", err.Error())
}
