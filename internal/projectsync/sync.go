// Package projectsync re-renders a generated project from its answers and
// applies the change without losing the user's edits: unedited files are
// updated or removed, new files added, and edited files merged three ways
// against the files perfgen generated last time (the base).
//
// The project's lock file (generator.LockFile) tells edited files from
// unedited ones. The base content of an edited file is recovered, in order,
// by re-rendering the answers the lock records (exact whenever the templates
// have not changed since), or from the commit at BaseRef in the project's
// git repository (which survives perfgen upgrades). Both are checked against
// the lock's hash; a file with neither is merged against an empty base, so
// every difference becomes a conflict for the user to resolve.
package projectsync

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/perfgen/perfgen/generator"
)

// A Change is what sync does to one file.
type Change struct {
	Path string
	// Op is one of generator.Create (a file the project did not have),
	// Replace (a file the user never edited), Merge, Conflict, Delete (a
	// file that no longer belongs and was never edited), KeepEdited (one
	// that no longer belongs but was edited) or KeepDeleted (a generated
	// file the user deleted, which stays deleted).
	Op generator.Op
	// Old is the file's current content, nil if it does not exist.
	Old []byte
	// New is the file's content after sync, nil if it is removed or left.
	New []byte
	// Mode is the mode the file is written with.
	Mode fs.FileMode
	// Conflicts counts the conflict blocks of a Conflict.
	Conflicts int
	// Note explains a change to the user.
	Note string
}

// Options configure a sync.
type Options struct {
	// Root is the project directory.
	Root string
	// Templates renders the project.
	Templates *generator.Templates
	// DryRun computes and prints the changes and writes nothing.
	DryRun bool
	// AllowDirty syncs a git working tree with uncommitted changes.
	AllowDirty bool
	// Out receives the report (and, for a dry run, the diff).
	Out io.Writer
	// FS is the file system the writer changes; nil is the real one.
	FS generator.FS
	// Perfgen is the perfgen version the project is to pin as a go tool
	// (generator.Spec.PerfgenVersion); "" keeps the version go.mod pins.
	Perfgen string
	// Answers, when not nil, is the new content of the answers file: the
	// project is rendered from it instead of from the file on disk, and
	// the file is written with it, in the same plan as every other file
	// (perfgen add changes the answers this way).
	Answers []byte
	// RefuseUnrecorded refuses, naming them, files the render writes that
	// exist with other content but that perfgen never generated (the lock
	// does not record them), instead of merging into them; nothing is
	// written. perfgen add sets it unless --force is given.
	RefuseUnrecorded bool
	// Did and Would name what the run does in its summary line, after a
	// run and after a dry run: "synced" and "sync would" when empty.
	Did, Would string
}

// A Result is the outcome of a sync.
type Result struct {
	Changes []Change
	// Notes are warnings about how the sync was done.
	Notes []string
}

// Conflicts returns the paths written with conflict markers.
func (r *Result) Conflicts() []string {
	var out []string
	for _, c := range r.Changes {
		if c.Op == generator.Conflict {
			out = append(out, c.Path)
		}
	}
	return out
}

// ErrConflicts is returned (wrapped) when files were written with conflict
// markers; the command exits non-zero so `go generate` and CI notice.
var ErrConflicts = errors.New("conflicts")

