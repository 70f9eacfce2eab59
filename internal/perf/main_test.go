package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteSectionReplacesOnlyItsSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "performance.md")
	before := "# Performance\n\n## Rendering\n\nkept\n\n" + heading + "\n\nold figures\n\n## Later\n\nalso kept\n"
	require.NoError(t, os.WriteFile(path, []byte(before), 0o644))

	require.NoError(t, writeSection(path, heading+"\n\nnew figures\n"))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "# Performance\n\n## Rendering\n\nkept\n\n"+heading+"\n\nnew figures\n\n## Later\n\nalso kept\n", string(got))

	// Running again changes nothing.
	require.NoError(t, writeSection(path, heading+"\n\nnew figures\n"))
	again, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(got), string(again))
}

func TestWriteSectionAppendsWhenMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "performance.md")
	require.NoError(t, os.WriteFile(path, []byte("# Performance\n\nintro\n"), 0o644))
	require.NoError(t, writeSection(path, heading+"\n\nfigures\n"))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "# Performance\n\nintro\n\n"+heading+"\n\nfigures\n", string(got))
}

func TestMedian(t *testing.T) {
	idle := func(m measurement) float64 { return m.idleRSS }
	assert.Equal(t, 2.0, median([]measurement{{idleRSS: 3}, {idleRSS: 1}, {idleRSS: 2}}, idle))
	assert.Equal(t, 2.5, median([]measurement{{idleRSS: 3}, {idleRSS: 2}}, idle))
}

func TestSpread(t *testing.T) {
	idle := func(m measurement) float64 { return m.idleRSS }
	g := []measurement{{idleRSS: 110}, {idleRSS: 90}, {idleRSS: 50}}
	bare := []measurement{{idleRSS: 100}, {idleRSS: 100}, {idleRSS: 0}}
	assert.Equal(t, "0.90–1.10", spread(g, bare, idle), "a round with no bare figure has no ratio")
	assert.Equal(t, "1.10", spread(g[:1], bare[:1], idle))
	assert.Equal(t, "n/a", spread(g[2:], bare[2:], idle))
}

// TestRenderFlagsClientBoundRuns: a run whose client used more than 60 %
// of its core is named in the table and below it; one at 60 % is not.
func TestRenderFlagsClientBoundRuns(t *testing.T) {
	o := options{rounds: 1, duration: 3 * time.Second, warmup: time.Second, rate: 10000, protocols: []string{"http1"}}
	run := func(client float64) measurement {
		return measurement{sat: map[string]loadRun{"wrk 64 conns": {result: result{rps: 1000}, clientCPU: client, serverCPU: 1}}}
	}
	results := map[string][]measurement{"generated/http1": {run(0.60)}, "bare/http1": {run(0.60)}}
	out := render(o, &binaries{}, results, nil, "0 0 0", "0 0 0")
	assert.Contains(t, out, "`h2load --rps` at 10000 req/s, 100 connections x 100 req/s")
	assert.Contains(t, out, "| 60 %, 60 % |")
	assert.NotContains(t, out, "% **client-bound**")
	assert.NotContains(t, out, "**Client-bound runs**")

	results["bare/http1"] = []measurement{run(0.75)}
	out = render(o, &binaries{}, results, nil, "0 0 0", "0 0 0")
	assert.Contains(t, out, "| 60 %, 75 % **client-bound** |")
	assert.Contains(t, out, "**Client-bound runs** (their throughput is a floor for the server, not its capacity): http1 wrk 64 conns: throughput at saturation.")
}

// TestRenderNamesUnsaturatedServersAndMissedRates: a saturation run that
// left the server's core partly idle, and an open loop that fell short of
// its rate, are named under the table.
func TestRenderNamesUnsaturatedServersAndMissedRates(t *testing.T) {
	o := options{rounds: 1, duration: 3 * time.Second, warmup: time.Second, rate: 10000, protocols: []string{"http1"}}
	m := func(serverCPU, reached float64) measurement {
		return measurement{
			sat:  map[string]loadRun{"wrk 64 conns": {result: result{rps: 1000}, serverCPU: serverCPU}},
			open: loadRun{result: result{rps: reached}},
		}
	}
	results := map[string][]measurement{"generated/http1": {m(0.95, 9990)}, "bare/http1": {m(0.95, 10000)}}
	out := render(o, &binaries{}, results, nil, "", "")
	assert.NotContains(t, out, "**Server not saturated**")
	assert.NotContains(t, out, "**Fixed rate not reached**")

	results["generated/http1"] = []measurement{m(0.40, 4000)}
	out = render(o, &binaries{}, results, nil, "", "")
	assert.Contains(t, out, "compare requests per server CPU-second instead): http1 wrk 64 conns (40 %).")
	assert.Contains(t, out, "not at the stated rate): http1 (4000 req/s).")
}

func TestBareGRPCIsBuiltAgainstTheGeneratedStubs(t *testing.T) {
	dir := t.TempDir()
	proto := filepath.Join(dir, "api", "proto", "shop", "v1", "shop.proto")
	require.NoError(t, os.MkdirAll(filepath.Dir(proto), 0o755))
	require.NoError(t, os.WriteFile(proto, []byte("syntax = \"proto3\";\n\npackage shop.v1;\n\noption go_package = \"github.com/acme/shop/api/proto/shop/v1;shopv1\";\n\nservice ItemsService {\n}\n"), 0o644))
	name, stubs, err := grpcAPI(dir)
	require.NoError(t, err)
	assert.Equal(t, "shop.v1.ItemsService", name)
	assert.Equal(t, "github.com/acme/shop/api/proto/shop/v1", stubs)

	require.NoError(t, copyBareGRPC(filepath.Join("baregrpc", "main.go"), dir, stubs))
	src, err := os.ReadFile(filepath.Join(dir, "cmd", "perf-baregrpc", "main.go"))
	require.NoError(t, err)
	assert.Contains(t, string(src), `demov1 "github.com/acme/shop/api/proto/shop/v1"`)
	assert.NotContains(t, string(src), bareGRPCStubs)

	none, _, err := grpcAPI(t.TempDir())
	require.NoError(t, err)
	assert.Empty(t, none, "a project without gRPC has no service to compare")
}
