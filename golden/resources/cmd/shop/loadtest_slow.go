//go:build loadtest_slow

package main

import (
	"example.com/shop/internal/server"
	"example.com/shop/internal/slow"
)

// loadTestOptions delays every public request by $SHOP_LOADTEST_DELAY,
// so the load test can prove it catches a slow service. It exists only in
// binaries built with -tags loadtest_slow.
func loadTestOptions(lookup func(string) (string, bool)) []server.Option {
	d := slow.Delay(lookup)
	return []server.Option{
		server.WithMiddleware(slow.Middleware(d)),
		server.WithUnaryInterceptors(slow.UnaryInterceptor(d)),
	}
}