// Sync re-renders the project at opts.Root from its answers and applies the
// change, or with DryRun prints it. It returns the result, and an error
// wrapping ErrConflicts when any file has conflict markers.
func Sync(ctx context.Context, opts Options) (*Result, error) {
	root := opts.Root
	w := generator.Writer{FS: opts.FS}
	fsys := opts.FS
	if fsys == nil {
		fsys = generator.OS{}
	}
	// The previous render pinned the perfgen version go.mod requires; the
	// new one pins this perfgen's, so the merge moves go.mod to it.
	pinned := pinnedPerfgen(fsys, root)
	spec, err := readAnswers(fsys, root, cmp.Or(opts.Perfgen, pinned), opts.Answers)
	if err != nil {
		return nil, err
	}
	lock, err := readLock(fsys, root)
	if err != nil {
		return nil, err
	}
	if lock != nil {
		lock.Answers.PerfgenVersion = pinned
	}
	res := &Result{}
	if lock == nil {
		res.Notes = append(res.Notes, fmt.Sprintf("no %s: every file that differs from perfgen's output counts as edited, and no file is removed", generator.LockFile))
	} else if lock.Templates == generator.OriginCustom && opts.Templates.Origin() != generator.OriginCustom {
		return nil, fmt.Errorf("%s was generated with custom templates (see %s); pass --templates DIR or set PERFGEN_TEMPLATES to the same template directory",
			root, generator.LockFile)
	}

	r, err := findRepo(ctx, root)
	if err != nil {
		return nil, err
	}
	if r == nil {
		res.Notes = append(res.Notes, "not a git repository: sync cannot check for uncommitted work, and the base of edited files comes only from the lock file")
	}

	files, err := opts.Templates.RenderValid(spec)
	if err != nil {
		return nil, fmt.Errorf("render %s from %s: %w", root, generator.AnswersFile, err)
	}
	bases := &baseSource{root: root, repo: r, lock: lock, templates: opts.Templates}
	res.Changes, err = plan(ctx, w, fsys, root, files, lock, bases)
	if err != nil {
		return nil, err
	}
	res.Notes = append(res.Notes, bases.notes...)
	if opts.Answers != nil {
		res.Changes, err = withAnswers(fsys, root, res.Changes, opts.Answers)
		if err != nil {
			return nil, err
		}
	}
	if opts.RefuseUnrecorded {
		if err := refuseUnrecorded(res.Changes, lock); err != nil {
			return nil, err
		}
	}

	// A sync that would change nothing runs on a dirty tree too: `go
	// generate ./...` runs it beside other generators while the user's edits
	// are still uncommitted.
	changesFiles := slices.ContainsFunc(res.Changes, func(c Change) bool { return c.Op.Writes() || c.Op == generator.Delete })
	if r != nil && changesFiles && !opts.AllowDirty && !opts.DryRun {
		dirty, err := r.dirty(ctx, root)
		if err != nil {
			return nil, err
		}
		if len(dirty) > 0 {
			slices.Sort(dirty)
			return nil, fmt.Errorf("uncommitted changes in %s (%s); commit or stash them first so the sync can be reviewed and undone, or pass --allow-dirty",
				root, summarize(dirty))
		}
	}

	if opts.DryRun {
		if err := printDiff(opts.Out, res.Changes); err != nil {
			return nil, err
		}
	} else {
		if err := apply(ctx, w, root, res.Changes); err != nil {
			return nil, err
		}
		if r != nil {
			msg := fmt.Sprintf("perfgen base of %s (template data version %d)", spec.Spec().Name, generator.DataVersion)
			if err := r.recordBase(ctx, root, files, msg); err != nil {
				return nil, fmt.Errorf("the project is synced, but recording the base in git failed: %w; the next sync recovers it from %s while the templates are unchanged", err, generator.LockFile)
			}
		}
	}
	report(opts.Out, res, opts.DryRun, cmp.Or(opts.Did, "synced"), cmp.Or(opts.Would, "sync would"))
	if n := len(res.Conflicts()); n > 0 {
		if opts.DryRun {
			return res, fmt.Errorf("%w: syncing would leave conflict markers in %s: %s", ErrConflicts, generator.Count(n, "file"), strings.Join(res.Conflicts(), ", "))
		}
		return res, fmt.Errorf("%w in %s: %s; resolve the <<<<<<< markers (nothing was lost: your lines and perfgen's are both there), then commit",
			ErrConflicts, generator.Count(n, "file"), strings.Join(res.Conflicts(), ", "))
	}
	return res, nil
}

// RecordBase stores files as the base of the project at root when root is in
// a git repository; `perfgen new` calls it so the first sync has a base even
// after a perfgen upgrade. It does nothing outside a repository.
func RecordBase(ctx context.Context, root string, files generator.Files) error {
	r, err := findRepo(ctx, root)
	if err != nil || r == nil {
		return err
	}
	return r.recordBase(ctx, root, files, "perfgen base")
}

