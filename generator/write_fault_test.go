package generator

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// faultFS fails the n-th call of the operations it watches: with reads
// unset, any operation that changes the file system, except the cleanup a
// failed write does (Remove, RemoveAll), so every step of a write may fail
// and what follows must still hold; with reads set, any read (planning reads
// the target and every file it may replace, and writing reads what exists
// before it creates anything), which must stop the run, never pass for a
// missing file.
type faultFS struct {
	OS
	reads    bool
	n, calls int
	failed   string // the operation that failed, for messages
}

var errOpInjected = errors.New("injected file system failure")

func (f *faultFS) fail(read bool, op, name string) bool {
	if read != f.reads {
		return false
	}
	f.calls++
	if f.calls == f.n {
		f.failed = op + " " + filepath.Base(name)
		return true
	}
	return false
}

func (f *faultFS) MkdirAll(name string, perm fs.FileMode) error {
	if f.fail(false, "MkdirAll", name) {
		return errOpInjected
	}
	return f.OS.MkdirAll(name, perm)
}

func (f *faultFS) MkdirTemp(dir, pattern string) (string, error) {
	if f.fail(false, "MkdirTemp", dir) {
		return "", errOpInjected
	}
	return f.OS.MkdirTemp(dir, pattern)
}

func (f *faultFS) WriteFile(name string, data []byte, perm fs.FileMode) error {
	if f.fail(false, "WriteFile", name) {
		// Leave a truncated file behind, as a full disk would.
		_ = os.WriteFile(name, data[:len(data)/2], perm)
		return errOpInjected
	}
	return f.OS.WriteFile(name, data, perm)
}

func (f *faultFS) Chmod(name string, mode fs.FileMode) error {
	if f.fail(false, "Chmod", name) {
		return errOpInjected
	}
	return f.OS.Chmod(name, mode)
}

func (f *faultFS) Rename(oldpath, newpath string) error {
	if f.fail(false, "Rename", oldpath) {
		return errOpInjected
	}
	return f.OS.Rename(oldpath, newpath)
}

// faultFiles is a small project with nested directories and both modes.
func faultFiles() Files {
	return Files{
		{Path: "README.md", Content: []byte("readme\n"), Mode: 0o644},
		{Path: "cmd/demo/main.go", Content: []byte("package main\n"), Mode: 0o644},
		{Path: "deploy/sysctl/tune.sh", Content: []byte("#!/bin/sh\n"), Mode: 0o755},
		{Path: "internal/server/server.go", Content: []byte("package server\n"), Mode: 0o644},
	}
}

// TestEveryFailingOperationLeavesNoFreshProject fails each file system
// operation of a fresh write in turn, into a new directory and into an
// existing empty one.
func TestEveryFailingOperationLeavesNoFreshProject(t *testing.T) {
	for _, existing := range []bool{false, true} {
		t.Run(fmt.Sprintf("existing=%t", existing), func(t *testing.T) {
			for n := 1; ; n++ {
				parent := t.TempDir()
				root := filepath.Join(parent, "demo")
				if existing {
					require.NoError(t, os.Mkdir(root, 0o755))
				}
				fsys := &faultFS{n: n}
				err := apply(t, Writer{FS: fsys}, root, faultFiles(), false)
				if fsys.calls < n {
					require.NoError(t, err)
					require.Greater(t, n, 5, "too few operations to be a real write")
					return
				}
				require.ErrorIs(t, err, errOpInjected, "failing %s", fsys.failed)
				want := []string(nil)
				if existing {
					want = []string{"demo"}
				}
				assert.Equal(t, want, listDir(t, parent), "failing %s (operation %d) left files behind", fsys.failed, n)
			}
		})
	}
}

