package generator_test

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/templates"
)

var update = flag.Bool("update", false, "rewrite the golden trees from the current templates")

// goldenDir holds one directory per golden case. Each case's answers are its
// own .perfgen.yaml, and the rest of the directory is the expected project.
const goldenDir = "../golden"

// goldenCases returns the names of the golden cases.
func goldenCases(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(goldenDir)
	require.NoError(t, err)
	var cases []string
	for _, e := range entries {
		if e.IsDir() {
			cases = append(cases, e.Name())
		}
	}
	require.NotEmpty(t, cases, "no golden cases in %s", goldenDir)
	return cases
}

func TestGolden(t *testing.T) {
	for _, name := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(goldenDir, name)
			answers, err := os.Open(filepath.Join(dir, generator.AnswersFile))
			require.NoError(t, err)
			defer answers.Close()
			spec, err := generator.ReadAnswers(generator.AnswersFile, answers, generator.DefaultSpec(name))
			require.NoError(t, err)
			// The goldens pin a fixed perfgen version, so they do not change
			// with the perfgen that renders them.
			spec.PerfgenVersion = generator.ExamplePerfgenVersion
			files, err := generator.Render(templates.FS, spec)
			require.NoError(t, err)

			if *update {
				writeGolden(t, dir, files)
				return
			}
			got := map[string]generator.File{}
			for _, f := range files {
				got[f.Path] = f
			}
			want := readTree(t, dir)
			for p, f := range got {
				w, ok := want[p]
				if !ok {
					t.Errorf("missing from golden: %s (run go test ./generator -run Golden -update)", p)
					continue
				}
				if !bytes.Equal(f.Content, w.Content) {
					t.Errorf("%s differs from golden:\n%s", p, firstDifference(w.Content, f.Content))
				}
				if f.Mode.Perm() != w.Mode.Perm() {
					t.Errorf("%s: mode %v, golden has %v", p, f.Mode.Perm(), w.Mode.Perm())
				}
			}
			for p := range want {
				if _, ok := got[p]; !ok {
					t.Errorf("unexpected golden file %s: the templates no longer render it", p)
				}
			}
		})
	}
}

// readTree reads every file under dir.
func readTree(t *testing.T, dir string) map[string]generator.File {
	t.Helper()
	out := map[string]generator.File{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		content, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = generator.File{Path: filepath.ToSlash(rel), Content: content, Mode: info.Mode().Perm()}
		return nil
	})
	require.NoError(t, err)
	return out
}

// writeGolden makes dir hold exactly files.
func writeGolden(t *testing.T, dir string, files generator.Files) {
	t.Helper()
	keep := map[string]bool{}
	for _, f := range files {
		keep[f.Path] = true
		name := filepath.Join(dir, filepath.FromSlash(f.Path))
		require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
		require.NoError(t, os.WriteFile(name, f.Content, f.Mode))
		require.NoError(t, os.Chmod(name, f.Mode))
	}
	for p := range readTree(t, dir) {
		if !keep[p] {
			require.NoError(t, os.Remove(filepath.Join(dir, filepath.FromSlash(p))))
		}
	}
	removeEmptyDirs(t, dir)
}

func removeEmptyDirs(t *testing.T, dir string) {
	t.Helper()
	var dirs []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != dir {
			dirs = append(dirs, p)
		}
		return err
	}))
	for i := len(dirs) - 1; i >= 0; i-- {
		if entries, err := os.ReadDir(dirs[i]); err == nil && len(entries) == 0 {
			require.NoError(t, os.Remove(dirs[i]))
		}
	}
}

// firstDifference shows the first differing line of two files.
func firstDifference(want, got []byte) string {
	w := strings.Split(string(want), "\n")
	g := strings.Split(string(got), "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  golden:   %s\n  rendered: %s", i+1, wl, gl)
		}
	}
	return "(same lines, different line endings)"
}
