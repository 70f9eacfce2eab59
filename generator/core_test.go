package generator

import (
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/templates"
)

// TestUpstreamOptionDecidesTheOutboundComponents checks that the load
// balancer, the HTTP client and the example call exist only with the
// upstream option, and only in a service with an HTTP API.
func TestUpstreamOptionDecidesTheOutboundComponents(t *testing.T) {
	for _, tt := range []struct {
		transport Transport
		upstream  bool
		want      bool
	}{
		{TransportBoth, true, true},
		{TransportHTTP, true, true},
		{TransportHTTP, false, false},
		{TransportGRPC, true, false},
	} {
		spec := DefaultSpec("demo")
		spec.Transport, spec.Upstream = tt.transport, tt.upstream
		files, err := Render(templates.FS, spec)
		require.NoError(t, err)
		for _, p := range []string{"internal/lb/lb.go", "internal/httpclient/httpclient.go", "cmd/demo/components_test.go"} {
			_, ok := files.Lookup(p)
			assert.Equal(t, tt.want, ok, "%s with transport %s, upstream %t", p, tt.transport, tt.upstream)
		}
		cfg, ok := files.Lookup("internal/config/config.go")
		require.True(t, ok)
		assert.Equal(t, tt.want, strings.Contains(string(cfg.Content), "Upstreams"), "config flags with transport %s, upstream %t", tt.transport, tt.upstream)
	}
}

func TestGRPCOnlyAnswersRecordNoUpstream(t *testing.T) {
	spec := DefaultSpec("demo")
	spec.Transport = TransportGRPC
	assert.False(t, spec.Normalize().Upstream, "a gRPC-only service cannot serve the HTTP upstream example")
}

// TestLockWithoutUpstreamKeepsTheExample checks that a lock written before
// the upstream answer existed reads as the project it rendered: with the
// example call.
func TestLockWithoutUpstreamKeepsTheExample(t *testing.T) {
	l, err := ReadLock("old.lock", strings.NewReader("data_version: 1\nanswers:\n  name: demo\n  transport: http\n"))
	require.NoError(t, err)
	assert.True(t, l.Answers.Upstream)
	l, err = ReadLock("new.lock", strings.NewReader("data_version: 1\nanswers:\n  name: demo\n  upstream: false\n"))
	require.NoError(t, err)
	assert.False(t, l.Answers.Upstream)
}

// TestCoreKnowsNoResource checks that the service's core, the servers,
// main and the shared plumbing, imports nothing of the items resource in
// any transport and store: resources reach it only through their
// registration in cmd/NAME/resources.go.
func TestCoreKnowsNoResource(t *testing.T) {
	for _, transport := range Transports {
		for _, store := range Stores {
			spec := DefaultSpec("demo")
			spec.Transport, spec.Store = transport, store
			files, err := Render(templates.FS, spec)
			require.NoError(t, err)
			var core int
			for _, f := range files {
				isCore := f.Path == "cmd/demo/main.go" ||
					strings.HasPrefix(f.Path, "internal/server/") ||
					strings.HasPrefix(f.Path, "internal/resource/") ||
					strings.HasPrefix(f.Path, "internal/httpjson/")
				if !isCore || !strings.HasSuffix(f.Path, ".go") || strings.HasSuffix(f.Path, "_test.go") {
					continue
				}
				core++
				parsed, err := parser.ParseFile(token.NewFileSet(), f.Path, f.Content, parser.ImportsOnly)
				require.NoError(t, err)
				for _, imp := range parsed.Imports {
					path, _ := strconv.Unquote(imp.Path.Value)
					for _, resourcePkg := range []string{"/internal/items", "/internal/store/", "/api/proto/"} {
						assert.NotContains(t, path, resourcePkg, "%s (%s, %s) imports %s", f.Path, transport, store, path)
					}
				}
			}
			assert.Greater(t, core, 3, "no core files found")
		}
	}
}
