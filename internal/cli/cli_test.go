package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/templates"
)

// testEnv is an Env on buffers with no terminal, whose tidy step fails the
// test unless a test replaces it.
type testEnv struct {
	*Env
	stdout, stderr *bytes.Buffer
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	stdout, stderr := &bytes.Buffer{}, &bytes.Buffer{}
	env := &Env{
		Stdin:       bytes.NewReader(nil),
		Stdout:      stdout,
		Stderr:      stderr,
		Getenv:      func(string) string { return "" },
		Templates:   templates.FS,
		FS:          generator.OS{},
		Interactive: func() bool { return false },
		Tidy: func(context.Context, string) ([]byte, error) {
			t.Error("go mod tidy ran, but the test did not expect it")
			return nil, nil
		},
		NotifyContext: func(parent context.Context) (context.Context, context.CancelFunc) {
			return context.WithCancel(parent)
		},
	}
	return &testEnv{Env: env, stdout: stdout, stderr: stderr}
}

func (e *testEnv) run(args ...string) int {
	return execute(context.Background(), e.Env, args)
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		// setup prepares the working directory.
		setup func(t *testing.T)
		want  int
	}{
		{name: "help", args: []string{"--help"}, want: exitOK},
		{name: "version", args: []string{"version"}, want: exitOK},
		{name: "new", args: []string{"new", "demo", "--yes", "--no-tidy"}, want: exitOK},
		{name: "dry run", args: []string{"new", "demo", "--yes", "--dry-run"}, want: exitOK},
		{name: "unknown command", args: []string{"frobnicate"}, want: exitUsage},
		{name: "unknown flag", args: []string{"new", "demo", "--frobnicate"}, want: exitUsage},
		{name: "missing name", args: []string{"new", "--yes"}, want: exitUsage},
		{name: "two names", args: []string{"new", "a", "b"}, want: exitUsage},
		{name: "bad name", args: []string{"new", "Demo", "--yes"}, want: exitUsage},
		{name: "bad module", args: []string{"new", "demo", "-m", "nodot", "--yes"}, want: exitUsage},
		{name: "bad transport", args: []string{"new", "demo", "--transport", "tcp"}, want: exitUsage},
		{name: "bad slo", args: []string{"new", "demo", "--slo-cpu-percent", "101"}, want: exitUsage},
		{name: "mixed deploy", args: []string{"new", "demo", "--deploy", "none,k8s"}, want: exitUsage},
		{name: "missing config", args: []string{"new", "--config", "nope.yaml"}, want: exitUsage},
		{name: "missing template directory", args: []string{"new", "demo", "--yes", "--templates", "./nope"}, want: exitUsage},
		{name: "check a missing template directory", args: []string{"templates", "check", "./nope"}, want: exitUsage},
		{
			name: "template directory is a file", args: []string{"templates", "diff", "f"},
			setup: func(t *testing.T) { writeFile(t, "f", "mine") },
			want:  exitUsage,
		},
		{name: "sync outside a project", args: []string{"sync"}, want: exitFailure},
		{
			name: "malformed config", args: []string{"new", "--config", "a.yaml"},
			setup: func(t *testing.T) { writeFile(t, "a.yaml", "name: [demo\n") },
			want:  exitUsage,
		},
		{
			name: "name conflicts with config", args: []string{"new", "demo", "--config", "a.yaml"},
			setup: func(t *testing.T) { writeFile(t, "a.yaml", "name: other\n") },
			want:  exitUsage,
		},
		{
			name: "output not empty", args: []string{"new", "demo", "--yes", "--no-tidy"},
			setup: func(t *testing.T) { writeFile(t, "demo/keep.txt", "mine") },
			want:  exitFailure,
		},
		{
			name: "output is a file", args: []string{"new", "demo", "-o", "f", "--yes", "--no-tidy"},
			setup: func(t *testing.T) { writeFile(t, "f", "mine") },
			want:  exitFailure,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if tt.setup != nil {
				tt.setup(t)
			}
			env := newTestEnv(t)
			got := env.run(tt.args...)
			assert.Equal(t, tt.want, got, "stderr: %s", env.stderr)
			if got != exitOK {
				assert.Regexp(t, `^perfgen: \S`, env.stderr.String())
			}
		})
	}
}

func TestErrorLinesArePrefixed(t *testing.T) {
	t.Chdir(t.TempDir())
	writeFile(t, "a.yaml", "name: demo\nmodule: nodot\nstore: mysql\n")
	env := newTestEnv(t)
	require.Equal(t, exitUsage, env.run("new", "--config", "a.yaml", "--no-tidy"))
	lines := bytes.Split(bytes.TrimRight(env.stderr.Bytes(), "\n"), []byte("\n"))
	require.Len(t, lines, 2, "stderr: %s", env.stderr)
	for _, l := range lines {
		assert.True(t, bytes.HasPrefix(l, []byte("perfgen: ")), "line %q", l)
	}
}

// TestEveryCommandIsDocumented walks the command tree, so commands added
// later are held to the same bar.
func TestEveryCommandIsDocumented(t *testing.T) {
	root := newRootCmd(newTestEnv(t).Env)
	root.InitDefaultHelpCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == cobra.ShellCompRequestCmd || c.Name() == cobra.ShellCompNoDescRequestCmd {
			return
		}
		assert.NotEmpty(t, c.Short, "%s has no Short", c.CommandPath())
		assert.NotEmpty(t, c.Example, "%s has no Example", c.CommandPath())
		assert.True(t, c.RunE != nil || c.HasSubCommands(), "%s has no RunE", c.CommandPath())
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func TestVersion(t *testing.T) {
	env := newTestEnv(t)
	require.Equal(t, exitOK, env.run("version"))
	assert.Regexp(t, `^perfgen \S+ go1\.\S+ \w+/\w+\n$`, env.stdout.String())
}

// writeFile writes content to name under the working directory, creating
// its parents.
func writeFile(t *testing.T, name, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
	require.NoError(t, os.WriteFile(name, []byte(content), 0o644))
}
