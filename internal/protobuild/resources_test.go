package protobuild_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/internal/protobuild"
)

// resourceProto is the .proto file perfgen add resource writes for a
// resource called name with a field of every type it offers, required and
// optional, in the package of the project's other files.
func resourceProto(name, msg string) string {
	return `syntax = "proto3";
package shop.v1;
import "google/api/annotations.proto";
import "google/protobuf/timestamp.proto";
option go_package = "example.com/shop/api/proto/shop/v1;shopv1";

service ` + msg + `sService {
  rpc Create` + msg + `(Create` + msg + `Request) returns (` + msg + `) {
    option (google.api.http) = { post: "/v1/` + name + `" body: "*" };
  }
  rpc Get` + msg + `(Get` + msg + `Request) returns (` + msg + `) {
    option (google.api.http) = { get: "/v1/` + name + `/{id}" };
  }
  rpc Update` + msg + `(Update` + msg + `Request) returns (` + msg + `) {
    option (google.api.http) = { put: "/v1/` + name + `/{id}" body: "*" };
  }
}

message ` + msg + ` {
  string id = 1;
  string a_string = 2;
  optional string maybe_string = 3;
  int32 a_int32 = 4;
  optional int32 maybe_int32 = 5;
  int64 a_int64 = 6;
  optional int64 maybe_int64 = 7;
  double a_double = 8;
  optional double maybe_double = 9;
  bool a_bool = 10;
  optional bool maybe_bool = 11;
  google.protobuf.Timestamp a_timestamp = 12;
  google.protobuf.Timestamp maybe_timestamp = 13;
}

message Create` + msg + `Request {
  string a_string = 1;
  optional string maybe_string = 2;
  optional int64 maybe_int64 = 3;
  optional double maybe_double = 4;
  optional bool maybe_bool = 5;
}

message Get` + msg + `Request { string id = 1; }

message Update` + msg + `Request {
  string id = 1;
  string a_string = 2;
  optional string maybe_string = 3;
}
`
}

// TestSeveralServiceFilesInOnePackage generates the .proto files of two
// added resources beside each other in one package, as perfgen add
// resource writes them: each file gets its own HTTP bindings, the package
// one copy of the JSON runtime, and no top-level Go name is declared twice
// in the package; the one OpenAPI document has every service's routes.
func TestSeveralServiceFilesInOnePackage(t *testing.T) {
	files, err := protobuild.Generate(map[string][]byte{
		"shop/v1/orders.proto":     []byte(resourceProto("orders", "Order")),
		"shop/v1/customers.proto":  []byte(resourceProto("customers", "Customer")),
		"shop/v1/line_items.proto": []byte(resourceProto("line-items", "LineItem")),
	})
	require.NoError(t, err)
	got := byPath(files)

	declared := map[string]string{}
	for p, src := range got {
		if !strings.HasSuffix(p, ".go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, src, 0)
		require.NoError(t, err, p)
		for _, d := range f.Decls {
			for _, name := range topLevelNames(d) {
				if prev, dup := declared[name]; dup {
					t.Errorf("%s and %s both declare %s", prev, p, name)
				}
				declared[name] = p
			}
		}
	}
	for _, want := range []string{"RegisterOrdersServiceHTTP", "RegisterCustomersServiceHTTP", "RegisterLineItemsServiceHTTP"} {
		assert.Contains(t, declared, want)
	}
	assert.Equal(t, "shop/v1/"+protobuild.RuntimeFile, declared["jsonDecoder"], "the package's runtime is not in its own file")
	assert.Contains(t, got["shop/v1/"+protobuild.RuntimeFile], "// source: shop/v1/customers.proto\n", "the runtime names the package's first source")

	doc := got[protobuild.OpenAPIFile]
	require.NotEmpty(t, doc, "no OpenAPI document")
	for _, want := range []string{
		`"/v1/orders/{id}":`, `"/v1/customers/{id}":`, `"/v1/line-items":`,
		"shop.v1.Order:", "shop.v1.Customer:", "shop.v1.LineItem:",
		"operationId: \"OrdersService_UpdateOrder\"",
		"# source: shop/v1/customers.proto", "# source: shop/v1/orders.proto",
	} {
		assert.Contains(t, doc, want)
	}
}

// TestOptionalFieldsKeepPresence checks that the codec writes a proto3
// optional field whenever it is set, its zero value included, and a plain
// field only when it is not zero, as the proto3 JSON mapping says.
func TestOptionalFieldsKeepPresence(t *testing.T) {
	files, err := protobuild.Generate(map[string][]byte{"shop/v1/orders.proto": []byte(resourceProto("orders", "Order"))})
	require.NoError(t, err)
	code := byPath(files)["shop/v1/orders_http.pb.go"]
	for _, want := range []string{
		"if x.MaybeString != nil {", "if x.MaybeInt32 != nil {", "if x.MaybeInt64 != nil {",
		"if x.MaybeDouble != nil {", "if x.MaybeBool != nil {", "if x.MaybeTimestamp != nil {",
		`if x.AString != "" {`, "if x.AInt32 != 0 {", "if x.ABool {",
	} {
		assert.Contains(t, code, want)
	}
	// Each decodes from its JSON name and its .proto name.
	for _, want := range []string{`case "maybeString", "maybe_string":`, `case "aTimestamp", "a_timestamp":`, `case "maybeDouble", "maybe_double":`} {
		assert.Contains(t, code, want)
	}
}

// topLevelNames returns the package-level names d declares; methods are
// not package-level.
func topLevelNames(d ast.Decl) []string {
	var out []string
	switch d := d.(type) {
	case *ast.FuncDecl:
		if d.Recv == nil && d.Name.Name != "init" {
			out = append(out, d.Name.Name)
		}
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				out = append(out, s.Name.Name)
			case *ast.ValueSpec:
				for _, n := range s.Names {
					if n.Name != "_" {
						out = append(out, n.Name)
					}
				}
			}
		}
	}
	return out
}
