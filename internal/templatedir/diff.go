package templatedir

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/internal/textdiff"
)

// Diff writes to w a unified diff from the built-ins, as Export writes them,
// to the directory d: the files d changes and the files it adds. Built-in
// templates d does not have are used as they are and are only counted. It
// reports whether d differs at all.
func Diff(w io.Writer, builtinFS fs.FS, builtin []generator.Entry, d *Dir) (bool, error) {
	exported, err := Export(builtinFS, builtin)
	if err != nil {
		return false, err
	}
	var custom []string
	err = fs.WalkDir(d.FS, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		custom = append(custom, p)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("read template directory %s: %w", d.Path, err)
	}
	differs := false
	for _, p := range custom {
		mine, err := fs.ReadFile(d.FS, p)
		if err != nil {
			return false, err
		}
		var theirs []byte
		from := "built-in/" + p
		if f, ok := exported.Lookup(p); ok {
			theirs = f.Content
		} else {
			from = "/dev/null"
		}
		if bytes.Equal(mine, theirs) {
			continue
		}
		differs = true
		if err := textdiff.Unified(w, from, filepath.ToSlash(filepath.Join(d.Path, p)), theirs, mine); err != nil {
			return false, err
		}
	}
	inherited := 0
	for _, f := range exported {
		if !slices.Contains(custom, f.Path) {
			inherited++
		}
	}
	if inherited > 0 {
		fmt.Fprintf(w, "# %d built-in files are not in %s and are used as they are\n", inherited, d.Path)
	}
	return differs, nil
}
