package generator

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleFiles() Files {
	return Files{
		{Path: "README.md", Content: []byte("readme\n"), Mode: 0o644},
		{Path: "cmd/demo/main.go", Content: []byte("package main\n"), Mode: 0o644},
		{Path: "deploy/tune.sh", Content: []byte("#!/bin/sh\n"), Mode: 0o755},
	}
}

func apply(t *testing.T, w Writer, root string, files Files, force bool) error {
	t.Helper()
	plan, err := w.Plan(root, files, force)
	if err != nil {
		return err
	}
	return w.Apply(context.Background(), plan)
}

// writeBackdated writes files as a new project at root and dates them an
// hour back, so a test can tell the files a later write touches. It returns
// their modification time.
func writeBackdated(t *testing.T, root string, files Files) time.Time {
	t.Helper()
	require.NoError(t, apply(t, Writer{}, root, files, false))
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, f := range files {
		require.NoError(t, os.Chtimes(filepath.Join(root, f.Path), old, old))
	}
	return old
}

// listDir returns every path under dir, relative and slash separated.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

func TestWriteFreshProject(t *testing.T) {
	old := setUmask(0o077)
	defer setUmask(old)
	root := filepath.Join(t.TempDir(), "nested", "demo")
	require.NoError(t, apply(t, Writer{}, root, sampleFiles(), false))
	for _, f := range sampleFiles() {
		name := filepath.Join(root, f.Path)
		got, err := os.ReadFile(name)
		require.NoError(t, err)
		assert.Equal(t, f.Content, got)
		info, err := os.Stat(name)
		require.NoError(t, err)
		assert.Equal(t, f.Mode, info.Mode().Perm(), "%s mode follows the manifest, not the umask", f.Path)
	}
	info, err := os.Stat(root)
	require.NoError(t, err)
	assert.Equal(t, dirMode, info.Mode().Perm())
	assert.Equal(t, []string{"demo"}, topLevel(t, filepath.Dir(root)), "no temporary directory left beside the project")
}

func TestWriteIntoEmptyDirectory(t *testing.T) {
	root := t.TempDir()
	before, err := os.Stat(root)
	require.NoError(t, err)
	require.NoError(t, apply(t, Writer{}, root, sampleFiles(), false))
	assert.FileExists(t, filepath.Join(root, "README.md"))
	assert.ElementsMatch(t, []string{"README.md", "cmd", "deploy"}, topLevel(t, root))
	after, err := os.Stat(root)
	require.NoError(t, err)
	assert.True(t, os.SameFile(before, after), "the existing directory is kept, not replaced")
}

func TestRefuseNonEmptyWithoutForce(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "README.md"), []byte("mine\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "notes.txt"), []byte("keep\n"), 0o644))
	err := apply(t, Writer{}, root, sampleFiles(), false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exists and is not empty; use --force to replace 1 file: README.md")
	got, _ := os.ReadFile(filepath.Join(root, "README.md"))
	assert.Equal(t, "mine\n", string(got), "nothing is overwritten")
	assert.ElementsMatch(t, []string{"README.md", "notes.txt"}, listDir(t, root))
}

func TestForceReplacesOnlyWhatDiffers(t *testing.T) {
	root := filepath.Join(t.TempDir(), "demo")
	old := writeBackdated(t, root, sampleFiles())
	require.NoError(t, os.WriteFile(filepath.Join(root, "user.txt"), []byte("mine\n"), 0o644))

	changed := sampleFiles()
	changed[0].Content = []byte("new readme\n")
	plan, err := PlanWrite(root, changed, true)
	require.NoError(t, err)
	assert.Equal(t, []string{"README.md"}, plan.Paths(Replace))
	assert.Equal(t, 2, plan.Count(Keep))
	require.NoError(t, Writer{}.Apply(context.Background(), plan))

	got, _ := os.ReadFile(filepath.Join(root, "README.md"))
	assert.Equal(t, "new readme\n", string(got))
	for _, f := range sampleFiles()[1:] {
		info, err := os.Stat(filepath.Join(root, f.Path))
		require.NoError(t, err)
		assert.True(t, info.ModTime().Equal(old), "%s was rewritten although it was identical", f.Path)
	}
	assert.FileExists(t, filepath.Join(root, "user.txt"), "files perfgen does not render are left alone")
	for _, p := range listDir(t, root) {
		assert.NotContains(t, p, tempPrefix)
	}
}

func TestOutputPathIsAFile(t *testing.T) {
	root := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(root, nil, 0o644))
	_, err := PlanWrite(root, sampleFiles(), true)
	assert.ErrorContains(t, err, "is a file, not a directory")
}

func TestUncreatableParent(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	err := apply(t, Writer{}, filepath.Join(file, "sub", "demo"), sampleFiles(), false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "choose another --output")
	assert.Contains(t, err.Error(), file+" is a file, not a directory", "the error names the file in the way")
}

// faultyFS fails the n-th WriteFile, as a full disk or a pulled cable would.
type faultyFS struct {
	OS
	n, writes int
}

var errInjected = errors.New("injected write failure")

func (f *faultyFS) WriteFile(name string, data []byte, perm fs.FileMode) error {
	f.writes++
	if f.writes == f.n {
		// Leave a truncated file behind, as a real failure might.
		_ = os.WriteFile(name, data[:len(data)/2], perm)
		return errInjected
	}
	return f.OS.WriteFile(name, data, perm)
}

func TestFailureLeavesNoFreshProject(t *testing.T) {
	for n := 1; n <= len(sampleFiles()); n++ {
		parent := t.TempDir()
		root := filepath.Join(parent, "demo")
		err := apply(t, Writer{FS: &faultyFS{n: n}}, root, sampleFiles(), false)
		require.ErrorIs(t, err, errInjected)
		assert.Empty(t, listDir(t, parent), "failure at file %d left %v", n, listDir(t, parent))
	}
}

