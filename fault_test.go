//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/templates"
)

// These tests run the real perfgen binary as a subprocess and interrupt,
// kill or re-run it, the way a user's shell, CI runner or OOM killer would.

// perfgenBinary builds perfgen for one test; the build cache makes every
// build after the first a link.
func perfgenBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "perfgen")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build:\n%s", out)
	return bin
}

// newArgs generates the default project named demo into out, without the
// network-bound tidy step.
func newArgs(out string) []string {
	return []string{"new", "demo", "--yes", "--no-tidy", "-o", out}
}

// file is one generated file as found on disk.
type file struct {
	content []byte
	mode    fs.FileMode
}

// readTree returns every file under root by slash path.
func readTree(t *testing.T, root string) map[string]file {
	t.Helper()
	tree := map[string]file{}
	require.NoError(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		tree[filepath.ToSlash(rel)] = file{content, info.Mode()}
		return nil
	}))
	return tree
}

// rendered is the tree `perfgen new demo --yes` must produce, straight from
// the engine.
func rendered(t *testing.T) map[string]file {
	t.Helper()
	ts, err := generator.Parse(templates.FS, generator.Manifest)
	require.NoError(t, err)
	// The test binary runs as perfgen: a development build, which its lock
	// records as such.
	files, err := ts.WithSource(generator.Source{Perfgen: generator.DevelPerfgen}).Render(generator.DefaultSpec("demo"))
	require.NoError(t, err)
	tree := map[string]file{}
	for _, f := range files {
		tree[f.Path] = file{f.Content, f.Mode}
	}
	return tree
}

// assertSameTree reports every path that is missing, unexpected or differs
// in content or mode.
func assertSameTree(t *testing.T, want, got map[string]file) {
	t.Helper()
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			t.Errorf("missing %s", p)
		case !bytes.Equal(w.content, g.content):
			t.Errorf("%s differs", p)
		case w.mode != g.mode:
			t.Errorf("%s has mode %v, want %v", p, g.mode, w.mode)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("unexpected %s", p)
		}
	}
}

// tempDirs lists perfgen's temporary directories in dir.
func tempDirs(t *testing.T, dir string) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, ".perfgen-tmp-*"))
	require.NoError(t, err)
	return matches
}

// interrupt runs perfgen with args and sends it sig at some point of its
// run: on odd runs after a random delay within a whole run's duration, on
// even runs the moment its temporary directory appears in parent, which is
// in the middle of writing. It returns how the process ended.
func interrupt(t *testing.T, bin string, args []string, parent string, sig syscall.Signal, run int, rng *rand.Rand, whole time.Duration) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if run%2 == 1 {
		time.Sleep(time.Duration(rng.Int64N(int64(whole))))
	} else {
	poll:
		for {
			select {
			case err := <-done:
				done <- err
				break poll
			default:
			}
			if len(tempDirs(t, parent)) > 0 {
				break
			}
		}
	}
	_ = cmd.Process.Signal(sig)
	err := <-done
	var exit *exec.ExitError
	switch {
	case err == nil:
		return "finished"
	case errors.As(err, &exit) && exit.ExitCode() == -1:
		return "killed by " + exit.ProcessState.Sys().(syscall.WaitStatus).Signal().String()
	case errors.As(err, &exit):
		return fmt.Sprintf("exit %d", exit.ExitCode())
	default:
		t.Fatalf("waiting for perfgen: %v", err)
		return ""
	}
}

// runDuration times one uninterrupted run.
func runDuration(t *testing.T, bin string) time.Duration {
	t.Helper()
	began := time.Now()
	res, err := exec.Command(bin, newArgs(filepath.Join(t.TempDir(), "demo"))...).CombinedOutput()
	require.NoError(t, err, "%s", res)
	return time.Since(began)
}

func TestSignalDuringNewLeavesAWholeProjectOrNothing(t *testing.T) {
	bin := perfgenBinary(t)
	want := rendered(t)
	whole := runDuration(t, bin)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	const runs = 24
	outcomes := map[string]int{}
	for i := range runs {
		sig := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}[i/2%2]
		parent := t.TempDir()
		out := filepath.Join(parent, "demo")
		how := interrupt(t, bin, newArgs(out), parent, sig, i, rng, whole)

		if _, err := os.Stat(out); err == nil {
			outcomes[how+", whole project"]++
			assertSameTree(t, want, readTree(t, out))
		} else {
			outcomes[how+", nothing written"]++
			require.ErrorIs(t, err, fs.ErrNotExist)
		}
		assert.Empty(t, tempDirs(t, parent), "run %d (%v, %s) left a temporary directory", i, sig, how)
	}
	t.Logf("%d interrupted runs (a whole run takes %s): %v", runs, whole.Round(time.Millisecond), outcomes)
}

