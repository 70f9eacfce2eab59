package templatedir

import (
	"fmt"
	"io"
	"io/fs"

	"golang.org/x/mod/sumdb/dirhash"
)

// Sum returns the checksum of every file in d (the h1: hash go.sum uses for
// a module's tree), skipping a .git directory. The lock file records it, so
// that perfgen sync knows whether the directory still renders what it
// rendered last.
func (d *Dir) Sum() (string, error) {
	var files []string
	err := fs.WalkDir(d.FS, ".", func(p string, e fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case e.IsDir() && e.Name() == ".git":
			return fs.SkipDir
		case e.Type().IsRegular():
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("template directory %s: %w", d.Path, err)
	}
	sum, err := dirhash.Hash1(files, func(p string) (io.ReadCloser, error) { return d.FS.Open(p) })
	if err != nil {
		return "", fmt.Errorf("template directory %s: %w", d.Path, err)
	}
	return sum, nil
}
