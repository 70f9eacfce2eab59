package generator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Op is what writing, or syncing, does to one file.
type Op int

// The operations a Plan can hold, and the ones perfgen sync reports besides.
const (
	// Create writes a file that does not exist yet.
	Create Op = iota
	// Replace overwrites an existing file whose content or mode differs.
	Replace
	// Keep leaves an existing, identical file untouched.
	Keep
	// Delete removes a file the project no longer has: sync plans it for
	// files a template dropped, and perfgen proto, through Plan.Delete, for
	// generated code whose .proto is gone.
	Delete
	// Merge writes the clean 3-way merge of a file the user edited.
	Merge
	// Conflict writes a 3-way merge with conflict markers.
	Conflict
	// KeepEdited leaves a file that perfgen no longer generates but the
	// user edited.
	KeepEdited
	// KeepDeleted leaves deleted a generated file the user deleted.
	KeepDeleted
)

var opNames = [...]string{
	Create:      "create",
	Replace:     "replace",
	Keep:        "keep",
	Delete:      "delete",
	Merge:       "merge",
	Conflict:    "conflict",
	KeepEdited:  "keep edited",
	KeepDeleted: "keep deleted",
}

func (o Op) String() string {
	if o < 0 || int(o) >= len(opNames) {
		return fmt.Sprintf("Op(%d)", int(o))
	}
	return opNames[o]
}

// Writes reports whether o writes the file.
func (o Op) Writes() bool {
	switch o {
	case Create, Replace, Merge, Conflict:
		return true
	}
	return false
}

// An Action is one file of a Plan and what writing does to it.
type Action struct {
	File File
	Op   Op
}

// A Plan is everything Writer.Apply will do, decided before anything is
// written, so a caller can show it, refuse it, or apply it.
type Plan struct {
	// Root is the project directory.
	Root string
	// Fresh reports that Root does not exist or is an empty directory: the
	// project is built in a temporary directory and renamed into place, so
	// it appears whole or not at all.
	Fresh bool
	// existing reports that Root is an existing (empty) directory, which is
	// kept: it may be someone's working directory.
	existing bool
	// Actions lists every file, sorted by path.
	Actions []Action
	// fsys is the file system the plan was made on.
	fsys FS
}

// Count returns how many actions have operation op.
func (p *Plan) Count(op Op) int {
	n := 0
	for _, a := range p.Actions {
		if a.Op == op {
			n++
		}
	}
	return n
}

// Paths returns the paths of the actions with operation op.
func (p *Plan) Paths(op Op) []string {
	var out []string
	for _, a := range p.Actions {
		if a.Op == op {
			out = append(out, a.File.Path)
		}
	}
	return out
}

// Delete adds the removal of the files at paths, slash-separated and
// relative to the plan's root, keeping the actions sorted by path. Like the
// files PlanWrite plans, each must stay inside the root. A fresh plan has
// nothing to delete, and a path the plan already writes cannot also be
// deleted: both are refused, as mistakes of the caller.
func (p *Plan) Delete(paths ...string) error {
	if len(paths) == 0 {
		return nil
	}
	if p.Fresh {
		return fmt.Errorf("refusing to delete %s: %s is a new project", paths[0], p.Root)
	}
	planned := make(map[string]bool, len(p.Actions))
	for _, a := range p.Actions {
		planned[a.File.Path] = true
	}
	for _, path := range paths {
		if !filepath.IsLocal(filepath.FromSlash(path)) {
			return fmt.Errorf("refusing to delete %s: the path leaves the project root", path)
		}
		if err := checkInside(p.fs(), p.Root, path); err != nil {
			return err
		}
		if planned[path] {
			return fmt.Errorf("refusing to delete %s: the same run writes it", path)
		}
		planned[path] = true
		p.Actions = append(p.Actions, Action{File: File{Path: path}, Op: Delete})
	}
	slices.SortStableFunc(p.Actions, func(a, b Action) int { return strings.Compare(a.File.Path, b.File.Path) })
	return nil
}

// fs returns the file system p was made on.
func (p *Plan) fs() FS {
	if p.fsys == nil {
		return OS{}
	}
	return p.fsys
}

// PlanWrite is Writer.Plan on the operating system's file system.
func PlanWrite(root string, files Files, force bool) (*Plan, error) {
	return Writer{}.Plan(root, files, force)
}

