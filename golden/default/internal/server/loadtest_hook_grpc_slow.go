//go:build loadtest_slow

package server

import (
	"context"

	"google.golang.org/grpc"
)

// loadTestUnaryHooks delays every unary call by loadTestDelay. It exists
// only in binaries built with -tags loadtest_slow.
func loadTestUnaryHooks() []grpc.UnaryServerInterceptor {
	delay := loadTestDelay()
	return []grpc.UnaryServerInterceptor{
		func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			if !sleepCtx(ctx, delay) {
				return nil, ctx.Err()
			}
			return handler(ctx, req)
		},
	}
}
