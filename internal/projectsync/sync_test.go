package projectsync

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
)

// tmplV1 is a small template set: a shared file, a gRPC-only file, and a
// memory-store-only file.
var tmplV1 = fstest.MapFS{
	"answers.tmpl": {Data: []byte("{{.Answers}}")},
	"main.tmpl":    {Data: []byte("header\none\ntwo\nthree\nfour\nfive\nsix\n{{if .GRPC}}grpc on\n{{end}}footer\n")},
	"grpc.tmpl":    {Data: []byte("grpc server for {{.Name}}\n")},
	"memory.tmpl":  {Data: []byte("memory store\n")},
}

var manifest = []generator.Entry{
	{Template: "answers.tmpl", Path: generator.AnswersFile, When: generator.Always, Mode: 0o644},
	{Template: "main.tmpl", Path: "main.txt", When: generator.Always, Mode: 0o644},
	{Template: "grpc.tmpl", Path: "grpc/server.txt", When: generator.IfGRPC, Mode: 0o644},
	{Template: "memory.tmpl", Path: "store/memory.txt", When: generator.IfMemory, Mode: 0o644},
}

func parse(t *testing.T, fsys fstest.MapFS) *generator.Templates {
	t.Helper()
	ts, err := generator.Parse(fsys, manifest)
	require.NoError(t, err)
	return ts
}

// newProject renders spec with ts into a new directory.
func newProject(t *testing.T, ts *generator.Templates, spec generator.Spec) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "p")
	files, err := ts.Render(spec)
	require.NoError(t, err)
	plan, err := generator.PlanWrite(root, files, false)
	require.NoError(t, err)
	require.NoError(t, generator.Writer{}.Apply(context.Background(), plan))
	return root
}

func httpSpec() generator.Spec {
	s := generator.DefaultSpec("demo")
	s.Transport, s.Deploy = generator.TransportHTTP, nil
	return s
}

// setAnswers rewrites the project's answers as a user would.
func setAnswers(t *testing.T, root string, s generator.Spec) {
	t.Helper()
	b, err := generator.MarshalAnswers(s)
	require.NoError(t, err)
	write(t, root, generator.AnswersFile, string(b))
}

func write(t *testing.T, root, p, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(root, filepath.FromSlash(p)), []byte(content), 0o644))
}

func read(t *testing.T, root, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
	require.NoError(t, err)
	return string(b)
}

func runSync(t *testing.T, root string, ts *generator.Templates, dryRun bool) (*Result, string, error) {
	t.Helper()
	var out bytes.Buffer
	res, err := Sync(context.Background(), Options{Root: root, Templates: ts, DryRun: dryRun, Out: &out})
	return res, out.String(), err
}

func kinds(res *Result) map[string]generator.Op {
	out := map[string]generator.Op{}
	for _, c := range res.Changes {
		out[c.Path] = c.Op
	}
	return out
}

func TestSyncAddsUpdatesAndRemovesUneditedFiles(t *testing.T) {
	ts := parse(t, tmplV1)
	root := newProject(t, ts, httpSpec())
	s := httpSpec()
	s.Transport, s.Store = generator.TransportBoth, generator.StorePostgres
	setAnswers(t, root, s)

	res, out, err := runSync(t, root, ts, false)
	require.NoError(t, err, out)
	assert.Equal(t, map[string]generator.Op{
		"grpc/server.txt":  generator.Create,
		"main.txt":         generator.Replace,
		"store/memory.txt": generator.Delete,
		generator.LockFile: generator.Replace,
	}, kinds(res))
	assert.Equal(t, "grpc server for demo\n", read(t, root, "grpc/server.txt"))
	assert.Contains(t, read(t, root, "main.txt"), "grpc on\n")
	assert.NoDirExists(t, filepath.Join(root, "store"), "an emptied directory is removed")

	// A second sync finds nothing to do.
	res, out, err = runSync(t, root, ts, false)
	require.NoError(t, err)
	assert.Empty(t, res.Changes)
	assert.Contains(t, out, "in sync: nothing to change")
}

func TestSyncKeepsEditedFilesThatNoLongerBelong(t *testing.T) {
	ts := parse(t, tmplV1)
	root := newProject(t, ts, httpSpec())
	write(t, root, "store/memory.txt", "memory store, tuned by hand\n")
	s := httpSpec()
	s.Store = generator.StorePostgres
	setAnswers(t, root, s)

	res, _, err := runSync(t, root, ts, false)
	require.NoError(t, err)
	assert.Equal(t, generator.KeepEdited, kinds(res)["store/memory.txt"])
	assert.Equal(t, "memory store, tuned by hand\n", read(t, root, "store/memory.txt"))
}

