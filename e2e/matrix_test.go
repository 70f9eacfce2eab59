package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
)

// TestOptionMatrix generates a project for every combination of the options
// that change Go code and checks each the way its own CI would: it builds,
// is gofmt-clean, passes `make lint` (go vet, which type-checks the tests
// too, and golangci-lint with the project's .golangci.yml) and passes its
// own tests with -short. The race detector runs on the golden projects
// (TestGoldenProjects), whose options cover the concurrency the matrix has:
// the cache, its singleflight and the upstream calls, on both stores.
//
// Combinations whose Go inputs are byte for byte the same (goInputsHash:
// the twins with and without deploy outputs) are built, linted and tested
// once: each generates, tidies and gofmt-checks its own project, and the
// first to hash its Go inputs runs the build, make lint and go test -short
// for both. The other one does not wait for it, which would hold one of the
// two cores idle (and could hold both, with each waiting on a combination
// not yet started); the verdict is the first one's, and if that one fails,
// TestOptionMatrix names its twins too. Every combination is checked at a
// stable path (takeSlot), so golangci-lint's and go test's caches hit for
// every package that did not change since the last combination or the last
// run. The combinations run two at a time, one per core (go test's -parallel
// defaults to GOMAXPROCS). docs/contributing.md has what it costs.
func TestOptionMatrix(t *testing.T) {
	untimed(t)
	lint, version := golangciLint(t)
	var verdicts matrixVerdicts
	t.Cleanup(func() {
		// After every combination: the twins of a failed one fail with it.
		for _, tw := range verdicts.failedTwins() {
			t.Errorf("%s has the same Go inputs as %s, which failed its build, make lint or go test -short", tw.name, tw.of)
		}
	})
	for _, deploy := range [][]generator.Deploy{nil, generator.Deploys} {
		for _, transport := range generator.Transports {
			for _, store := range generator.Stores {
				for _, cache := range []bool{false, true} {
					name := fmt.Sprintf("m-%s-%s-cache%t-deploy%d", transport, store, cache, len(deploy))
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						dir := generateStable(t, "matrix", matrixSpec(transport, store, cache, deploy))
						env := append(os.Environ(), localPerfgen(t).Env...)
						env = append(env, "GOFLAGS=-mod=mod -trimpath")
						runEnv(t, dir, env, 5*time.Minute, "go", "mod", "tidy")
						unformatted := runEnv(t, dir, env, time.Minute, "gofmt", "-l", ".")
						require.Empty(t, unformatted, "gofmt -l lists files perfgen did not format")

						key := goInputsHash(t, dir)
						v, first := verdicts.claim(key, t.Name())
						if !first {
							t.Logf("same Go inputs as %s (sha256 %.12s): its build, make lint and go test -short stand for this one's", v.by, key)
							return
						}
						defer v.finish(t)
						runEnv(t, dir, env, 5*time.Minute, "go", "build", "./...")
						out, err := makeLint(t, dir, lint, version)
						require.NoError(t, err, "make lint in %s:\n%s", dir, out)
						runEnv(t, dir, env, 20*time.Minute, "go", "test", "-short", "./...")
					})
				}
			}
		}
	}
}

// matrixSpec is the spec of one option combination.
func matrixSpec(transport generator.Transport, store generator.Store, cache bool, deploy []generator.Deploy) generator.Spec {
	spec := generator.DefaultSpec("demo")
	spec.Transport, spec.Store, spec.Cache, spec.Deploy = transport, store, cache, deploy
	spec.Upstream = cache // both states of the upstream option, without doubling the matrix
	// A resource added with perfgen add resource, with a field of every
	// type, required and optional.
	spec.Resources = []generator.Resource{generator.SampleResource()}
	return spec
}

// matrixVerdicts holds the verdict of each set of Go inputs the matrix has
// checked, by goInputsHash.
type matrixVerdicts struct {
	mu sync.Mutex
	by map[string]*matrixVerdict
}

// matrixVerdict is the outcome of one combination's build, make lint and
// go test -short, which stands for its twins'.
type matrixVerdict struct {
	by     string   // the combination that ran them
	twins  []string // the combinations with the same Go inputs
	failed bool     // set by finish
}

// claim returns the verdict for key, and first true when the caller is the
// first with that key: it runs the checks and calls finish. A later caller
// is recorded as a twin.
func (m *matrixVerdicts) claim(key, name string) (v *matrixVerdict, first bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.by[key]; ok {
		v.twins = append(v.twins, name)
		return v, false
	}
	if m.by == nil {
		m.by = map[string]*matrixVerdict{}
	}
	v = &matrixVerdict{by: name}
	m.by[key] = v
	return v, true
}

// finish records t's outcome; deferred, it runs when a check stops the test
// too.
func (v *matrixVerdict) finish(t *testing.T) {
	v.failed = t.Failed()
}

// twinOf is a combination whose verdict is another's.
type twinOf struct{ name, of string }

// failedTwins lists the twins of the combinations that failed.
func (m *matrixVerdicts) failedTwins() []twinOf {
	m.mu.Lock()
	defer m.mu.Unlock()
	var failed []twinOf
	for _, v := range m.by {
		if v.failed {
			for _, tw := range v.twins {
				failed = append(failed, twinOf{tw, v.by})
			}
		}
	}
	slices.SortFunc(failed, func(a, b twinOf) int { return strings.Compare(a.name, b.name) })
	return failed
}

