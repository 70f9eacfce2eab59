//go:build unix

package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// takeSlot takes an empty directory at a path that is the same in every run:
// $TMPDIR/perfgen-e2e/NAME-N, N the lowest slot that no other test, in this
// process or another, holds. release empties the directory and frees the
// slot.
//
// The path matters because the tools' caches key on it: golangci-lint's and
// staticcheck's per-package results name each file by its absolute path,
// and go test caches a result only if the files the test opened are the
// same, path included. A project checked in a fresh t.TempDir misses those
// caches in every run; checked at a stable path, a package whose content did
// not change since the last combination or the last run is not analysed
// again. Two runs on one machine (two clones, two workers) take different
// slots, so neither writes over the other's project.
func takeSlot(name string) (dir string, release func(), err error) {
	root := filepath.Join(os.TempDir(), "perfgen-e2e")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", nil, err
	}
	for n := 0; ; n++ {
		dir := filepath.Join(root, fmt.Sprintf("%s-%d", name, n))
		lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return "", nil, err
		}
		// flock locks belong to the open file, so a slot held by another
		// goroutine of this process is as busy as one held by another
		// process; the kernel frees it if the process dies.
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			lock.Close()
			continue
		}
		if err == nil {
			err = os.RemoveAll(dir)
		}
		if err == nil {
			err = os.Mkdir(dir, 0o755)
		}
		if err != nil {
			lock.Close()
			return "", nil, fmt.Errorf("take the slot %s: %w", dir, err)
		}
		return dir, func() {
			_ = os.RemoveAll(dir)
			lock.Close()
		}, nil
	}
}
