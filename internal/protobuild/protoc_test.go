package protobuild_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/perfgen/perfgen/internal/protobuild"
)

// These tests compare perfgen with protoc and its Go plugins. They need, on
// PATH:
//
//	apt-get install -y protobuf-compiler
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@<perfgen's google.golang.org/protobuf version>
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
//
// and skip, saying so, where a tool is missing. CI installs all three.

// need returns the path of tool, or skips the test when it is not on PATH.
func need(t *testing.T, tool, install string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s is not on PATH, so perfgen's output is not compared with it; install it with: %s", tool, install)
	}
	return p
}

// protobufVersion is the google.golang.org/protobuf version perfgen requires
// (test binaries carry no dependency versions, so it is read from go.mod):
// protoc-gen-go must be the same release for the outputs to match.
func protobufVersion(t *testing.T) string {
	t.Helper()
	const gomod = "../../go.mod"
	data, err := os.ReadFile(gomod)
	require.NoError(t, err)
	f, err := modfile.ParseLax(gomod, data, nil)
	require.NoError(t, err)
	for _, r := range f.Require {
		if r.Mod.Path == "google.golang.org/protobuf" {
			return r.Mod.Version
		}
	}
	t.Fatalf("%s does not require google.golang.org/protobuf", gomod)
	return ""
}

// needProtocGenGo checks that protoc and the protoc-gen-go release matching
// perfgen's protobuf module are on PATH.
func needProtocGenGo(t *testing.T) {
	t.Helper()
	need(t, "protoc", "apt-get install -y protobuf-compiler")
	version := protobufVersion(t)
	install := "go install google.golang.org/protobuf/cmd/protoc-gen-go@" + version
	plugin := need(t, "protoc-gen-go", install)
	out, err := exec.Command(plugin, "--version").Output()
	require.NoError(t, err)
	// A different release generates different code; comparing with it
	// would fail for reasons that are not perfgen's.
	require.Equal(t, "protoc-gen-go "+version, strings.TrimSpace(string(out)),
		"protoc-gen-go on PATH is not the release perfgen uses; run: %s", install)
}

func runProtoc(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("protoc", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), "protoc %s:\n%s", strings.Join(args, " "), stderr.String())
}

// protocVersionLine is the line of a .pb.go header that names the compiler.
var protocVersionLine = regexp.MustCompile(`(?m)^// \tprotoc +v(\d+)\.(\d+)\.(\d+)(?:-(\S+))?$`)

// reportedVersion returns the compiler version protoc reported to
// protoc-gen-go, read back from the header of a file it generated.
func reportedVersion(t *testing.T, pbgo []byte) *pluginpb.Version {
	t.Helper()
	m := protocVersionLine.FindSubmatch(pbgo)
	require.NotNil(t, m, "no protoc version line in protoc-gen-go's output")
	n := func(b []byte) *int32 {
		v, err := strconv.ParseInt(string(b), 10, 32)
		require.NoError(t, err)
		return &[]int32{int32(v)}[0]
	}
	v := &pluginpb.Version{Major: n(m[1]), Minor: n(m[2]), Patch: n(m[3])}
	if len(m[4]) > 0 {
		s := string(m[4])
		v.Suffix = &s
	}
	return v
}

