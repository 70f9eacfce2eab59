//go:build !unix

package e2e

import "os"

// takeSlot is a fresh temporary directory where flock(2) is missing: the
// checks still run, only the caches that key on paths miss.
func takeSlot(name string) (dir string, release func(), err error) {
	dir, err = os.MkdirTemp("", "perfgen-e2e-"+name+"-")
	return dir, func() { _ = os.RemoveAll(dir) }, err
}
