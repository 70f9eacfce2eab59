package deploycheck

import (
	"context"
	"debug/elf"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
)

// TestDockerBuildReproduced runs the Dockerfile's own go build, read from
// the parsed Dockerfile, on a rendered project outside Docker, and checks
// that the binary is static and that the image's HEALTHCHECK command works
// against a running instance.
func TestDockerBuildReproduced(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated project; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	require.NoError(t, err)
	p := defaultProject(t)
	data, err := generator.NewData(p.spec)
	require.NoError(t, err)
	dir := t.TempDir()
	p.writeTo(t, dir)

	gocmd := func(env []string, args ...string) {
		t.Helper()
		cmd := exec.Command(goTool, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
	}
	gocmd(nil, "mod", "tidy")

	// The build stage's RUN go build, for this machine's platform.
	var run *instructions.RunCommand
	df := parseDockerfile(t, p.file(t, "Dockerfile"))
	for _, c := range df.stages[0].Commands {
		if r, ok := c.(*instructions.RunCommand); ok && strings.Contains(strings.Join(r.CmdLine, " "), "go build") {
			run = r
		}
	}
	require.NotNil(t, run, "no go build in the Dockerfile's build stage")
	env, args := goBuildCommand(t, run, runtime.GOOS, runtime.GOARCH)
	bin := filepath.Join(t.TempDir(), p.spec.Name)
	for i, a := range args {
		if a == "-o" {
			require.Greater(t, len(args), i+1)
			args[i+1] = bin
		}
	}
	require.Contains(t, args, bin, "the Dockerfile's go build has no -o")
	gocmd(env, args...)

	f, err := elf.Open(bin)
	require.NoError(t, err)
	defer f.Close()
	for _, prog := range f.Progs {
		assert.NotEqual(t, elf.PT_INTERP, prog.Type, "the binary asks for a dynamic loader; distroless/static has none")
		assert.NotEqual(t, elf.PT_DYNAMIC, prog.Type, "the binary has a dynamic section")
	}
	assert.Nil(t, f.Section(".symtab"), `-ldflags "-s" should strip the symbol table`)

	checkHealthcheck(t, bin, data)
}

// checkHealthcheck starts the binary with the image's environment on free
// loopback ports and runs the HEALTHCHECK command against it until it
// passes, bounded by a deadline.
func checkHealthcheck(t *testing.T, bin string, data *generator.Data) {
	t.Helper()
	admin := freeAddr(t)
	env := append(os.Environ(), data.EnvPrefix+"ADMIN_ADDR="+admin)
	if data.HTTP {
		env = append(env, data.EnvPrefix+"HTTP_ADDR="+freeAddr(t))
	}
	if data.GRPC {
		env = append(env, data.EnvPrefix+"GRPC_ADDR="+freeAddr(t))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := exec.CommandContext(ctx, bin)
	srv.Env = env
	srv.Cancel = func() error { return srv.Process.Signal(os.Interrupt) }
	srv.WaitDelay = 20 * time.Second
	require.NoError(t, srv.Start())
	defer func() {
		cancel()
		_ = srv.Wait()
	}()

	// Poll until the server is up: exit 1 until then, 0 after.
	var lastErr error
	for ctx.Err() == nil {
		hc := exec.CommandContext(ctx, bin, "healthcheck")
		hc.Env = env
		out, err := hc.CombinedOutput()
		if err == nil {
			return
		}
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee), "healthcheck did not run: %v", err)
		lastErr = errors.New(string(out))
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("healthcheck never passed: %v", lastErr)
}

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}
