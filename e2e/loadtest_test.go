//go:build unix

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
)

// TestLoadTest builds the default golden project with its own `make build`
// and checks what the binary links, then runs its `make loadtest` for a
// short window at the SLO rate and fails when the project misses an
// objective, over h2c and gRPC. It then builds the service with the
// slow-handler hook and checks that the same load test fails, naming the p95
// objective: a load test that cannot fail proves nothing.
func TestLoadTest(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	dir := generateStable(t, "loadtest", loadTestSpec(t, "default"))
	goCmd(t, dir, 5*time.Minute, "mod", "tidy")

	t.Run("make build ships a stripped binary without gRPC's trace pages", func(t *testing.T) {
		// The service is built as the Dockerfile builds it, stripped, and
		// with -tags grpcnotrace: golang.org/x/net/trace links
		// html/template, which keeps the linker from dropping unused
		// methods and costs the idle service about 1.5 MiB of RSS.
		run(t, dir, 5*time.Minute, "make", "build")
		bin := filepath.Join(dir, "bin", "demo")
		info := goCmd(t, dir, time.Minute, "version", "-m", bin)
		assert.Contains(t, info, "-tags=grpcnotrace")
		assert.Contains(t, info, "-trimpath=true")
		// -trimpath keeps -ldflags out of the build information: the
		// missing symbol table is what shows -s.
		nm := exec.Command("go", "tool", "nm", bin)
		nm.Dir = dir
		out, err := nm.CombinedOutput()
		assert.Error(t, err, "go tool nm read symbols from the binary make build ships:\n%.500s", out)
		assert.Contains(t, string(out), "no symbols")
		// A stripped binary has no symbol table to look in; LDFLAGS= keeps
		// it, and must not change which packages are linked.
		debug := filepath.Join(t.TempDir(), "bin")
		run(t, dir, 5*time.Minute, "make", "build", "BIN="+debug, "LDFLAGS=")
		syms := goCmd(t, dir, time.Minute, "tool", "nm", filepath.Join(debug, "demo"))
		assert.NotContains(t, syms, "golang.org/x/net/trace.")
		assert.NotContains(t, syms, "html/template.")
	})

	t.Run("meets the objectives", func(t *testing.T) {
		out, err := makeLoadTest(t, dir, "LOADTEST_DURATION=10s", "LOADTEST_WARMUP=3s")
		if err != nil {
			// One busy moment on this 2-core machine can tip a run over
			// an objective. A second run decides; the first run's report
			// stays in the log.
			t.Logf("make loadtest missed an objective; running it once more:\n%s", out)
			out, err = makeLoadTest(t, dir, "LOADTEST_DURATION=10s", "LOADTEST_WARMUP=3s")
		}
		require.NoError(t, err, "make loadtest missed an objective twice:\n%s", out)
		assert.Contains(t, out, "OBJECTIVE")
		assert.Contains(t, out, "every objective met")
		// The default project serves HTTP and gRPC: both are checked.
		for _, name := range []string{"h2c.json", "h2c.md", "h2c-latency.svg", "grpc.json", "grpc.md", "grpc-latency.svg"} {
			assert.FileExists(t, filepath.Join(dir, "bench", "results", name))
		}
	})

	t.Run("fails when the handler is slow", func(t *testing.T) {
		// 150 ms per request is over the 100 ms p95 objective; a modest rate
		// keeps the run cheap.
		// The slowed build stays in the script's temporary directory: the
		// binary in bin/ (make build's, if the first subtest ran) is the
		// one a user ships, and a load test must not replace it.
		shipped := filepath.Join(dir, "bin", "demo")
		before, beforeErr := os.ReadFile(shipped)
		out, err := makeLoadTest(t, dir, "LOADTEST_SLOW=150ms", "LOADTEST_RATE=500", "LOADTEST_DURATION=4s", "LOADTEST_WARMUP=1s")
		require.Error(t, err, "make loadtest passed with a 150 ms handler:\n%s", out)
		assert.Contains(t, out, "objectives missed: p95 latency (measured")
		after, afterErr := os.ReadFile(shipped)
		if beforeErr != nil {
			assert.ErrorIs(t, afterErr, fs.ErrNotExist, "make loadtest wrote %s", shipped)
		} else {
			require.NoError(t, afterErr)
			assert.True(t, bytes.Equal(before, after), "make loadtest replaced %s", shipped)
		}
	})
}

// TestLoadTestGRPCOnly generates a project with the gRPC API alone and runs
// its `make loadtest` for a short window at the SLO rate: the harness must
// find the gRPC port without an HTTP server, seed and drive the request
// mix over gRPC, and meet the objectives.
func TestLoadTestGRPCOnly(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	spec := loadTestSpec(t, "default")
	spec.Transport, spec.Deploy = generator.TransportGRPC, nil
	dir := generateStable(t, "loadtest-grpc", spec)
	goCmd(t, dir, 5*time.Minute, "mod", "tidy")

	out, err := makeLoadTest(t, dir, "LOADTEST_DURATION=3s", "LOADTEST_WARMUP=1s")
	require.NoError(t, err, "make loadtest missed an objective:\n%s", out)
	assert.Contains(t, out, "over grpc to 127.0.0.1:")
	assert.Contains(t, out, "every objective met")
	assert.NotContains(t, out, "h2c")
	data, err := os.ReadFile(filepath.Join(dir, "bench", "results", "grpc.json"))
	require.NoError(t, err)
	var report struct {
		Transport string `json:"transport"`
		Pass      bool   `json:"pass"`
		Requests  int64  `json:"requests"`
	}
	require.NoError(t, json.Unmarshal(data, &report))
	assert.Equal(t, "grpc", report.Transport)
	assert.True(t, report.Pass)
	assert.Positive(t, report.Requests)
}

