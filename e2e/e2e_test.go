// Package e2e generates projects and proves they build, vet and pass their
// own tests. It runs only when PERFGEN_E2E=1 (make e2e sets it), because it
// compiles many projects and needs the Go module proxy or a warm module cache.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/templates"
)

func TestMain(m *testing.M) {
	if os.Getenv("PERFGEN_E2E") != "1" {
		fmt.Println("e2e: skipped; run `make e2e` (PERFGEN_E2E=1) to generate and build projects")
		os.Exit(0)
	}
	code := m.Run()
	for _, release := range releases {
		release()
	}
	removeCheckoutProxy()
	os.Exit(code)
}

// generate renders spec and writes it to a new directory under t's temp dir.
// The project pins this checkout, served by a local module proxy, as its
// perfgen tool.
func generate(t *testing.T, spec generator.Spec) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), spec.Name)
	require.NoError(t, writeProject(dir, spec))
	return dir
}

// generateStable is generate in a directory at a stable path (takeSlot),
// held until the test ends: the project is at the same absolute path in
// every run, so the caches of the tools that check it hit for every package
// that did not change.
func generateStable(t *testing.T, slot string, spec generator.Spec) string {
	t.Helper()
	dir := filepath.Join(stableDir(t, slot), spec.Name)
	require.NoError(t, writeProject(dir, spec))
	return dir
}

// stableDir is an empty directory at a stable path (takeSlot), held until
// the test ends, for a test that creates its projects itself (with perfgen
// new, as a user would): they build at the same paths in every run, so the
// go command's build and test caches hit for every package that did not
// change since the last run.
func stableDir(t *testing.T, slot string) string {
	t.Helper()
	dir, release, err := takeSlot(slot)
	require.NoError(t, err)
	t.Cleanup(release)
	return dir
}

// writeProject renders spec, pinning the checkout proxy's perfgen, into the
// new directory dir.
func writeProject(dir string, spec generator.Spec) error {
	p, err := checkoutProxyOnce()
	if err != nil {
		return err
	}
	spec.PerfgenVersion = p.Version
	files, err := generator.Render(templates.FS, spec)
	if err != nil {
		return err
	}
	plan, err := generator.PlanWrite(dir, files, false)
	if err != nil {
		return err
	}
	return generator.Writer{}.Apply(context.Background(), plan)
}

// goldenOnce is one golden project prepared for the whole run.
type goldenOnce struct {
	once sync.Once
	dir  string
	err  error
}

var (
	goldensMu sync.Mutex
	goldens   = map[string]*goldenOnce{}
	// releases frees the slots the prepared golden projects hold; TestMain
	// runs them.
	releases []func()
)

// preparedGolden returns the golden case name generated and tidied once per
// run, at a stable path (takeSlot), for the tests that only read it: they
// build, vet, lint, scan and test it, and must not edit it (a test that
// edits or adds files generates its own copy). Each golden is generated and
// tidied once instead of once per test, and sits at the same path in every
// run, so staticcheck's, golangci-lint's and go vet's caches hit for every
// package that did not change (docs/contributing.md has the figures).
func preparedGolden(t *testing.T, name string) string {
	t.Helper()
	goldensMu.Lock()
	g, ok := goldens[name]
	if !ok {
		g = &goldenOnce{}
		goldens[name] = g
	}
	goldensMu.Unlock()
	g.once.Do(func() {
		root, release, err := takeSlot("golden-" + name)
		if err != nil {
			g.err = err
			return
		}
		goldensMu.Lock()
		releases = append(releases, release)
		goldensMu.Unlock()
		g.err = fmt.Errorf("the answers of golden/%s do not read", name) // until they do
		spec := goldenSpec(t, name)
		g.dir, g.err = filepath.Join(root, spec.Name), nil
		if g.err = writeProject(g.dir, spec); g.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
		cmd.Dir = g.dir
		cmd.Env = append(append(os.Environ(), "GOFLAGS=-mod=mod"), proxy.Env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			g.err = fmt.Errorf("go mod tidy in %s: %w\n%s", g.dir, err, out)
		}
	})
	require.NoError(t, g.err, "prepare the golden project %s", name)
	return g.dir
}

// untimed marks a test that measures no time and runs no test of a project
// that does: it runs beside the other such tests and the option matrix's
// combinations, two at a time (go test's -parallel is GOMAXPROCS), so one's
// single-threaded steps (linking, go mod tidy, a scan's start) leave no core
// idle. go test starts parallel tests only after every other top-level test
// has ended, so the tests that measure time (the load, shedding and
// coherence tests) and the ones that run a project's full tests (whose
// paced load-test harness keeps a real-time schedule: TestGoldenProjects,
// TestResourceTutorial, TestGoGenerateRegeneratesProto) still have the
// cores to themselves.
func untimed(t *testing.T) {
	t.Helper()
	t.Parallel()
}