// TestEveryFailingOperationUnderForceKeepsFilesWhole fails each file system
// operation of a --force write over an existing project in turn: every file
// is afterwards either its old or its new content, whole, with its mode;
// files with nothing to change are not touched; no temporary file remains.
func TestEveryFailingOperationUnderForceKeepsFilesWhole(t *testing.T) {
	for n := 1; ; n++ {
		root := filepath.Join(t.TempDir(), "demo")
		old := writeBackdated(t, root, faultFiles())
		require.NoError(t, os.WriteFile(filepath.Join(root, "notes.txt"), []byte("mine\n"), 0o600))

		// Two files change, one is new, two stay as they are.
		changed := faultFiles()
		changed[0].Content = []byte("new readme\n")
		changed[3].Content = []byte("package server // changed\n")
		changed = append(changed, File{Path: "internal/new/new.go", Content: []byte("package new\n"), Mode: 0o644})

		fsys := &faultFS{n: n}
		err := apply(t, Writer{FS: fsys}, root, changed, true)
		if fsys.calls < n {
			require.NoError(t, err)
			require.Greater(t, n, 5, "too few operations to be a real write")
			return
		}
		require.ErrorIs(t, err, errOpInjected, "failing %s", fsys.failed)

		for i, f := range changed {
			got, err := os.ReadFile(filepath.Join(root, f.Path))
			if i >= len(faultFiles()) {
				if err == nil {
					assert.Equal(t, f.Content, got, "failing %s: new file %s is not whole", fsys.failed, f.Path)
				}
				continue
			}
			require.NoError(t, err, "failing %s removed %s", fsys.failed, f.Path)
			before := faultFiles()[i]
			assert.True(t, bytes.Equal(got, before.Content) || bytes.Equal(got, f.Content),
				"failing %s: %s is neither its old nor its new content: %q", fsys.failed, f.Path, got)
			info, err := os.Stat(filepath.Join(root, f.Path))
			require.NoError(t, err)
			assert.Equal(t, f.Mode, info.Mode().Perm(), "failing %s: mode of %s", fsys.failed, f.Path)
			if bytes.Equal(before.Content, f.Content) {
				assert.True(t, info.ModTime().Equal(old), "failing %s: unchanged %s was rewritten", fsys.failed, f.Path)
			}
		}
		notes, err := os.ReadFile(filepath.Join(root, "notes.txt"))
		require.NoError(t, err)
		assert.Equal(t, "mine\n", string(notes))
		for _, p := range listDir(t, root) {
			assert.False(t, strings.Contains(p, tempPrefix), "failing %s left %s", fsys.failed, p)
		}
	}
}

func (f *faultFS) Stat(name string) (fs.FileInfo, error) {
	if f.fail(true, "Stat", name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: errOpInjected}
	}
	return f.OS.Stat(name)
}

func (f *faultFS) Lstat(name string) (fs.FileInfo, error) {
	if f.fail(true, "Lstat", name) {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: errOpInjected}
	}
	return f.OS.Lstat(name)
}

func (f *faultFS) ReadFile(name string) ([]byte, error) {
	if f.fail(true, "ReadFile", name) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errOpInjected}
	}
	return f.OS.ReadFile(name)
}

func (f *faultFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if f.fail(true, "ReadDir", name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errOpInjected}
	}
	return f.OS.ReadDir(name)
}

func (f *faultFS) EvalSymlinks(name string) (string, error) {
	if f.fail(true, "EvalSymlinks", name) {
		return "", &fs.PathError{Op: "lstat", Path: name, Err: errOpInjected}
	}
	return f.OS.EvalSymlinks(name)
}

// TestEveryFailingReadStopsAFreshWrite fails each read of planning and
// writing a new project, whose parent directories do not exist yet, in turn:
// the run fails with the read's error and leaves nothing, and the files
// beside it are untouched.
func TestEveryFailingReadStopsAFreshWrite(t *testing.T) {
	for n := 1; ; n++ {
		parent := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(parent, "keep.txt"), []byte("mine\n"), 0o644))
		root := filepath.Join(parent, "new", "demo")
		fsys := &faultFS{reads: true, n: n}
		err := apply(t, Writer{FS: fsys}, root, faultFiles(), false)
		if fsys.calls < n {
			require.NoError(t, err)
			require.Greater(t, n, 3, "too few reads to be a real write")
			return
		}
		require.ErrorIs(t, err, errOpInjected, "failing %s (read %d) was not reported", fsys.failed, n)
		assert.Equal(t, []string{"keep.txt"}, listDir(t, parent), "failing %s (read %d)", fsys.failed, n)
	}
}

// TestEveryFailingReadUnderForceChangesNothing fails each read of a --force
// write over an existing project in turn: every read happens while planning,
// so a failing one leaves every file as it was.
func TestEveryFailingReadUnderForceChangesNothing(t *testing.T) {
	for n := 1; ; n++ {
		root := filepath.Join(t.TempDir(), "demo")
		require.NoError(t, apply(t, Writer{}, root, faultFiles(), false))
		changed := faultFiles()
		changed[0].Content = []byte("new readme\n")
		changed = append(changed, File{Path: "internal/new/new.go", Content: []byte("package new\n"), Mode: 0o644})

		fsys := &faultFS{reads: true, n: n}
		err := apply(t, Writer{FS: fsys}, root, changed, true)
		if fsys.calls < n {
			require.NoError(t, err)
			require.Greater(t, n, len(changed), "too few reads to be a real plan")
			return
		}
		require.ErrorIs(t, err, errOpInjected, "failing %s (read %d) was not reported", fsys.failed, n)
		for _, f := range faultFiles() {
			got, err := os.ReadFile(filepath.Join(root, f.Path))
			require.NoError(t, err)
			assert.Equal(t, string(f.Content), string(got), "failing %s changed %s", fsys.failed, f.Path)
		}
		assert.NoFileExists(t, filepath.Join(root, "internal/new/new.go"), "failing %s", fsys.failed)
	}
}
