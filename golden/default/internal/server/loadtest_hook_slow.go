//go:build loadtest_slow

package server

import (
	"net/http"
	"os"
	"time"

	"example.com/demo/internal/config"
)

// slowDelayEnv sets how long every public request is delayed.
const slowDelayEnv = config.EnvPrefix + "LOADTEST_DELAY"

// loadTestHook delays every public request by $DEMO_LOADTEST_DELAY
// (default 200ms). It exists only in binaries built with -tags loadtest_slow,
// which `make loadtest LOADTEST_SLOW=150ms` builds to check that a slow
// service fails the load test with the missed objective named.
func loadTestHook(next http.Handler) http.Handler {
	delay, err := time.ParseDuration(os.Getenv(slowDelayEnv))
	if err != nil || delay <= 0 {
		delay = 200 * time.Millisecond
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
			next.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	})
}
