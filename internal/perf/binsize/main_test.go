package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOwner(t *testing.T) {
	modules := []string{
		"example.com/demo",
		"example.com/demo/api", // a nested module: the longer path wins
		"google.golang.org/grpc",
		"github.com/maypok86/otter/v2",
	}
	for _, tc := range []struct{ symbol, want string }{
		{"net/http.(*conn).serve", "std net"},
		{"net/http.(*conn).serve.func1", "std net"},
		{"crypto/internal/fips140/nistec.(*P256Point).ScalarMult", "std crypto"},
		{"runtime.mallocgc", "std runtime"},
		{"type:*net/http.Server", "std net"},
		{"type:.eq.net/http.http2Setting", "std net"},
		{"type:[]google.golang.org/grpc.ServerOption", "google.golang.org/grpc"},
		{"google.golang.org/grpc/internal/transport.(*http2Server).operateHeaders", "google.golang.org/grpc"},
		{"example.com/demo/internal/server.(*Server).Serve", "example.com/demo"},
		{"example.com/demo/api/proto/demo/v1.(*Item).decodeJSON", "example.com/demo/api"},
		{"main.run", "main"},
		// Generic code is its declaring package's, whatever its type arguments.
		{"github.com/maypok86/otter/v2.(*cache[go.shape.string,go.shape.struct { example.com/demo/internal/cache.v int }]).Set", "github.com/maypok86/otter/v2"},
		{"slices.pdqsortCmpFunc[go.shape.struct { net/http.x int }]", "std slices"},
		// An itab belongs to its concrete type's package, not the interface's.
		{"go:itab.*github.com/maypok86/otter/v2.fakeSource,github.com/maypok86/otter/v2.source", "github.com/maypok86/otter/v2"},
		{"go:itab.*example.com/demo/internal/cache.Cache[int],google.golang.org/grpc.Stream", "example.com/demo"},
		{"type:map[string]int", "composite types"},
		{"type:noalg.struct { F uintptr; R *net/http.Server }", "composite types"},
		{"_rt0_amd64_linux", "assembly and constants"},
		{"$f64.3ff0000000000000", "assembly and constants"},
		{"go.example.org/unlisted.F", "other go.example.org/unlisted"},
	} {
		assert.Equal(t, tc.want, owner(tc.symbol, modules), tc.symbol)
	}
}

// TestMeasureItself builds this command (go test strips its test
// binaries, go build does not) and measures it: its code must be found
// under the owners it has.
func TestMeasureItself(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "binsize")
	build := exec.Command("go", "build", "-o", exe, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	r, err := measure(exe)
	require.NoError(t, err)

	byOwner := map[string]share{}
	var code uint64
	for _, s := range r.shares {
		byOwner[s.owner] = s
		code += s.code
	}
	for _, o := range []string{"std runtime", "std debug", "main"} {
		assert.Positive(t, byOwner[o].code, o)
	}
	var text uint64
	for _, s := range r.sections {
		if s.name == ".text" {
			text = s.size
		}
	}
	require.Positive(t, text)
	// Symbols cover nearly all of .text (the rest is alignment padding).
	assert.InDelta(t, 1, float64(code)/float64(text), 0.1)
	assert.Positive(t, r.unassigned, "go:func.* funcdata")

	var report bytes.Buffer
	require.NoError(t, r.write(&report, 3))
	assert.Contains(t, report.String(), ".gopclntab")
	assert.Contains(t, report.String(), "std runtime")
	assert.Regexp(t, `\(\d+ more\)`, report.String())
}

func TestRunWantsOneBinary(t *testing.T) {
	var stderr bytes.Buffer
	err := run(nil, &bytes.Buffer{}, &stderr)
	assert.ErrorContains(t, err, "usage: binsize")
	err = run([]string{"/nonexistent/binary"}, &bytes.Buffer{}, &stderr)
	assert.Error(t, err)
}