// Plan decides how files will be written under root without changing
// anything. Without force it refuses a root that exists and is not empty, and
// the error lists every file that would be replaced.
func (w Writer) Plan(root string, files Files, force bool) (*Plan, error) {
	fsys := w.fs()
	plan := &Plan{Root: root, fsys: fsys}
	for _, f := range files {
		if !filepath.IsLocal(filepath.FromSlash(f.Path)) {
			return nil, fmt.Errorf("refusing to write %s: the path leaves the project root", f.Path)
		}
	}
	exists, empty, err := inspectRoot(fsys, root)
	if err != nil {
		return nil, err
	}
	plan.Fresh = !exists || empty
	plan.existing = exists
	if plan.Fresh {
		for _, f := range files {
			plan.Actions = append(plan.Actions, Action{File: f, Op: Create})
		}
		return plan, nil
	}
	for _, f := range files {
		if err := checkInside(fsys, root, f.Path); err != nil {
			return nil, err
		}
		op, err := compare(fsys, filepath.Join(root, filepath.FromSlash(f.Path)), f)
		if err != nil {
			return nil, err
		}
		plan.Actions = append(plan.Actions, Action{File: f, Op: op})
	}
	if !force {
		conflicts := plan.Paths(Replace)
		if len(conflicts) == 0 {
			return nil, fmt.Errorf("target directory %s exists and is not empty; use --force to write into it", root)
		}
		return nil, fmt.Errorf("target directory %s exists and is not empty; use --force to replace %s: %s",
			root, Count(len(conflicts), "file"), strings.Join(conflicts, ", "))
	}
	return plan, nil
}

// CheckOutputDir reports whether root can hold a new project: it is not a
// file, no parent is a file, and unless force is set it does not exist or is
// empty. It lets a prompt reject a directory before anything is rendered;
// PlanWrite makes the same checks and also lists the files it would replace.
func CheckOutputDir(root string, force bool) error { return Writer{}.CheckOutputDir(root, force) }

// CheckOutputDir is the package's CheckOutputDir on w's file system.
func (w Writer) CheckOutputDir(root string, force bool) error {
	exists, empty, err := inspectRoot(w.fs(), root)
	if err != nil {
		return err
	}
	if exists && !empty && !force {
		return fmt.Errorf("target directory %s exists and is not empty; choose another directory or use --force to write into it", root)
	}
	return nil
}

// inspectRoot reports whether the project directory root exists and is
// empty, and refuses a root that is, or runs through, a file.
func inspectRoot(fsys FS, root string) (exists, empty bool, err error) {
	info, err := fsys.Stat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, true, nil
	case errors.Is(err, syscall.ENOTDIR):
		return false, false, fmt.Errorf("output directory %s cannot be created: %s is a file, not a directory; choose another --output", root, fileAncestor(fsys, root))
	case err != nil:
		return false, false, fmt.Errorf("output directory %s: %w; choose another --output", root, err)
	case !info.IsDir():
		return false, false, fmt.Errorf("output path %s is a file, not a directory; choose another --output", root)
	}
	entries, err := fsys.ReadDir(root)
	if err != nil {
		return false, false, fmt.Errorf("output directory %s: %w", root, err)
	}
	return true, len(entries) == 0, nil
}

// fileAncestor returns the nearest ancestor of path that exists, which for a
// path that fails with ENOTDIR is the file in the way.
func fileAncestor(fsys FS, path string) string {
	for d := filepath.Dir(path); ; d = filepath.Dir(d) {
		if _, err := fsys.Stat(d); err == nil || filepath.Dir(d) == d {
			return d
		}
	}
}

// compare decides what writing f over the file at name does.
func compare(fsys FS, name string, f File) (Op, error) {
	info, err := fsys.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return Create, nil
	}
	if err != nil {
		return 0, fmt.Errorf("inspect %s: %w", name, err)
	}
	if !info.Mode().IsRegular() {
		return 0, fmt.Errorf("%s exists and is not a regular file; move it away and retry", name)
	}
	old, err := fsys.ReadFile(name)
	if err != nil {
		return 0, fmt.Errorf("inspect %s: %w", name, err)
	}
	if bytes.Equal(old, f.Content) && info.Mode().Perm() == f.Mode.Perm() {
		return Keep, nil
	}
	return Replace, nil
}

