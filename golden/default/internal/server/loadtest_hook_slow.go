//go:build loadtest_slow

package server

import "net/http"

// loadTestHook delays every public HTTP request by loadTestDelay. It
// exists only in binaries built with -tags loadtest_slow.
func loadTestHook(next http.Handler) http.Handler {
	delay := loadTestDelay()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sleepCtx(r.Context(), delay) {
			next.ServeHTTP(w, r)
		}
	})
}
