package slow

import (
	"net/http"
	"time"
)

// Middleware delays every request by d before next serves it; a request
// whose client goes away first is not served.
func Middleware(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if sleep(r.Context(), d) {
				next.ServeHTTP(w, r)
			}
		})
	}
}