// FS is the file system a Writer, and perfgen sync, read and change: every
// file operation of planning and writing goes through it. OS is the real
// one; tests inject faults through their own.
type FS interface {
	Stat(name string) (fs.FileInfo, error)
	Lstat(name string) (fs.FileInfo, error)
	ReadFile(name string) ([]byte, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	EvalSymlinks(path string) (string, error)

	MkdirAll(name string, perm fs.FileMode) error
	MkdirTemp(dir, pattern string) (string, error)
	WriteFile(name string, data []byte, perm fs.FileMode) error
	Chmod(name string, mode fs.FileMode) error
	Rename(oldpath, newpath string) error
	Remove(name string) error
	RemoveAll(name string) error
	Glob(pattern string) ([]string, error)
}

// OS is the operating system's file system.
type OS struct{}

// Stat calls os.Stat.
func (OS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// Lstat calls os.Lstat.
func (OS) Lstat(name string) (fs.FileInfo, error) { return os.Lstat(name) }

// ReadFile calls os.ReadFile.
func (OS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// ReadDir calls os.ReadDir.
func (OS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }

// EvalSymlinks calls filepath.EvalSymlinks.
func (OS) EvalSymlinks(path string) (string, error) { return filepath.EvalSymlinks(path) }

// MkdirAll calls os.MkdirAll.
func (OS) MkdirAll(name string, perm fs.FileMode) error { return os.MkdirAll(name, perm) }

// MkdirTemp calls os.MkdirTemp.
func (OS) MkdirTemp(dir, pattern string) (string, error) { return os.MkdirTemp(dir, pattern) }

// WriteFile calls os.WriteFile.
func (OS) WriteFile(name string, data []byte, perm fs.FileMode) error {
	return os.WriteFile(name, data, perm)
}

// Chmod calls os.Chmod.
func (OS) Chmod(name string, mode fs.FileMode) error { return os.Chmod(name, mode) }

// Rename calls os.Rename.
func (OS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// Remove calls os.Remove.
func (OS) Remove(name string) error { return os.Remove(name) }

// RemoveAll calls os.RemoveAll.
func (OS) RemoveAll(name string) error { return os.RemoveAll(name) }

// Glob calls filepath.Glob.
func (OS) Glob(pattern string) ([]string, error) { return filepath.Glob(pattern) }

// A Writer plans and applies writes on a file system.
type Writer struct {
	// FS is the file system; nil is OS.
	FS FS
}

func (w Writer) fs() FS {
	if w.FS == nil {
		return OS{}
	}
	return w.FS
}

// tempPrefix marks perfgen's temporary files and directories. A run killed
// before it could clean up leaves one behind; the next run removes it.
const tempPrefix = ".perfgen-tmp-"

// dirMode is the mode of every directory perfgen creates.
const dirMode fs.FileMode = 0o755

// Apply carries out plan. A fresh project is written into a temporary
// directory beside its root and renamed into place; files of an existing
// project are each written to a temporary file and renamed over the old one,
// and identical files are not touched. On error or cancellation nothing
// half-written remains.
func (w Writer) Apply(ctx context.Context, plan *Plan) error {
	fsys := w.fs()
	root := filepath.Clean(plan.Root)
	if plan.Fresh {
		return w.applyFresh(ctx, fsys, root, plan)
	}
	return w.applyInPlace(ctx, fsys, root, plan)
}

func (w Writer) applyFresh(ctx context.Context, fsys FS, root string, plan *Plan) (err error) {
	// A new root is built beside itself and renamed into place. An existing
	// empty root is kept, and the tree is built inside it and moved up entry
	// by entry, removing what was moved if anything fails.
	parent := filepath.Dir(root)
	base := filepath.Base(root)
	if plan.existing {
		parent, base = root, ""
	}
	created, err := mkdirParents(fsys, parent)
	if err != nil {
		return fmt.Errorf("create %s: %w; check that the directory is writable or choose another --output", parent, err)
	}
	defer func() {
		if err != nil && created != "" {
			_ = fsys.RemoveAll(created)
		}
	}()
	pattern := tempPrefix + base + "-"
	cleanStale(fsys, filepath.Join(parent, pattern+"*"))
	tmp, err := fsys.MkdirTemp(parent, pattern)
	if err != nil {
		return fmt.Errorf("create a directory in %s: %w; check that it is writable or choose another --output", parent, err)
	}
	defer func() {
		if err != nil {
			_ = fsys.RemoveAll(tmp)
		}
	}()
	if err := fsys.Chmod(tmp, dirMode); err != nil {
		return err
	}
	for _, a := range plan.Actions {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("generation interrupted; nothing was written: %w", err)
		}
		if err := writeFile(fsys, tmp, a.File); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("generation interrupted; nothing was written: %w", err)
	}
	if !plan.existing {
		if err := fsys.Rename(tmp, root); err != nil {
			return fmt.Errorf("move the new project into %s: %w", root, err)
		}
		return nil
	}
	return moveEntries(fsys, tmp, root, plan)
}

// moveEntries moves the top-level entries of the tree built in tmp into
// root, and on failure removes the ones it moved, leaving root empty again.
func moveEntries(fsys FS, tmp, root string, plan *Plan) error {
	var tops []string
	seen := map[string]bool{}
	for _, a := range plan.Actions {
		top, _, _ := strings.Cut(a.File.Path, "/")
		if !seen[top] {
			seen[top] = true
			tops = append(tops, top)
		}
	}
	for i, top := range tops {
		if err := fsys.Rename(filepath.Join(tmp, top), filepath.Join(root, top)); err != nil {
			for _, moved := range tops[:i] {
				_ = fsys.RemoveAll(filepath.Join(root, moved))
			}
			return fmt.Errorf("move the new project into %s: %w", root, err)
		}
	}
	return fsys.Remove(tmp)
}

func (w Writer) applyInPlace(ctx context.Context, fsys FS, root string, plan *Plan) error {
	for _, a := range plan.Actions {
		if !a.Op.Writes() && a.Op != Delete {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("generation interrupted; files written so far are complete: %w", err)
		}
		name := filepath.Join(root, filepath.FromSlash(a.File.Path))
		dir := filepath.Dir(name)
		if a.Op == Delete {
			if err := fsys.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove %s: %w", name, err)
			}
			removeEmptyParents(fsys, root, dir)
			continue
		}
		if err := fsys.MkdirAll(dir, dirMode); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		tmp := filepath.Join(dir, tempPrefix+filepath.Base(name))
		if err := fsys.WriteFile(tmp, a.File.Content, a.File.Mode); err != nil {
			_ = fsys.Remove(tmp)
			return fmt.Errorf("write %s: %w", name, err)
		}
		if err := fsys.Chmod(tmp, a.File.Mode); err != nil {
			_ = fsys.Remove(tmp)
			return fmt.Errorf("write %s: %w", name, err)
		}
		if err := fsys.Rename(tmp, name); err != nil {
			_ = fsys.Remove(tmp)
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// writeFile writes f under dir with exactly f's mode, and its directories
// with exactly dirMode, whatever the umask: the same answers give the same
// tree for every user.
func writeFile(fsys FS, dir string, f File) error {
	name := filepath.Join(dir, filepath.FromSlash(f.Path))
	if err := fsys.MkdirAll(filepath.Dir(name), dirMode); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(name), err)
	}
	for d := filepath.Dir(name); d != dir && d != filepath.Dir(d); d = filepath.Dir(d) {
		if err := fsys.Chmod(d, dirMode); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	if err := fsys.WriteFile(name, f.Content, f.Mode); err != nil {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	if err := fsys.Chmod(name, f.Mode); err != nil {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	return nil
}

// mkdirParents creates dir and any missing parents, and returns the topmost
// directory it created ("" if dir existed), so a failure can remove them.
func mkdirParents(fsys FS, dir string) (string, error) {
	top := ""
	for d := dir; ; d = filepath.Dir(d) {
		_, err := fsys.Stat(d)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			// Only a directory known to be missing may be created, and
			// so removed again on failure.
			return "", err
		}
		top = d
		if filepath.Dir(d) == d {
			break
		}
	}
	if top == "" {
		return "", nil
	}
	return top, fsys.MkdirAll(dir, dirMode)
}

// cleanStale removes temporary directories that an earlier, killed run left.
func cleanStale(fsys FS, pattern string) {
	stale, _ := fsys.Glob(pattern)
	for _, s := range stale {
		_ = fsys.RemoveAll(s)
	}
}