// goInert reports whether the project file at rel (slash separated) is one
// that nothing in `go build`, `go vet`, golangci-lint or `go test` reads: the
// deploy outputs (Dockerfile, compose, Kubernetes, Prometheus, Grafana,
// sysctl and systemd files), the project's own CI and Dependabot config, the
// README and perfgen's answers and lock, which only perfgen reads. No Go
// file embeds or names one of them (TestGoInputsHash checks every
// combination for that), so two projects that differ only in these files
// build, lint and test the same.
//
// The rule lists what is left out, not what is kept: a new kind of file
// counts as a Go input until it is added here, so a mistake costs sharing,
// never a check.
func goInert(rel string) bool {
	switch rel {
	case "README.md", generator.AnswersFile, generator.LockFile, "Dockerfile", ".dockerignore", "docker-compose.yaml":
		return true
	}
	return strings.HasPrefix(rel, "deploy/") || strings.HasPrefix(rel, ".github/")
}

// goInputsHash hashes what the matrix's build, make lint and go test -short
// of the project at dir depend on: every file but the inert ones (goInert)
// and bin/, by path, permission bits and content, after go mod tidy, so
// go.sum is in; and, for the Makefile, the commands `make lint` runs (`make
// -n lint`, with dir written as $PROJECT), since its other targets (the
// deploy outputs add `make docker`) change nothing the checks run.
func goInputsHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case rel == "bin" && d.IsDir():
			return filepath.SkipDir
		case d.IsDir(), goInert(rel), rel == "Makefile":
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file (%s): hash what it means before sharing checks across it", p, info.Mode())
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %o %d\n", rel, info.Mode().Perm(), len(data))
		h.Write(data)
		return nil
	})
	require.NoError(t, err)
	cmd := exec.Command("make", "-n", "lint")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "make -n lint in %s:\n%s", dir, out)
	fmt.Fprintf(h, "make -n lint\n%s", strings.ReplaceAll(string(out), dir, "$PROJECT"))
	return hex.EncodeToString(h.Sum(nil))
}

// TestGoInputsHash holds goInputsHash to its promise on every option
// combination: twins that differ only in deploy outputs hash the same and
// combinations with other Go code hash apart; an edit to a Go input changes
// the hash and an edit to an inert file does not; and no Go file embeds or
// names an inert file, which would make it a Go input after all.
func TestGoInputsHash(t *testing.T) {
	untimed(t)
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	seen := map[string]string{}
	var sample string // a project with every deploy output, for the edits below
	for _, transport := range generator.Transports {
		for _, store := range generator.Stores {
			for _, cache := range []bool{false, true} {
				bare := generate(t, matrixSpec(transport, store, cache, nil))
				full := generate(t, matrixSpec(transport, store, cache, generator.Deploys))
				name := fmt.Sprintf("%s-%s-cache%t", transport, store, cache)
				key := goInputsHash(t, bare)
				require.Equal(t, key, goInputsHash(t, full), "%s: the twins with and without deploy outputs hash apart", name)
				require.NotContains(t, seen, key, "%s hashes as %s, whose Go code differs", name, seen[key])
				seen[key] = name
				requireNoGoNamesInert(t, full)
				sample = full
			}
		}
	}

	base := goInputsHash(t, sample)
	for _, c := range []struct {
		file, old, new string
		input          bool
	}{
		{"go.mod", "\ngo ", "\n// edited\ngo ", true},
		{"cmd/demo/main.go", "\npackage main\n", "\npackage main\n\n// edited\n", true},
		{".golangci.yml", "\nlinters:\n", "\n# edited\nlinters:\n", true},
		{"bench/slo.yaml", "\n", "\n# edited\n", true},
		{"Makefile", "\nGOLANGCI_LINT_VERSION := ", "\nGOLANGCI_LINT_VERSION := v0.0.1-", true},
		{"Makefile", " run ./...\n", " run --verbose ./...\n", true},
		{"Makefile", "\ndocker:", "\ndocker: build", false},
		{"README.md", "\n", "\nedited\n", false},
		{"Dockerfile", "\n", "\n# edited\n", false},
		{"deploy/k8s/base/deployment.yaml", "\n", "\n# edited\n", false},
		{".github/workflows/ci.yml", "\n", "\n# edited\n", false},
		{generator.AnswersFile, "\n", "\n# edited\n", false},
	} {
		path := filepath.Join(sample, filepath.FromSlash(c.file))
		orig, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Contains(t, string(orig), c.old, "%s: the edit's anchor is gone; update the case", c.file)
		require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(orig), c.old, c.new, 1)), 0o644))
		edited := goInputsHash(t, sample)
		require.NoError(t, os.WriteFile(path, orig, 0o644))
		if c.input {
			require.NotEqual(t, base, edited, "an edit to %s (%q) leaves the hash as it was", c.file, c.new)
		} else {
			require.Equal(t, base, edited, "an edit to %s (%q), which no check reads, changes the hash", c.file, c.new)
		}
	}
	require.Equal(t, base, goInputsHash(t, sample), "the edits were undone")
}

// requireNoGoNamesInert fails if a Go file of the project at dir embeds an
// inert file or names one in a string: a test that opened it would read what
// the hash leaves out.
func requireNoGoNamesInert(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		var names []string
		for _, g := range f.Comments {
			for _, c := range g.List {
				if rest, ok := strings.CutPrefix(c.Text, "//go:embed "); ok {
					names = append(names, strings.Fields(rest)...)
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && !strings.ContainsAny(s, " \n") {
					names = append(names, s)
				}
			}
			return true
		})
		for _, name := range names {
			for elem := range strings.SplitSeq(path.Clean(name), "/") {
				if elem != "." && elem != ".." && goInert(elem) || elem == "deploy" || elem == ".github" {
					t.Errorf("%s names %q, which goInert leaves out of the Go inputs; take it out of goInert", p, name)
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
}
