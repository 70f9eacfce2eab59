// Package slow slows the service down on purpose. Only a binary built with
// -tags loadtest_slow uses it (cmd/shop/loadtest_slow.go), which
// `make loadtest LOADTEST_SLOW=150ms` builds to check that a slow service
// fails the load test with the missed objective named; a normal build
// links none of it.
package slow

import (
	"context"
	"time"

	"example.com/shop/internal/config"
)

// DelayEnv names the variable that sets how long every public request is
// delayed.
const DelayEnv = config.EnvPrefix + "LOADTEST_DELAY"

// defaultDelay is the delay when DelayEnv is unset or invalid.
const defaultDelay = 200 * time.Millisecond

// Delay returns $SHOP_LOADTEST_DELAY as lookup reads it, 200ms when
// unset or invalid.
func Delay(lookup func(string) (string, bool)) time.Duration {
	v, _ := lookup(DelayEnv)
	delay, err := time.ParseDuration(v)
	if err != nil || delay <= 0 {
		return defaultDelay
	}
	return delay
}

// sleep waits for d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
