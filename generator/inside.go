package generator

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// CheckInside refuses to write the slash-separated path p under root when
// an existing directory on the way is a symbolic link that leads outside
// root: writing through it would change files outside the project.
func CheckInside(root, p string) error { return Writer{}.CheckInside(root, p) }

// CheckInside is the package's CheckInside on w's file system.
func (w Writer) CheckInside(root, p string) error { return checkInside(w.fs(), root, p) }

func checkInside(fsys FS, root, p string) error {
	if !filepath.IsLocal(filepath.FromSlash(p)) {
		return fmt.Errorf("refusing to write %s: the path leaves the project root", p)
	}
	realRoot, err := fsys.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", root, err)
	}
	dir := root
	parts := strings.Split(p, "/")
	for _, part := range parts {
		dir = filepath.Join(dir, part)
		info, err := fsys.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("inspect %s: %w", dir, err)
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		target, err := fsys.EvalSymlinks(dir)
		if err != nil {
			return fmt.Errorf("refusing to write %s: %s is a symbolic link that does not resolve (%w); remove it", p, dir, err)
		}
		if rel, err := filepath.Rel(realRoot, target); err != nil || !filepath.IsLocal(rel) {
			return fmt.Errorf("refusing to write %s: %s is a symbolic link to %s, outside the project root; remove the link", p, dir, target)
		}
	}
	return nil
}

// removeEmptyParents removes dir and its parents below root while they are
// empty, so deleting a project's last file in a package leaves no empty
// directory behind.
// The test is on the relative path, not a prefix, so a root of "." (perfgen
// proto's default) works as well as an absolute one.
func removeEmptyParents(fsys FS, root, dir string) {
	for {
		rel, err := filepath.Rel(root, dir)
		if err != nil || rel == "." || !filepath.IsLocal(rel) {
			return
		}
		entries, err := fsys.ReadDir(dir)
		if err != nil || len(entries) > 0 {
			return
		}
		if fsys.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}