// withAnswers returns changes with the answers file written with answers.
func withAnswers(fsys generator.FS, root string, changes []Change, answers []byte) ([]Change, error) {
	cur, err := readCurrent(fsys, root, generator.AnswersFile)
	if err != nil {
		return nil, err
	}
	changes = slices.DeleteFunc(changes, func(c Change) bool { return c.Path == generator.AnswersFile })
	if bytes.Equal(cur, answers) {
		return changes, nil
	}
	c := Change{Path: generator.AnswersFile, Op: generator.Replace, Old: cur, New: answers, Mode: 0o644}
	if cur == nil {
		c.Op = generator.Create
	}
	changes = append(changes, c)
	slices.SortFunc(changes, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	return changes, nil
}

// refuseUnrecorded returns an error naming the files changes merge into
// although perfgen never generated them, or nil when there are none.
func refuseUnrecorded(changes []Change, lock *generator.Lock) error {
	var paths []string
	for _, c := range changes {
		if c.Op != generator.Merge && c.Op != generator.Conflict {
			continue
		}
		if lock != nil {
			if _, ok := lock.Lookup(c.Path); ok {
				continue
			}
		}
		paths = append(paths, c.Path)
	}
	if len(paths) == 0 {
		return nil
	}
	return fmt.Errorf("%s already %s, and perfgen did not write %s: %s; move %s away, or pass --force to merge perfgen's version into %s",
		generator.Count(len(paths), "file"), isAre(len(paths)), itThem(len(paths)), summarize(paths), itThem(len(paths)), itThem(len(paths)))
}

func isAre(n int) string {
	if n == 1 {
		return "exists"
	}
	return "exist"
}

func itThem(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// readAnswers reads and validates the project's answers file, or answers
// when it is not nil.
func readAnswers(fsys generator.FS, root, perfgen string, answers []byte) (generator.Valid, error) {
	name := filepath.Join(root, generator.AnswersFile)
	b, err := answers, error(nil)
	if b == nil {
		b, err = fsys.ReadFile(name)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return generator.Valid{}, fmt.Errorf("no %s in %s: run perfgen sync in the root of a project perfgen generated", generator.AnswersFile, root)
	}
	if err != nil {
		return generator.Valid{}, err
	}
	spec, err := generator.ReadAnswers(name, bytes.NewReader(b), generator.DefaultSpec(""))
	if err != nil {
		return generator.Valid{}, err
	}
	spec.PerfgenVersion = perfgen
	v, err := spec.Valid()
	if err != nil {
		return generator.Valid{}, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

// readLock reads the project's lock file, or returns nil if it has none.
func readLock(fsys generator.FS, root string) (*generator.Lock, error) {
	name := filepath.Join(root, generator.LockFile)
	b, err := fsys.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return generator.ReadLock(name, bytes.NewReader(b))
}

// plan decides the change to every file perfgen generates now or generated
// last time.
func plan(ctx context.Context, w generator.Writer, fsys generator.FS, root string, files generator.Files, lock *generator.Lock, bases *baseSource) ([]Change, error) {
	var changes []Change
	for _, f := range files {
		if err := w.CheckInside(root, f.Path); err != nil {
			return nil, err
		}
		cur, err := readCurrent(fsys, root, f.Path)
		if err != nil {
			return nil, err
		}
		locked, wasGenerated := "", false
		if lock != nil {
			locked, wasGenerated = lock.Lookup(f.Path)
		}
		c := Change{Path: f.Path, Old: cur, New: f.Content, Mode: f.Mode}
		switch {
		case f.Path == generator.AnswersFile && cur != nil:
			// The answers are sync's input, and the user's to format and
			// comment as they like: sync never rewrites them.
			continue
		case f.Path == generator.LockFile:
			if bytes.Equal(cur, f.Content) {
				continue
			}
			c.Op = generator.Replace
			if cur == nil {
				c.Op = generator.Create
			}
		case cur == nil && wasGenerated:
			c.Op, c.New, c.Note = generator.KeepDeleted, nil, "you deleted it; it stays deleted"
		case cur == nil:
			c.Op = generator.Create
		case bytes.Equal(cur, f.Content):
			if sameMode(fsys, root, f) {
				continue
			}
			c.Op = generator.Replace
		case wasGenerated && generator.Hash(cur) == locked:
			c.Op = generator.Replace
		default:
			base := bases.lookup(ctx, f.Path, locked)
			merged, n, err := mergeFile(ctx, cur, base, f.Content)
			if err != nil {
				return nil, fmt.Errorf("merge %s: %w", f.Path, err)
			}
			c.New, c.Conflicts = merged, n
			switch {
			case n > 0:
				c.Op = generator.Conflict
			case bytes.Equal(merged, cur):
				continue // perfgen's change is already there
			default:
				c.Op = generator.Merge
			}
		}
		changes = append(changes, c)
	}
	if lock != nil {
		for _, lf := range lock.Files {
			if _, ok := files.Lookup(lf.Path); ok {
				continue
			}
			if err := w.CheckInside(root, lf.Path); err != nil {
				return nil, err
			}
			cur, err := readCurrent(fsys, root, lf.Path)
			if err != nil {
				return nil, err
			}
			switch {
			case cur == nil:
				continue
			case generator.Hash(cur) == lf.SHA256:
				changes = append(changes, Change{Path: lf.Path, Op: generator.Delete, Old: cur})
			default:
				changes = append(changes, Change{Path: lf.Path, Op: generator.KeepEdited, Old: cur,
					Note: "perfgen no longer generates it, but you edited it; delete it yourself if it is unused"})
			}
		}
	}
	slices.SortFunc(changes, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	return changes, nil
}

// readCurrent returns the content of the project file at p, or nil if it
// does not exist. It refuses anything but a regular file.
func readCurrent(fsys generator.FS, root, p string) ([]byte, error) {
	name := filepath.Join(root, filepath.FromSlash(p))
	info, err := fsys.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (a symbolic link or directory); move it away and sync again", name)
	}
	b, err := fsys.ReadFile(name)
	if b == nil && err == nil {
		b = []byte{}
	}
	return b, err
}

func sameMode(fsys generator.FS, root string, f generator.File) bool {
	info, err := fsys.Stat(filepath.Join(root, filepath.FromSlash(f.Path)))
	return err == nil && info.Mode().Perm() == f.Mode.Perm()
}

// apply writes the changes through generator's Writer, planned as every
// write is, so each path gets the same checks: each file to a temporary file
// renamed into place.
func apply(ctx context.Context, w generator.Writer, root string, changes []Change) error {
	var writes generator.Files
	var deletes []string
	for _, c := range changes {
		switch {
		case c.Op.Writes():
			writes = append(writes, generator.File{Path: c.Path, Content: c.New, Mode: c.Mode})
		case c.Op == generator.Delete:
			deletes = append(deletes, c.Path)
		}
	}
	p, err := w.Plan(root, writes, true)
	if err != nil {
		return err
	}
	if err := p.Delete(deletes...); err != nil {
		return err
	}
	// The lock goes last: if writing stops early, the next sync still sees
	// the files not yet written as perfgen left them.
	slices.SortStableFunc(p.Actions, func(a, b generator.Action) int {
		return boolInt(a.File.Path == generator.LockFile) - boolInt(b.File.Path == generator.LockFile)
	})
	return w.Apply(ctx, p)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// summarize lists at most a few paths.
func summarize(paths []string) string {
	const show = 5
	if len(paths) <= show {
		return strings.Join(paths, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(paths[:show], ", "), len(paths)-show)
}

// pinnedPerfgen returns the perfgen version the project's go.mod requires,
// or "" when it requires none or cannot be read (the render then pins none,
// and the merge shows the difference).
func pinnedPerfgen(fsys generator.FS, root string) string {
	name := filepath.Join(root, "go.mod")
	data, err := fsys.ReadFile(name)
	if err != nil {
		return ""
	}
	f, err := modfile.ParseLax(name, data, nil)
	if err != nil {
		return ""
	}
	for _, r := range f.Require {
		if r.Mod.Path == generator.PerfgenModule {
			return r.Mod.Version
		}
	}
	return ""
}
