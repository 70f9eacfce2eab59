package e2e

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGoldenLint runs every golden project's own `make lint` (go vet, then
// golangci-lint with the project's .golangci.yml) and requires it clean.
// golangci-lint is the one `make tools` installs into perfgen's bin/, once per
// CI run; it must be the version the generated Makefile pins, and linking it
// where that Makefile looks for it keeps `make lint` from installing its own.
func TestGoldenLint(t *testing.T) {
	untimed(t)
	lint, version := golangciLint(t)

	// The linters must see what they are meant to see, or a clean result
	// means nothing: a request without a context fails the lint.
	t.Run("canary", func(t *testing.T) {
		spec := goldenSpec(t, "minimal")
		dir := generateStable(t, "lint-canary", spec)
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "internal", "canary"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "internal", "canary", "canary.go"), []byte(
			"// Package canary calls out without a context.\npackage canary\n\nimport \"net/http\"\n\n"+
				"// Health asks the service for its health.\nfunc Health() (*http.Response, error) { return http.Get(\"http://127.0.0.1:8080/healthz\") }\n"), 0o644))
		goCmd(t, dir, 5*time.Minute, "mod", "tidy")
		out, err := makeLint(t, dir, lint, version)
		require.Error(t, err, "make lint passed a request without a context:\n%s", out)
		require.Contains(t, out, "canary.go:7:", "make lint failed, but not on the canary:\n%s", out)
		require.Contains(t, out, "(noctx)", "make lint failed, but not with noctx:\n%s", out)
	})

	entries, err := os.ReadDir(filepath.Join("..", "golden"))
	require.NoError(t, err)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			dir := preparedGolden(t, e.Name())
			out, err := makeLint(t, dir, lint, version)
			require.NoError(t, err, "make lint in %s:\n%s", dir, out)
		})
	}
}

// golangciLint returns the golangci-lint on PATH and what its `version`
// prints, which makeLint checks against the generated Makefile's pin.
func golangciLint(t *testing.T) (path, version string) {
	t.Helper()
	path = lookTool(t, "golangci-lint")
	out, err := exec.Command(path, "version").CombinedOutput()
	require.NoError(t, err, "%s version: %s", path, out)
	return path, string(out)
}

var lintVersion = regexp.MustCompile(`(?m)^GOLANGCI_LINT_VERSION := (v\S+)$`)

// makeLint runs `make lint` in the project at dir with lint, whose
// `version` output is version, where the project's Makefile looks for it.
func makeLint(t *testing.T, dir, lint, version string) (string, error) {
	t.Helper()
	makefile, err := os.ReadFile(filepath.Join(dir, "Makefile"))
	require.NoError(t, err)
	m := lintVersion.FindSubmatch(makefile)
	require.NotNil(t, m, "the Makefile pins no GOLANGCI_LINT_VERSION")
	pinned := string(m[1])
	require.Contains(t, version, " "+strings.TrimPrefix(pinned, "v")+" ",
		"bin/golangci-lint is not the version the generated Makefile pins (%s): %s; keep GOLANGCI_LINT_VERSION in perfgen's Makefile equal to it and rerun make tools", pinned, version)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "bin"), 0o755))
	link := filepath.Join(dir, "bin", "golangci-lint-"+pinned)
	if err := os.Remove(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
		require.NoError(t, err)
	}
	require.NoError(t, os.Symlink(lint, link))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "lint")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), localPerfgen(t).Env...)
	// golangci-lint refuses to run beside another unless each has its own
	// lock file, which it keeps in the temporary directory; the option
	// matrix lints two projects at once (the cache they share is safe for
	// that).
	cmd.Env = append(cmd.Env, "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}