// goCmd runs the go command in dir and fails the test with its output.
func goCmd(t *testing.T, dir string, timeout time.Duration, args ...string) string {
	t.Helper()
	return run(t, dir, timeout, "go", args...)
}

func run(t *testing.T, dir string, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	cmd.Env = append(cmd.Env, localPerfgen(t).Env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s in %s:\n%s", name, strings.Join(args, " "), dir, out)
	return string(out)
}

// goldenSpec reads a golden case's answers.
func goldenSpec(t *testing.T, name string) generator.Spec {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "golden", name, generator.AnswersFile))
	require.NoError(t, err)
	defer f.Close()
	spec, err := generator.ReadAnswers(generator.AnswersFile, f, generator.DefaultSpec(name))
	require.NoError(t, err)
	return spec
}

// TestGoldenProjects builds, vets, lints and tests every golden case under
// the race detector, the way a user's CI would.
func TestGoldenProjects(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("..", "golden"))
	require.NoError(t, err)
	staticcheck, err := exec.LookPath("staticcheck")
	require.NoError(t, err, "staticcheck is not on PATH; `make e2e` installs it into bin/")
	// The Postgres projects' integration tests skip without DATABASE_URL, as
	// they should on a laptop; in CI that would hide them, so it fails.
	if os.Getenv("CI") != "" {
		require.NotEmpty(t, os.Getenv("DATABASE_URL"), "CI is set but DATABASE_URL is not: .ci/run starts Postgres and sets it")
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			spec := goldenSpec(t, e.Name())
			dir := preparedGolden(t, e.Name())
			goCmd(t, dir, 5*time.Minute, "build", "./...")
			if spec.Transport == generator.TransportHTTP {
				requireNoGRPC(t, dir, spec.Name)
			}
			goCmd(t, dir, 5*time.Minute, "vet", "./...")
			run(t, dir, 5*time.Minute, staticcheck, "./...")
			// The benchmarks run in the same race-enabled test binaries,
			// after the tests: 100 iterations prove each one runs and
			// passes, and a second, non-race build and link of every test
			// binary (about 20 CPU seconds a golden) would add nothing.
			// make perf measures the hot paths' speed.
			goCmd(t, dir, 15*time.Minute, "test", "-race", "-count=1", "-bench", ".", "-benchtime", "100x", "-benchmem", "./...")
		})
	}
}

// requireNoGRPC checks that an HTTP-only project, which serves its .proto
// through the generated HTTP bindings alone, has no gRPC at all: go.mod does
// not require it, no package of the project imports it, `go mod why` finds
// no path to it (the trace exporter writes OTLP itself and the test receiver
// decodes with the OTLP message types, not the collector's service
// package), and the binary does not link it.
func requireNoGRPC(t *testing.T, dir, name string) {
	t.Helper()
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err)
	assert.NotContains(t, string(mod), "google.golang.org/grpc ", "an HTTP-only project requires gRPC")
	imports := goCmd(t, dir, time.Minute, "list", "-f", `{{join .Imports "\n"}}`, "./...")
	for imp := range strings.Lines(imports) {
		assert.False(t, strings.HasPrefix(imp, "google.golang.org/grpc"), "a package of an HTTP-only project imports %s", strings.TrimSpace(imp))
	}
	why := goCmd(t, dir, time.Minute, "mod", "why", "-m", "google.golang.org/grpc")
	assert.Contains(t, why, "does not need", "gRPC reaches an HTTP-only project")
	bin := filepath.Join(t.TempDir(), name)
	goCmd(t, dir, 5*time.Minute, "build", "-o", bin, "./cmd/"+name)
	deps := goCmd(t, dir, time.Minute, "version", "-m", bin)
	assert.Contains(t, deps, "google.golang.org/protobuf", "the binary does not link the message code")
	assert.NotContains(t, deps, "google.golang.org/grpc", "the binary links gRPC")
}

// freeAddrs returns n loopback addresses that were free a moment ago.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addrs[i] = ln.Addr().String()
		require.NoError(t, ln.Close())
	}
	return addrs
}

// startLogged starts cmd with its output captured, stops it with SIGTERM
// when the test ends, and logs the output, under name, if the test failed.
func startLogged(t *testing.T, cmd *exec.Cmd, name string) {
	t.Helper()
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, logs.String())
		}
	})
}
