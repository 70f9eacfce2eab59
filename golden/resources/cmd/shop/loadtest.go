//go:build !loadtest_slow

package main

import "example.com/shop/internal/server"

// loadTestOptions returns no server options: a normal build serves at full
// speed. A binary built with -tags loadtest_slow gets the version in
// loadtest_slow.go instead, which slows every request down.
func loadTestOptions(func(string) (string, bool)) []server.Option { return nil }