func TestKilledNewLeavesOneTempDirThatTheNextRunRemoves(t *testing.T) {
	bin := perfgenBinary(t)
	want := rendered(t)
	whole := runDuration(t, bin)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	parent := t.TempDir()
	out := filepath.Join(parent, "demo")
	var leftovers int
	for i := range 12 {
		interrupt(t, bin, newArgs(out), parent, syscall.SIGKILL, i, rng, whole)

		tmp := tempDirs(t, parent)
		require.LessOrEqual(t, len(tmp), 1, "run %d: temporary directories %v", i, tmp)
		leftovers += len(tmp)
		if _, err := os.Stat(out); err == nil {
			// The rename into place is atomic: whole or not there.
			assertSameTree(t, want, readTree(t, out))
			require.NoError(t, os.RemoveAll(out))
		}
	}
	t.Logf("12 killed runs: %d of them left a temporary directory, each removed by the next run", leftovers)

	// A leftover from a real kill, in case no kill above landed mid-write.
	require.NoError(t, os.MkdirAll(filepath.Join(parent, ".perfgen-tmp-demo-4242", "internal"), 0o755))
	res, err := exec.Command(bin, newArgs(out)...).CombinedOutput()
	require.NoError(t, err, "%s", res)
	assertSameTree(t, want, readTree(t, out))
	assert.Empty(t, tempDirs(t, parent), "the next run did not clean up")
}

func TestSameAnswersGiveIdenticalTreesWhateverTheEnvironment(t *testing.T) {
	bin := perfgenBinary(t)
	envs := []struct {
		name, tz, lang, umask string
		relative              bool
	}{
		{"utc-c-022", "UTC", "C", "022", false},
		{"kathmandu-turkish-077-relative", "Asia/Kathmandu", "tr_TR.UTF-8", "077", true},
		{"honolulu-german-000", "Pacific/Honolulu", "de_DE.UTF-8", "000", false},
	}
	var trees []map[string]file
	for _, e := range envs {
		cwd := t.TempDir()
		out := filepath.Join(t.TempDir(), "demo")
		if e.relative {
			// Run from a sibling directory with a relative -o.
			rel, err := filepath.Rel(cwd, out)
			require.NoError(t, err)
			out = rel
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		// The umask is a process attribute, so a shell sets it for perfgen.
		cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", `umask "$0" && exec "$@"`, e.umask, bin}, newArgs(out)...)...)
		cmd.Dir = cwd
		cmd.Env = append(os.Environ(), "TZ="+e.tz, "LANG="+e.lang, "LC_ALL="+e.lang, "HOME="+t.TempDir())
		res, err := cmd.CombinedOutput()
		cancel()
		require.NoError(t, err, "%s: %s", e.name, res)
		if e.relative {
			out = filepath.Join(cwd, out)
		}
		trees = append(trees, readTree(t, out))
	}
	for i := 1; i < len(trees); i++ {
		t.Run(envs[i].name, func(t *testing.T) { assertSameTree(t, trees[0], trees[i]) })
	}
}

func TestForceOverItsOwnOutputRewritesNothing(t *testing.T) {
	bin := perfgenBinary(t)
	out := filepath.Join(t.TempDir(), "demo")
	res, err := exec.Command(bin, newArgs(out)...).CombinedOutput()
	require.NoError(t, err, "%s", res)

	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	before := map[string]time.Time{}
	require.NoError(t, filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		before[path] = old
		return os.Chtimes(path, old, old)
	}))

	res, err = exec.Command(bin, append(newArgs(out), "--force")...).CombinedOutput()
	require.NoError(t, err, "%s", res)
	for path := range before {
		info, err := os.Stat(path)
		require.NoError(t, err)
		assert.True(t, info.ModTime().Equal(old), "%s was rewritten (mtime %s)", path, info.ModTime())
	}
	assert.Empty(t, tempDirs(t, out))
}

func TestFileModesFollowTheManifest(t *testing.T) {
	bin := perfgenBinary(t)
	want := rendered(t)
	for _, umask := range []string{"000", "077"} {
		t.Run("umask "+umask, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "demo")
			res, err := exec.Command("/bin/sh", append([]string{"-c", `umask "$0" && exec "$@"`, umask, bin}, newArgs(out)...)...).CombinedOutput()
			require.NoError(t, err, "%s", res)
			got := readTree(t, out)
			for p, w := range want {
				assert.Equal(t, w.mode, got[p].mode, "%s", p)
			}
			require.NoError(t, filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				info, err := d.Info()
				if err != nil {
					return err
				}
				if d.IsDir() {
					assert.Equal(t, fs.FileMode(0o755)|fs.ModeDir, info.Mode(), "directory %s", path)
				}
				assert.Zero(t, info.Mode().Perm()&0o002, "%s is world-writable: %v", path, info.Mode())
				return nil
			}))
		})
	}
	// The manifest itself never asks for a group- or world-writable file.
	for _, e := range generator.Manifest {
		assert.Zero(t, e.Mode&0o022, "manifest gives %s mode %v", e.Path, e.Mode)
	}
}
