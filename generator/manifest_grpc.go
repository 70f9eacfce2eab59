package generator

// grpcManifest lists the gRPC API: the .proto, its generated code and the gRPC server.
var grpcManifest = []Entry{}
