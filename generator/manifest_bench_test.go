package generator

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/templates"
)

// TestBenchSLOComesFromTheAnswers checks that bench/slo.yaml carries the
// answered objectives, not the defaults.
func TestBenchSLOComesFromTheAnswers(t *testing.T) {
	spec := DefaultSpec("orders")
	spec.SLO = SLO{P95Millis: 50, RPS: 2500, RSSMiB: 256, CPUPercent: 60, ErrorPercent: 0.5}
	files, err := Render(templates.FS, spec)
	require.NoError(t, err)
	f, ok := files.Lookup("bench/slo.yaml")
	require.True(t, ok)
	for _, line := range []string{"p95_ms: 50 ", "rps: 2500 ", "rss_mib: 256 ", "cpu_percent: 60 ", "error_percent: 0.5 "} {
		assert.Contains(t, string(f.Content), "\n"+line)
	}
	script, ok := files.Lookup("bench/loadtest.sh")
	require.True(t, ok)
	assert.Equal(t, fs.FileMode(0o755), script.Mode, "make loadtest runs the script directly")
	assert.Contains(t, string(script.Content), "bin/orders")
	assert.Contains(t, string(script.Content), "ORDERS_HTTP_ADDR=127.0.0.1:0")
}

// TestBenchHarnessFollowsTheHTTPAPI checks that a project without the HTTP
// API, which the harness's default checks and HTTP hook need, gets no
// harness, while its gRPC server still gets the (empty) gRPC hook it calls.
func TestBenchHarnessFollowsTheHTTPAPI(t *testing.T) {
	spec := DefaultSpec("demo")
	spec.Transport = TransportGRPC
	files, err := Render(templates.FS, spec)
	require.NoError(t, err)
	d, err := NewData(spec)
	require.NoError(t, err)
	for _, e := range benchManifest {
		_, ok := files.Lookup(e.Path)
		assert.Equal(t, e.When.Holds(d), ok, e.Path)
		if strings.HasPrefix(e.Path, "bench/") || strings.HasPrefix(e.Path, "cmd/") || strings.HasPrefix(e.Path, "internal/loadtest/") {
			assert.False(t, ok, "%s in a project without the HTTP API", e.Path)
		}
	}
	_, ok := files.Lookup("internal/server/loadtest_hook_grpc.go")
	assert.True(t, ok, "the gRPC server calls loadTestUnaryHooks")
}
