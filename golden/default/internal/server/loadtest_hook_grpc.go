//go:build !loadtest_slow

package server

import "google.golang.org/grpc"

// loadTestUnaryHooks returns no interceptors, so a normal build's gRPC chain
// is unchanged. A binary built with -tags loadtest_slow gets the version in
// loadtest_hook_grpc_slow.go, which delays every call.
func loadTestUnaryHooks() []grpc.UnaryServerInterceptor { return nil }
