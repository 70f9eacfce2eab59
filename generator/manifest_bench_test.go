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
	assert.Contains(t, string(script.Content), `-o "$workdir/orders" ./cmd/orders`)
	assert.Contains(t, string(script.Content), "ORDERS_HTTP_ADDR=127.0.0.1:0")
}

// TestBenchHarnessFollowsTheAPIs checks that every project gets the load
// test, driving the APIs it has: a gRPC-only project gets the harness with
// the gRPC target as its default and no HTTP target or hook, an HTTP-only
// one no gRPC target or hook.
func TestBenchHarnessFollowsTheAPIs(t *testing.T) {
	tests := []struct {
		transport         Transport
		defaultTransports string // LOADTEST_TRANSPORTS's default in bench/loadtest.sh
		defaultTarget     string // loadtest.DefaultTransport
		present, absent   []string
	}{
		{
			transport:         TransportGRPC,
			defaultTransports: "grpc",
			defaultTarget:     "GRPC",
			present:           []string{"internal/loadtest/target_grpc.go", "internal/slow/grpc.go"},
			absent:            []string{"internal/loadtest/target_http.go", "internal/slow/http.go"},
		},
		{
			transport:         TransportHTTP,
			defaultTransports: "h2c",
			defaultTarget:     "H2C",
			present:           []string{"internal/loadtest/target_http.go", "internal/slow/http.go"},
			absent:            []string{"internal/loadtest/target_grpc.go", "internal/slow/grpc.go"},
		},
		{
			transport:         TransportBoth,
			defaultTransports: "h2c grpc",
			defaultTarget:     "H2C",
			present:           []string{"internal/loadtest/target_http.go", "internal/loadtest/target_grpc.go", "internal/slow/http.go", "internal/slow/grpc.go"},
		},
	}
	for _, tt := range tests {
		t.Run(string(tt.transport), func(t *testing.T) {
			spec := DefaultSpec("demo")
			spec.Transport = tt.transport
			files, err := Render(templates.FS, spec)
			require.NoError(t, err)
			d, err := NewData(spec)
			require.NoError(t, err)
			for _, e := range Manifest {
				if !strings.HasPrefix(e.Template, "bench/") {
					continue
				}
				_, ok := files.Lookup(strings.ReplaceAll(e.Path, "{{.Name}}", d.Name))
				assert.Equal(t, e.When.Holds(d), ok, e.Path)
			}
			for _, p := range append([]string{"cmd/loadgen/main.go", "internal/loadtest/loadtest.go", "bench/slo.yaml", "bench/scenario.yaml", "bench/loadtest.sh", "internal/slow/slow.go", "cmd/demo/loadtest.go", "cmd/demo/loadtest_slow.go"}, tt.present...) {
				_, ok := files.Lookup(p)
				assert.True(t, ok, "%s missing", p)
			}
			for _, p := range tt.absent {
				_, ok := files.Lookup(p)
				assert.False(t, ok, "%s present", p)
			}

			script, ok := files.Lookup("bench/loadtest.sh")
			require.True(t, ok)
			assert.Contains(t, string(script.Content), "\ntransports=${LOADTEST_TRANSPORTS:-"+tt.defaultTransports+"}\n")
			target, ok := files.Lookup("internal/loadtest/target.go")
			require.True(t, ok)
			assert.Contains(t, string(target.Content), "\nconst DefaultTransport = "+tt.defaultTarget+"\n")
			makefile, ok := files.Lookup("Makefile")
			require.True(t, ok)
			assert.Contains(t, string(makefile.Content), "\nloadtest: ")
			if tt.transport == TransportGRPC {
				for _, p := range []string{"bench/loadtest.sh", "bench/README.md", "cmd/loadgen/main.go", "internal/loadtest/target.go"} {
					f, _ := files.Lookup(p)
					assert.NotContains(t, strings.ToLower(string(f.Content)), "h2c", "%s mentions h2c, which a gRPC-only service does not serve", p)
				}
				assert.NotContains(t, string(script.Content), "DEMO_HTTP_ADDR", "the service has no HTTP address to set")
			}
		})
	}
}
