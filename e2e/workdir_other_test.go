//go:build !unix

package e2e

import "testing"

// stableDir is a fresh temporary directory where flock(2) is missing: the
// checks still run, only their caches miss.
func stableDir(t *testing.T, name string) string {
	t.Helper()
	return t.TempDir()
}
