package generator

// grpcManifest lists the gRPC API: the .proto, its generated code and the gRPC server.
// The Go code generated from the .proto is not listed: Render compiles every
// rendered .proto file and adds that code itself.
var grpcManifest = []Entry{
	{"service/api/proto/items.proto.tmpl", "{{.Proto.Dir}}/{{.Proto.File}}", IfGRPC, modeFile},
	{"service/api/proto/doc.go.tmpl", "{{.Proto.Dir}}/doc.go", IfGRPC, modeFile},
	{"service/internal/grpcapi/grpcapi.go.tmpl", "internal/grpcapi/grpcapi.go", IfGRPC, modeFile},
	{"service/internal/grpcapi/grpcapi_test.go.tmpl", "internal/grpcapi/grpcapi_test.go", IfGRPC, modeFile},
	{"service/internal/metrics/grpc.go.tmpl", "internal/metrics/grpc.go", IfGRPC, modeFile},
	{"service/internal/server/grpc.go.tmpl", "internal/server/grpc.go", IfGRPC, modeFile},
	{"service/internal/server/grpc_test.go.tmpl", "internal/server/grpc_test.go", IfGRPC, modeFile},
}