// TestMessagesMatchProtocGenGo generates the test API with protoc and
// protoc-gen-go and with perfgen, and requires identical bytes.
//
// The one line that legitimately differs is the header's "protoc vX.Y.Z":
// protoc-gen-go prints the compiler version it was handed, and perfgen hands
// none by default ("protoc (unknown)"), so its output does not depend on the
// machine. The test reads the version protoc reported back from protoc's
// output and passes it through Options.CompilerVersion, so every byte,
// that line included, is compared; nothing is normalized.
func TestMessagesMatchProtocGenGo(t *testing.T) {
	needProtocGenGo(t)
	sources := readSources(t, shopRoot)
	names := make([]string, 0, len(sources))
	for name := range sources {
		names = append(names, name)
	}

	out := t.TempDir()
	runProtoc(t, shopRoot, append([]string{"-I", ".", "--go_out=" + out, "--go_opt=paths=source_relative"}, names...)...)

	want := map[string][]byte{}
	for _, name := range names {
		p := strings.TrimSuffix(name, ".proto") + ".pb.go"
		content, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(p)))
		require.NoError(t, err, "protoc did not write %s", p)
		want[p] = content
	}

	opts := protobuild.Options{CompilerVersion: reportedVersion(t, want["shop/v1/shop.pb.go"])}
	files, err := opts.Generate(sources)
	require.NoError(t, err)
	got := map[string][]byte{}
	for _, f := range files {
		if strings.HasSuffix(f.Path, "_grpc.pb.go") {
			continue // gRPC stubs are perfgen's own; the interop test covers them
		}
		got[f.Path] = f.Content
	}
	require.ElementsMatch(t, keys(want), keys(got))
	for p, w := range want {
		assert.Equal(t, string(w), string(got[p]), "%s differs from protoc-gen-go's", p)
	}

	// Without a compiler version, exactly that one line changes.
	plain, err := protobuild.Generate(sources)
	require.NoError(t, err)
	for _, f := range plain {
		if w, ok := want[f.Path]; ok {
			normalized := protocVersionLine.ReplaceAll(w, []byte("// \tprotoc        (unknown)"))
			assert.Equal(t, string(normalized), string(f.Content), f.Path)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestInteropWithProtocGenGoGRPC builds a module holding the test API twice,
// once generated by perfgen and once by protoc with protoc-gen-go and
// protoc-gen-go-grpc, and runs testdata/interopmod's tests in it: a client
// from each generator against a server from the other, over loopback, for
// unary, server-, client- and bidirectional-streaming calls.
func TestInteropWithProtocGenGoGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gRPC in a temporary module; skipped with -short")
	}
	needProtocGenGo(t)
	need(t, "protoc-gen-go-grpc", "go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1")
	goTool := need(t, "go", "https://go.dev/dl/")

	mod := t.TempDir()
	shop := map[string][]byte{}
	for name, src := range readSources(t, shopRoot) {
		if strings.HasPrefix(name, "shop/") {
			shop[name] = src
		}
	}

	// perfgen's code goes where the files' go_package puts it in module
	// example.com/shop.
	files, err := protobuild.Generate(shop)
	require.NoError(t, err)
	for _, f := range files {
		name := filepath.Join(mod, "api", filepath.FromSlash(f.Path))
		require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
		require.NoError(t, os.WriteFile(name, f.Content, 0o644))
	}

	// protoc's code goes to theirs/, with the import path overridden.
	theirs := filepath.Join(mod, "theirs")
	require.NoError(t, os.MkdirAll(theirs, 0o755))
	args := []string{"-I", "."}
	var mopts []string
	for name := range shop {
		mopts = append(mopts, fmt.Sprintf("M%s=example.com/shop/theirs/%s;shopv1", name, filepath.ToSlash(filepath.Dir(name))))
	}
	opt := "paths=source_relative," + strings.Join(mopts, ",")
	args = append(args, "--go_out="+theirs, "--go_opt="+opt, "--go-grpc_out="+theirs, "--go-grpc_opt="+opt)
	runProtoc(t, shopRoot, append(args, keys(shop)...)...)

	test, err := os.ReadFile("testdata/interopmod/interop_test.go")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(mod, "interop_test.go"), test, 0o644))
	gomod := "module example.com/shop\n\ngo 1.25.0\n\nrequire (\n" +
		"\tgoogle.golang.org/grpc v1.84.0\n" +
		"\tgoogle.golang.org/protobuf " + protobufVersion(t) + "\n)\n"
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod), 0o644))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	goCmd := func(args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, goTool, args...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
	}
	goCmd("mod", "tidy")
	// Both packages register shop/v1/shop.proto; only one may in a binary
	// unless registration conflicts are ignored. Neither
	// side needs the registry to marshal its own messages.
	goCmd("test", "-count=1", "-timeout=3m", "-ldflags=-X=google.golang.org/protobuf/reflect/protoregistry.conflictPolicy=ignore", "./...")
}