func TestSyncMergesAnEditWithPerfgensChange(t *testing.T) {
	ts := parse(t, tmplV1)
	root := newProject(t, ts, httpSpec())
	// The user edits the top of main.txt; perfgen changes the bottom.
	write(t, root, "main.txt", strings.Replace(read(t, root, "main.txt"), "one\n", "one, edited\n", 1))
	s := httpSpec()
	s.Transport = generator.TransportGRPC
	setAnswers(t, root, s)

	res, out, err := runSync(t, root, ts, false)
	require.NoError(t, err, out)
	assert.Equal(t, generator.Merge, kinds(res)["main.txt"])
	assert.Equal(t, "header\none, edited\ntwo\nthree\nfour\nfive\nsix\ngrpc on\nfooter\n", read(t, root, "main.txt"))
}

func TestSyncReportsOverlappingEditsAsConflicts(t *testing.T) {
	ts := parse(t, tmplV1)
	root := newProject(t, ts, httpSpec())
	write(t, root, "main.txt", strings.Replace(read(t, root, "main.txt"), "six\nfooter\n", "six\nmy line\nfooter\n", 1))
	s := httpSpec()
	s.Transport = generator.TransportGRPC
	setAnswers(t, root, s)

	res, out, err := runSync(t, root, ts, false)
	require.ErrorIs(t, err, ErrConflicts)
	assert.Equal(t, []string{"main.txt"}, res.Conflicts())
	assert.Contains(t, out, "conflict  main.txt (1 conflicts)")
	got := read(t, root, "main.txt")
	assert.Contains(t, got, "<<<<<<< yours\nmy line\n=======\ngrpc on\n>>>>>>> perfgen sync\n", "both sides are kept")
}

func TestSyncDryRunChangesNothing(t *testing.T) {
	ts := parse(t, tmplV1)
	root := newProject(t, ts, httpSpec())
	s := httpSpec()
	s.Transport = generator.TransportBoth
	setAnswers(t, root, s)
	before := snapshot(t, root)

	_, out, err := runSync(t, root, ts, true)
	require.NoError(t, err)
	assert.Equal(t, before, snapshot(t, root))
	assert.Contains(t, out, "--- /dev/null\n+++ b/grpc/server.txt\n@@ -0,0 +1 @@\n+grpc server for demo\n")
	assert.Contains(t, out, "dry run, nothing changed; sync would: 1 add, 2 update")
}

func TestSyncWithoutLockTreatsDifferencesAsEdits(t *testing.T) {
	ts := parse(t, tmplV1)
	root := newProject(t, ts, httpSpec())
	require.NoError(t, os.Remove(filepath.Join(root, generator.LockFile)))
	s := httpSpec()
	s.Transport = generator.TransportGRPC
	setAnswers(t, root, s)

	res, out, err := runSync(t, root, ts, false)
	require.ErrorIs(t, err, ErrConflicts)
	assert.Equal(t, generator.Conflict, kinds(res)["main.txt"])
	assert.Contains(t, out, "note: no .perfgen.lock")
	assert.Contains(t, out, "merged against an empty base")
}

// git runs git in dir, failing the test on error.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return string(out)
}

func gitProject(t *testing.T, ts *generator.Templates) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	root := newProject(t, ts, httpSpec())
	git(t, root, "init", "-q")
	git(t, root, "add", ".")
	git(t, root, "commit", "-qm", "generated")
	files, err := ts.Render(httpSpec())
	require.NoError(t, err)
	require.NoError(t, RecordBase(context.Background(), root, files))
	return root
}

func TestSyncRefusesADirtyTree(t *testing.T) {
	ts := parse(t, tmplV1)
	root := gitProject(t, ts)
	write(t, root, "main.txt", "uncommitted\n")

	// With nothing to sync, a dirty tree is fine: `go generate ./...` runs
	// sync beside other generators while edits are uncommitted.
	_, out, err := runSync(t, root, ts, false)
	require.NoError(t, err, out)
	assert.Equal(t, "uncommitted\n", read(t, root, "main.txt"))

	// A sync that would write refuses.
	s := httpSpec()
	s.Transport = generator.TransportBoth
	setAnswers(t, root, s)
	_, _, err = runSync(t, root, ts, false)
	require.ErrorContains(t, err, "uncommitted changes in "+root+" (main.txt); commit or stash them first")
	assert.Equal(t, "uncommitted\n", read(t, root, "main.txt"))

	// An edit to the answers alone is how a sync is asked for.
	git(t, root, "checkout", "main.txt")
	_, out, err = runSync(t, root, ts, false)
	require.NoError(t, err, out)
}

