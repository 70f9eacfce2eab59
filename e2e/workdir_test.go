//go:build unix

package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// stableDir returns an empty directory at a path that is the same in every
// run: $TMPDIR/perfgen-e2e/NAME-N, N the lowest slot that no other test, in
// this process or another, holds. The test holds the slot until it ends,
// when the directory is emptied.
//
// The path matters because the tools' caches key on it: golangci-lint's and
// staticcheck's per-package results name each file by its absolute path,
// and go test caches a result only if the files the test opened are the
// same, path included. A project checked in a fresh t.TempDir every time
// misses those caches in every run and in every option combination; checked
// at a stable path, a package whose content did not change is not
// analysed again. Two runs on one machine (two clones, two workers) take
// different slots, so neither writes over the other's project.
func stableDir(t *testing.T, name string) string {
	t.Helper()
	root := filepath.Join(os.TempDir(), "perfgen-e2e")
	require.NoError(t, os.MkdirAll(root, 0o755))
	for n := 0; ; n++ {
		dir := filepath.Join(root, fmt.Sprintf("%s-%d", name, n))
		lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
		require.NoError(t, err)
		// flock locks belong to the open file, so a slot held by another
		// goroutine of this process is as busy as one held by another
		// process; the kernel releases it if the process dies.
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			lock.Close()
			continue
		}
		require.NoError(t, err, "lock %s", lock.Name())
		require.NoError(t, os.RemoveAll(dir), "empty the slot %s", dir)
		require.NoError(t, os.Mkdir(dir, 0o755))
		t.Cleanup(func() {
			// Go's module cache is read-only; nothing in the slot is.
			if err := os.RemoveAll(dir); err != nil {
				t.Errorf("empty the slot %s: %v", dir, err)
			}
			lock.Close()
		})
		return dir
	}
}
