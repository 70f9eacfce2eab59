//go:build loadtest_slow

package server

import (
	"context"
	"os"
	"time"

	"example.com/minimal/internal/config"
)

// slowDelayEnv sets how long every public request is delayed.
const slowDelayEnv = config.EnvPrefix + "LOADTEST_DELAY"

// loadTestDelay is $MINIMAL_LOADTEST_DELAY, 200ms when unset or invalid.
// It exists only in binaries built with -tags loadtest_slow, which
// `make loadtest LOADTEST_SLOW=150ms` builds to check that a slow service
// fails the load test with the missed objective named.
func loadTestDelay() time.Duration {
	delay, err := time.ParseDuration(os.Getenv(slowDelayEnv))
	if err != nil || delay <= 0 {
		return 200 * time.Millisecond
	}
	return delay
}

// sleepCtx waits for d or until ctx ends, and reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
