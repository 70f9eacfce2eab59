package slow

import (
	"context"
	"time"

	"google.golang.org/grpc"
)

// UnaryInterceptor delays every unary call by d before its handler runs; a
// call whose client goes away first fails with its context's error.
func UnaryInterceptor(d time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !sleep(ctx, d) {
			return nil, ctx.Err()
		}
		return handler(ctx, req)
	}
}