// loadTestRPS and loadTestCPUPercent are the throughput and server CPU
// objectives the load tests' projects are generated with, instead of the
// default 10,000 req/s at 70 % of one core. What a request costs depends
// on the host: on the two hyper-threaded vCPUs CI runs on, with the load
// generator on the server's sibling thread, bare net/http itself needs
// about 83 µs of CPU a request over h2c at 10,000 req/s, past the 70 µs
// the default objectives allow, and the generated service 91 µs
// (docs/performance.md, make perf); at 5,000 req/s the generated service
// used 72-75 % of its core over h2c and 55-62 % over gRPC. The gate keeps
// every objective, at a rate and CPU bound this host can carry, so it
// fails on a regression rather than on the host; make perf compares the
// service with bare servers at 10,000 req/s.
const (
	loadTestRPS        = 5000
	loadTestCPUPercent = 85
)

// loadTestSpec is the golden case's answers with the load tests'
// throughput and CPU objectives.
func loadTestSpec(t *testing.T, name string) generator.Spec {
	t.Helper()
	spec := goldenSpec(t, name)
	spec.SLO.RPS, spec.SLO.CPUPercent = loadTestRPS, loadTestCPUPercent
	return spec
}

// makeLoadTest runs `make loadtest` with the given variables and returns its
// combined output and exit error. The context bounds the whole run; on
// timeout the process group gets SIGTERM, which the script traps to stop the
// service, so a hung run leaves nothing behind.
func makeLoadTest(t *testing.T, dir string, vars ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", append([]string{"loadtest"}, vars...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	cmd.Env = append(cmd.Env, localPerfgen(t).Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestLoadTestTwoResources runs `make loadtest` on the golden case with two
// resources (items, and orders added by perfgen add resource) over
// Postgres, against a database of its own: the load runs through the
// service that serves both, with both resources' caches, stores and
// routes registered, and must meet the objectives.
func TestLoadTestTwoResources(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	dbURL := createDatabase(t)
	dir := generateStable(t, "loadtest-resources", loadTestSpec(t, "resources"))
	goCmd(t, dir, 5*time.Minute, "mod", "tidy")

	vars := []string{"DATABASE_URL=" + dbURL, "LOADTEST_DURATION=10s", "LOADTEST_WARMUP=3s"}
	out, err := makeLoadTest(t, dir, vars...)
	if err != nil {
		// As in TestLoadTest: one busy moment on this 2-core machine can
		// tip a run over an objective; a second run decides.
		t.Logf("make loadtest missed an objective; running it once more:\n%s", out)
		out, err = makeLoadTest(t, dir, vars...)
	}
	require.NoError(t, err, "make loadtest missed an objective twice:\n%s", out)
	assert.Contains(t, out, "every objective met")
	// The golden case serves HTTP and gRPC, both checked.
	for _, transport := range []string{"h2c", "grpc"} {
		data, err := os.ReadFile(filepath.Join(dir, "bench", "results", transport+".json"))
		require.NoError(t, err)
		var report struct {
			Pass     bool  `json:"pass"`
			Requests int64 `json:"requests"`
		}
		require.NoError(t, json.Unmarshal(data, &report))
		assert.True(t, report.Pass, transport)
		assert.Positive(t, report.Requests, transport)
	}
}

// createDatabase creates an empty database on the server DATABASE_URL
// names, drops it when the test ends, and returns its URL. It skips the
// test without DATABASE_URL or psql.
func createDatabase(t *testing.T) string {
	t.Helper()
	admin := os.Getenv("DATABASE_URL")
	if admin == "" {
		t.Skip("DATABASE_URL is not set: this test needs Postgres (.ci/run sets it)")
	}
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed; it creates the test's database")
	}
	u, err := url.Parse(admin)
	require.NoError(t, err, "DATABASE_URL")
	var b [6]byte
	_, err = rand.Read(b[:])
	require.NoError(t, err)
	name := "perfgen_e2e_" + hex.EncodeToString(b[:])
	run(t, "", time.Minute, psql, admin, "-v", "ON_ERROR_STOP=1", "-qc", "CREATE DATABASE "+name)
	t.Cleanup(func() {
		out, err := exec.Command(psql, admin, "-qc", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)").CombinedOutput()
		if err != nil {
			t.Errorf("drop database %s: %v\n%s", name, err, out)
		}
	})
	u.Path = "/" + name
	return u.String()
}
