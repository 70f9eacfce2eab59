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
	removeCheckoutProxy()
	os.Exit(code)
}

// generate renders spec and writes it to a new directory under t's temp dir.
// The project pins this checkout, served by a local module proxy, as its
// perfgen tool.
func generate(t *testing.T, spec generator.Spec) string {
	t.Helper()
	spec.PerfgenVersion = localPerfgen(t).Version
	files, err := generator.Render(templates.FS, spec)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), spec.Name)
	plan, err := generator.PlanWrite(dir, files, false)
	require.NoError(t, err)
	require.NoError(t, generator.Writer{}.Apply(context.Background(), plan))
	return dir
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
			dir := generate(t, spec)
			goCmd(t, dir, 5*time.Minute, "mod", "tidy")
			goCmd(t, dir, 5*time.Minute, "build", "./...")
			if spec.Transport == generator.TransportHTTP {
				requireNoGRPC(t, dir, spec.Name)
			}
			goCmd(t, dir, 5*time.Minute, "vet", "./...")
			run(t, dir, 5*time.Minute, staticcheck, "./...")
			goCmd(t, dir, 10*time.Minute, "test", "-race", "-count=1", "./...")
			goCmd(t, dir, 10*time.Minute, "test", "-run", "^$", "-bench", ".", "-benchtime", "100x", "-benchmem", "./...")
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

// TestOptionMatrix generates a project for every combination of the options
// that change Go code and checks each the way its own CI would: it builds,
// is gofmt-clean, passes `make lint` (go vet, which type-checks the tests
// too, and golangci-lint with the project's .golangci.yml) and passes its
// own tests with -short. The race detector runs on the golden projects
// (TestGoldenProjects), whose options cover the concurrency the matrix has:
// the cache, its singleflight and the upstream calls, on both stores.
//
// The combinations run two at a time, one per core (go test's -parallel
// defaults to GOMAXPROCS), and share the module, build and test caches: every
// project has the same name and module path and builds with -trimpath, so a
// package that renders the same in two combinations (most do: the deploy
// outputs change no Go code) compiles, links and passes its tests once.
// docs/contributing.md has what it costs.
func TestOptionMatrix(t *testing.T) {
	lint := lookTool(t, "golangci-lint")
	version, err := exec.Command(lint, "version").CombinedOutput()
	require.NoError(t, err, "%s version: %s", lint, version)
	for _, transport := range generator.Transports {
		for _, store := range generator.Stores {
			for _, cache := range []bool{false, true} {
				for _, deploy := range [][]generator.Deploy{nil, generator.Deploys} {
					name := fmt.Sprintf("m-%s-%s-cache%t-deploy%d", transport, store, cache, len(deploy))
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						spec := generator.DefaultSpec("demo")
						spec.Transport, spec.Store, spec.Cache, spec.Deploy = transport, store, cache, deploy
						spec.Upstream = cache // both states of the upstream option, without doubling the matrix
						// A resource added with perfgen add resource, with a
						// field of every type, required and optional.
						spec.Resources = []generator.Resource{generator.SampleResource()}
						dir := generate(t, spec)
						env := append(os.Environ(), localPerfgen(t).Env...)
						env = append(env, "GOFLAGS=-mod=mod -trimpath")
						runEnv(t, dir, env, 5*time.Minute, "go", "mod", "tidy")
						runEnv(t, dir, env, 5*time.Minute, "go", "build", "./...")
						unformatted := runEnv(t, dir, env, time.Minute, "gofmt", "-l", ".")
						require.Empty(t, unformatted, "gofmt -l lists files perfgen did not format")
						out, err := makeLint(t, dir, lint, string(version))
						require.NoError(t, err, "make lint in %s:\n%s", dir, out)
						runEnv(t, dir, env, 20*time.Minute, "go", "test", "-short", "./...")
					})
				}
			}
		}
	}
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