func TestSyncMergesAgainstTheGitBaseAfterAnUpgrade(t *testing.T) {
	ts := parse(t, tmplV1)
	root := gitProject(t, ts)
	write(t, root, "main.txt", strings.Replace(read(t, root, "main.txt"), "one\n", "one, edited\n", 1))
	git(t, root, "commit", "-qam", "edit")

	// perfgen is upgraded: its templates change the last line. Re-rendering
	// the old answers no longer gives the base; the git ref does.
	v2 := fstest.MapFS{}
	for k, v := range tmplV1 {
		v2[k] = v
	}
	v2["main.tmpl"] = &fstest.MapFile{Data: []byte(strings.Replace(string(tmplV1["main.tmpl"].Data), "footer", "footer v2", 1))}
	res, out, err := runSync(t, root, parse(t, v2), false)
	require.NoError(t, err, out)
	assert.Equal(t, generator.Merge, kinds(res)["main.txt"])
	assert.Equal(t, "header\none, edited\ntwo\nthree\nfour\nfive\nsix\nfooter v2\n", read(t, root, "main.txt"))

	// The base moved to what v2 generated, with the previous base as parent.
	log := git(t, root, "log", "--format=%s", BaseRef)
	assert.Equal(t, 2, strings.Count(log, "perfgen base"), log)
	assert.Equal(t, "header\none\ntwo\nthree\nfour\nfive\nsix\nfooter v2\n", git(t, root, "show", BaseRef+":main.txt"))
	assert.Empty(t, git(t, root, "status", "--porcelain", "--untracked-files=no", "--", "grpc"), "the user's index is untouched")
}

func TestSyncRefusesCustomTemplateProjectWithBuiltins(t *testing.T) {
	ts := parse(t, tmplV1)
	root := newProject(t, ts.WithOrigin(generator.OriginCustom), httpSpec())
	_, _, err := runSync(t, root, ts, false)
	assert.ErrorContains(t, err, "was generated with custom templates")
}

// snapshot returns every file under root with its content.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	}))
	return out
}

// readFaultFS fails the n-th read sync makes of the project.
type readFaultFS struct {
	generator.OS
	n, calls int
}

var errReadInjected = errors.New("injected read failure")

func (f *readFaultFS) fail() bool { f.calls++; return f.calls == f.n }

func (f *readFaultFS) Stat(name string) (fs.FileInfo, error) {
	if f.fail() {
		return nil, errReadInjected
	}
	return f.OS.Stat(name)
}

func (f *readFaultFS) Lstat(name string) (fs.FileInfo, error) {
	if f.fail() {
		return nil, errReadInjected
	}
	return f.OS.Lstat(name)
}

func (f *readFaultFS) ReadFile(name string) ([]byte, error) {
	if f.fail() {
		return nil, errReadInjected
	}
	return f.OS.ReadFile(name)
}

func (f *readFaultFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if f.fail() {
		return nil, errReadInjected
	}
	return f.OS.ReadDir(name)
}

func (f *readFaultFS) EvalSymlinks(name string) (string, error) {
	if f.fail() {
		return "", errReadInjected
	}
	return f.OS.EvalSymlinks(name)
}

// tree returns the content of every file under root by slash path.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	}))
	return out
}

// TestEveryFailingReadLeavesTheProjectAsItWas fails each read a sync makes
// of the project in turn (answers, lock, current files, planning): the sync
// reports the failure and changes nothing, or, when the failed read is the
// best-effort look for emptied directories after a removal, finishes the
// sync it would have done anyway.
func TestEveryFailingReadLeavesTheProjectAsItWas(t *testing.T) {
	ts := parse(t, tmplV1)
	s := httpSpec()
	s.Transport, s.Store = generator.TransportBoth, generator.StorePostgres
	want := func() map[string]string {
		root := newProject(t, ts, httpSpec())
		setAnswers(t, root, s)
		_, out, err := runSync(t, root, ts, false)
		require.NoError(t, err, out)
		return tree(t, root)
	}()
	for n := 1; ; n++ {
		root := newProject(t, ts, httpSpec())
		setAnswers(t, root, s)
		before := tree(t, root)
		fsys := &readFaultFS{n: n}
		var out bytes.Buffer
		_, err := Sync(context.Background(), Options{Root: root, Templates: ts, Out: &out, FS: fsys})
		if fsys.calls < n {
			require.NoError(t, err)
			require.Greater(t, n, 5, "too few reads to be a real sync")
			return
		}
		if err == nil {
			assert.Equal(t, want, tree(t, root), "read %d failed and was ignored, but the sync differs", n)
			continue
		}
		require.ErrorIs(t, err, errReadInjected, "read %d", n)
		assert.Equal(t, before, tree(t, root), "failing read %d changed the project", n)
	}
}
