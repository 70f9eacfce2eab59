//go:build unix

package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGoModTidyReportsTheGoCommandsOutput(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/x\ngo banana\n"), 0o644))
	out, err := goModTidy(context.Background(), dir)
	require.Error(t, err)
	assert.Contains(t, string(out), "go.mod:2", "the output says where go.mod is broken")
}

func TestGoModTidyTidiesAModuleWithoutDependencies(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/x\n\ngo 1.25.0\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.go"), []byte("package x\n\nimport _ \"fmt\"\n"), 0o644))
	out, err := goModTidy(context.Background(), dir)
	require.NoError(t, err, "output: %s", out)
}

// TestNotifySignals sends the process real signals; the context must
// catch them, so the test binary survives.
func TestNotifySignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, stop := notifySignals(context.Background())
			defer stop()
			require.NoError(t, syscall.Kill(os.Getpid(), sig))
			select {
			case <-ctx.Done():
			case <-time.After(time.Minute): // a hang guard, not a timing assertion
				t.Fatalf("%v did not cancel the context", sig)
			}
		})
	}
}
