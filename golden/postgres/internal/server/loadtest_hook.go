//go:build !loadtest_slow

package server

import "net/http"

// loadTestHook returns the public handler unchanged. A binary built with
// -tags loadtest_slow gets the version in loadtest_hook_slow.go instead,
// which delays every request so the load test can prove it catches a slow
// service; nothing of it is compiled into a normal build.
func loadTestHook(next http.Handler) http.Handler { return next }