func TestFailureUnderForceLeavesNoTruncatedFile(t *testing.T) {
	for n := 1; n <= 2; n++ {
		root := filepath.Join(t.TempDir(), "demo")
		require.NoError(t, apply(t, Writer{}, root, sampleFiles(), false))
		changed := sampleFiles()
		for i := range changed {
			changed[i].Content = append([]byte("changed "), changed[i].Content...)
		}
		err := apply(t, Writer{FS: &faultyFS{n: n}}, root, changed, true)
		require.ErrorIs(t, err, errInjected)
		for i, f := range sampleFiles() {
			got, err := os.ReadFile(filepath.Join(root, f.Path))
			require.NoError(t, err)
			if i < n-1 {
				assert.Equal(t, changed[i].Content, got, "%s was written before the failure", f.Path)
			} else {
				assert.Equal(t, f.Content, got, "%s must be the old file, whole", f.Path)
			}
		}
		for _, p := range listDir(t, root) {
			assert.False(t, strings.Contains(p, tempPrefix), "temporary file %s left behind", p)
		}
	}
}

func TestCancelledWriteLeavesNothing(t *testing.T) {
	parent := t.TempDir()
	plan, err := PlanWrite(filepath.Join(parent, "demo"), sampleFiles(), false)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = Writer{}.Apply(ctx, plan)
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, listDir(t, parent))
}

func TestStaleTempDirIsCleanedUp(t *testing.T) {
	parent := t.TempDir()
	stale := filepath.Join(parent, tempPrefix+"demo-123")
	require.NoError(t, os.MkdirAll(filepath.Join(stale, "half"), 0o755))
	require.NoError(t, apply(t, Writer{}, filepath.Join(parent, "demo"), sampleFiles(), false))
	assert.Equal(t, []string{"demo"}, topLevel(t, parent))
}

func topLevel(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestPlanRefusesPathsOutsideRoot(t *testing.T) {
	_, err := PlanWrite(t.TempDir(), Files{{Path: "../x", Content: nil, Mode: 0o644}}, true)
	assert.ErrorContains(t, err, "leaves the project root")
}

func TestFailureInEmptyDirectoryLeavesItEmpty(t *testing.T) {
	for n := 1; n <= len(sampleFiles()); n++ {
		root := t.TempDir()
		err := apply(t, Writer{FS: &faultyFS{n: n}}, root, sampleFiles(), false)
		require.ErrorIs(t, err, errInjected)
		assert.Empty(t, listDir(t, root), "failure at file %d", n)
	}
}

func TestCheckOutputDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	full := filepath.Join(dir, "full")
	require.NoError(t, os.MkdirAll(full, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(full, "x"), nil, 0o644))
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.MkdirAll(empty, 0o755))

	tests := []struct {
		root  string
		force bool
		want  string // "" for no error
	}{
		{root: filepath.Join(dir, "new"), want: ""},
		{root: empty, want: ""},
		{root: full, want: "exists and is not empty; choose another directory or use --force"},
		{root: full, force: true, want: ""},
		{root: file, force: true, want: "is a file, not a directory"},
		{root: filepath.Join(file, "sub"), force: true, want: file + " is a file, not a directory"},
	}
	for _, tt := range tests {
		err := CheckOutputDir(tt.root, tt.force)
		if tt.want == "" {
			assert.NoError(t, err, tt.root)
		} else {
			assert.ErrorContains(t, err, tt.want, tt.root)
		}
	}
}

func TestPlanDeleteRemovesFilesAndEmptiedDirectories(t *testing.T) {
	for _, relative := range []bool{false, true} {
		t.Run(map[bool]string{false: "absolute root", true: "root ."}[relative], func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "demo")
			require.NoError(t, apply(t, Writer{}, root, sampleFiles(), false))
			require.NoError(t, os.WriteFile(filepath.Join(root, "deploy", "user.txt"), []byte("mine\n"), 0o644))
			if relative {
				t.Chdir(root)
				root = "."
			}

			plan, err := PlanWrite(root, sampleFiles()[:1], true)
			require.NoError(t, err)
			require.NoError(t, plan.Delete("deploy/tune.sh", "cmd/demo/main.go"))
			var order []string
			for _, a := range plan.Actions {
				order = append(order, a.Op.String()+" "+a.File.Path)
			}
			assert.Equal(t, []string{"keep README.md", "delete cmd/demo/main.go", "delete deploy/tune.sh"}, order, "actions stay sorted by path")
			require.NoError(t, Writer{}.Apply(context.Background(), plan))

			assert.ElementsMatch(t, []string{"README.md", "deploy", "deploy/user.txt"}, listDir(t, root),
				"cmd/demo is removed once empty; deploy still holds a file, and the root is kept")
		})
	}
}

func TestPlanDeleteRefusesMistakes(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, apply(t, Writer{}, root, sampleFiles(), false))
	outside := t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "link")))

	tests := []struct {
		name, path, want string
	}{
		{name: "leaves the root", path: "../x", want: "refusing to delete ../x: the path leaves the project root"},
		{name: "through a link outside", path: "link/x.pb.go", want: "outside the project root"},
		{name: "written by the same plan", path: "README.md", want: "refusing to delete README.md: the same run writes it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := PlanWrite(root, sampleFiles(), true)
			require.NoError(t, err)
			assert.ErrorContains(t, plan.Delete(tt.path), tt.want)
		})
	}

	fresh, err := PlanWrite(filepath.Join(t.TempDir(), "new"), sampleFiles(), false)
	require.NoError(t, err)
	assert.ErrorContains(t, fresh.Delete("old.txt"), "is a new project")
}
