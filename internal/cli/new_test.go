package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kballard/go-shellquote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
)

// reply is one scripted answer of a fakePrompter. For Input the values are
// tried in order: each rejected one must be rejected by the validator, as
// a real prompter would ask again.
type reply struct {
	message string // a prefix of the expected question
	input   []string
	choice  string
	confirm bool
	choices []string
	err     error
}

// fakePrompter answers questions from a script and fails the test on any
// question it did not expect.
type fakePrompter struct {
	t        *testing.T
	script   []reply
	rejected []string
	// defaults records the default each question offered, by message.
	defaults map[string]string
}

func (p *fakePrompter) next(message, def string) reply {
	p.t.Helper()
	if p.defaults == nil {
		p.defaults = map[string]string{}
	}
	p.defaults[message] = def
	if len(p.script) == 0 {
		p.t.Fatalf("unexpected question %q", message)
	}
	r := p.script[0]
	p.script = p.script[1:]
	if !strings.HasPrefix(message, r.message) {
		p.t.Fatalf("question %q, want one starting %q", message, r.message)
	}
	return r
}

func (p *fakePrompter) Input(message, _, def string, validate func(string) error) (string, error) {
	r := p.next(message, def)
	if r.err != nil {
		return "", r.err
	}
	for _, in := range r.input {
		if in == "" {
			in = def
		}
		if err := validate(in); err != nil {
			p.rejected = append(p.rejected, err.Error())
			continue
		}
		return in, nil
	}
	p.t.Fatalf("question %q: every scripted answer was rejected: %q", message, p.rejected)
	return "", nil
}

func (p *fakePrompter) Select(message, _ string, options []Option, def string) (string, error) {
	r := p.next(message, def)
	assert.Contains(p.t, optionValues(options), def, "default of %q is not an option", message)
	return r.choice, r.err
}

func (p *fakePrompter) Confirm(message, _ string, def bool) (bool, error) {
	r := p.next(message, fmt.Sprint(def))
	return r.confirm, r.err
}

func (p *fakePrompter) MultiSelect(message, _ string, options []Option, defs []string) ([]string, error) {
	r := p.next(message, strings.Join(defs, ","))
	for _, d := range defs {
		assert.Contains(p.t, optionValues(options), d)
	}
	for _, o := range options {
		assert.NotEmpty(p.t, o.Description, "option %s of %q", o.Value, message)
	}
	return r.choices, r.err
}

func optionValues(options []Option) []string {
	var out []string
	for _, o := range options {
		out = append(out, o.Value)
	}
	return out
}

func (p *fakePrompter) done() {
	p.t.Helper()
	assert.Empty(p.t, p.script, "questions never asked")
}

func interactiveEnv(t *testing.T, p Prompter) *testEnv {
	env := newTestEnv(t)
	env.Interactive = func() bool { return true }
	env.Prompter = p
	return env
}

func readAnswers(t *testing.T, dir string) generator.Spec {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, generator.AnswersFile))
	require.NoError(t, err)
	defer f.Close()
	s, err := generator.ReadAnswers(f.Name(), f, generator.Spec{})
	require.NoError(t, err)
	return s
}

func TestNewInteractiveAsksEveryMissingAnswer(t *testing.T) {
	t.Chdir(t.TempDir())
	p := &fakePrompter{t: t, script: []reply{
		{message: "Go module path", input: []string{"not a module", "github.com/acme/orders"}},
		{message: "Output directory", input: []string{"services/orders"}},
		{message: "Transport", choice: "grpc"},
		{message: "Store", choice: "postgres"},
		{message: "Put a read-through cache", confirm: false},
		{message: "Deployment outputs", choices: []string{"k8s", "docker"}},
		{message: "Add a GitHub Actions CI workflow", confirm: false},
		{message: "Use the default service-level objectives", confirm: false},
		{message: "P95 latency bound", input: []string{"0", "25"}},
		{message: "Throughput target", input: []string{"fast", "5000"}},
		{message: "Memory bound", input: []string{""}},
		{message: "CPU bound", input: []string{"101", "50"}},
		{message: "Error rate bound", input: []string{"0.5"}},
	}}
	env := interactiveEnv(t, p)
	require.Equal(t, exitOK, env.run("new", "orders", "--no-tidy"), "stderr: %s", env.stderr)
	p.done()

	assert.Equal(t, "example.com/orders", p.defaults["Go module path"])
	assert.Equal(t, "./orders", p.defaults["Output directory"])
	assert.Equal(t, "both", p.defaults["Transport"])
	assert.Equal(t, "docker,compose,k8s,sysctl,systemd", p.defaults["Deployment outputs"])
	assert.Len(t, p.rejected, 4, "the validators rejected: %q", p.rejected)
	assert.Contains(t, p.rejected[0], `invalid module path "not a module"`)

	want := generator.Spec{
		Name: "orders", Module: "github.com/acme/orders",
		Transport: generator.TransportGRPC, Store: generator.StorePostgres, Cache: false,
		Deploy: []generator.Deploy{generator.DeployDocker, generator.DeployK8s}, CI: false,
		SLO: generator.SLO{P95Millis: 25, RPS: 5000, RSSMiB: 512, CPUPercent: 50, ErrorPercent: 0.5},
	}
	assert.Equal(t, want, readAnswers(t, "services/orders"))
	assert.Empty(t, env.stderr.String(), "an interactive run needs no notice")
	assert.Contains(t, env.stdout.String(), "To generate this project again without prompts:\n  perfgen new orders "+
		"--module github.com/acme/orders --output services/orders --transport grpc --store postgres --cache=false "+
		"--upstream=false --deploy docker,k8s --ci=false --slo-p95-ms 25 --slo-rps 5000 --slo-rss-mib 512 --slo-cpu-percent 50 --slo-error-percent 0.5 --no-tidy\n")
}

// TestEquivalentCommandReproducesTheProject runs the printed command line
// without a terminal in another directory and compares the two projects.
func TestEquivalentCommandReproducesTheProject(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	t.Chdir(first)
	p := &fakePrompter{t: t, script: []reply{
		{message: "Go module path", input: []string{"example.org/x"}},
		{message: "Output directory", input: []string{"my dir"}},
		{message: "Transport", choice: "http"},
		{message: "Store", choice: "memory"},
		{message: "Put a read-through cache", confirm: true},
		{message: "Include the example outbound call", confirm: false},
		{message: "Deployment outputs", choices: nil},
		{message: "Add a GitHub Actions CI workflow", confirm: true},
		{message: "Use the default service-level objectives", confirm: true},
	}}
	env := interactiveEnv(t, p)
	require.Equal(t, exitOK, env.run("new", "svc", "--no-tidy"), "stderr: %s", env.stderr)
	p.done()

	_, line, ok := strings.Cut(env.stdout.String(), "without prompts:\n  ")
	require.True(t, ok, "no equivalent command in %s", env.stdout)
	line, _, _ = strings.Cut(line, "\n")
	args, err := shellquote.Split(line)
	require.NoError(t, err)
	require.Equal(t, []string{"perfgen", "new"}, args[:2])

	t.Chdir(second)
	again := newTestEnv(t)
	require.Equal(t, exitOK, again.run(args[1:]...), "stderr: %s", again.stderr)
	assert.Empty(t, again.stderr.String(), "the command gives every answer, so no notice")
	assert.Equal(t, readTree(t, filepath.Join(first, "my dir")), readTree(t, filepath.Join(second, "my dir")))
}

func TestNewInteractiveAsksOnlyForMissingAnswers(t *testing.T) {
	t.Chdir(t.TempDir())
	writeFile(t, "answers.yaml", "name: shop\nstore: postgres\ncache: false\nslo:\n  rps: 300\n")
	p := &fakePrompter{t: t, script: []reply{
		{message: "Output directory", input: []string{""}},
		{message: "Include the example outbound call", confirm: true},
		{message: "Deployment outputs", choices: []string{"compose"}},
		{message: "Add a GitHub Actions CI workflow", confirm: true},
		{message: "P95 latency bound", input: []string{""}},
		{message: "Memory bound", input: []string{"128"}},
		{message: "CPU bound", input: []string{""}},
		{message: "Error rate bound", input: []string{""}},
	}}
	env := interactiveEnv(t, p)
	code := env.run("new", "--config", "answers.yaml", "-m", "example.com/shop", "--transport", "http", "--no-tidy")
	require.Equal(t, exitOK, code, "stderr: %s", env.stderr)
	p.done()
	got := readAnswers(t, "shop")
	assert.Equal(t, generator.StorePostgres, got.Store)
	assert.Equal(t, generator.TransportHTTP, got.Transport)
	assert.Equal(t, []generator.Deploy{generator.DeployCompose}, got.Deploy)
	assert.Equal(t, generator.SLO{P95Millis: 100, RPS: 300, RSSMiB: 128, CPUPercent: 70, ErrorPercent: 0.1}, got.SLO)
}

func TestNewInteractiveRejectsAnUnusableOutputDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	writeFile(t, "orders/NOTES.md", "mine")
	writeFile(t, "file", "mine")
	p := &fakePrompter{t: t, script: []reply{
		{message: "Output directory", input: []string{"", "file", "file/sub", "fresh"}},
	}}
	env := interactiveEnv(t, p)
	code := env.run("new", "orders", "-m", "example.com/orders", "--transport", "http", "--store", "memory",
		"--cache", "--upstream=false", "--deploy", "none", "--ci", "--slo-p95-ms", "100", "--slo-rps", "1", "--slo-rss-mib", "1", "--slo-cpu-percent", "1",
		"--slo-error-percent", "1", "--no-tidy")
	require.Equal(t, exitOK, code, "stderr: %s", env.stderr)
	p.done()
	require.Len(t, p.rejected, 3)
	assert.Contains(t, p.rejected[0], "target directory ./orders exists and is not empty; choose another directory or use --force")
	assert.Contains(t, p.rejected[1], "output path file is a file")
	assert.Contains(t, p.rejected[2], "file is a file, not a directory")
	assert.FileExists(t, "fresh/go.mod")

	// A non-empty --output is refused before any question.
	env = interactiveEnv(t, &fakePrompter{t: t})
	assert.Equal(t, exitFailure, env.run("new", "orders", "-o", "orders"))
	assert.Equal(t, "perfgen: target directory orders exists and is not empty; choose another directory or use --force to write into it\n", env.stderr.String())
}

func TestNewYesNeverPrompts(t *testing.T) {
	t.Chdir(t.TempDir())
	p := &fakePrompter{t: t}
	env := interactiveEnv(t, p)
	require.Equal(t, exitOK, env.run("new", "demo", "--yes", "--no-tidy"), "stderr: %s", env.stderr)
	assert.Equal(t, generator.DefaultSpec("demo"), readAnswers(t, "demo"))
	assert.Empty(t, env.stderr.String())
	assert.NotContains(t, env.stdout.String(), "without prompts")
}

func TestNewChecksGivenAnswersBeforePrompting(t *testing.T) {
	t.Chdir(t.TempDir())
	writeFile(t, "answers.yaml", "name: shop\ntransport: tcp\n")
	env := interactiveEnv(t, &fakePrompter{t: t})
	assert.Equal(t, exitUsage, env.run("new", "--config", "answers.yaml"))
	assert.Equal(t, "perfgen: unknown transport \"tcp\"; use one of http, grpc, both\n", env.stderr.String())
}

func TestNewPromptErrors(t *testing.T) {
	tests := []struct {
		name  string
		reply reply
		want  int
		msg   string
	}{
		{name: "interrupted", reply: reply{message: "Go module path", err: errInterrupted}, want: exitInterrupted, msg: "perfgen: interrupted; nothing was written\n"},
		{name: "prompt fails", reply: reply{message: "Go module path", err: errors.New("terminal gone")}, want: exitFailure, msg: "perfgen: prompt: terminal gone; give the answers as flags, or pass --yes\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			env := interactiveEnv(t, &fakePrompter{t: t, script: []reply{tt.reply}})
			assert.Equal(t, tt.want, env.run("new", "demo"))
			assert.Equal(t, tt.msg, env.stderr.String())
			assertEmptyDir(t, dir)
		})
	}
}

func TestNewRejectsAnInvalidPromptedChoice(t *testing.T) {
	t.Chdir(t.TempDir())
	p := &fakePrompter{t: t, script: []reply{
		{message: "Transport", choice: "carrier-pigeon"},
	}}
	env := interactiveEnv(t, p)
	assert.Equal(t, exitUsage, env.run("new", "demo", "-m", "example.com/demo", "-o", "demo"))
	assert.Equal(t, "perfgen: unknown transport \"carrier-pigeon\"; use one of http, grpc, both\n", env.stderr.String())
	assert.NoDirExists(t, "demo")
}

func TestNewRunsTidyInTheProject(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	env := newTestEnv(t)
	var tidied []string
	env.Tidy = func(_ context.Context, d string) ([]byte, error) {
		tidied = append(tidied, d)
		assert.FileExists(t, filepath.Join(d, "go.mod"), "tidy runs after the project is written")
		return nil, nil
	}
	require.Equal(t, exitOK, env.run("new", "demo", "--yes"), "stderr: %s", env.stderr)
	assert.Equal(t, []string{"./demo"}, tidied)
	assert.Contains(t, env.stdout.String(), "running go mod tidy in ./demo\n")
	assert.True(t, strings.HasSuffix(env.stdout.String(), "Next steps:\n  cd ./demo && make run\n  make test\n"), env.stdout.String())

	tidied = nil
	require.Equal(t, exitOK, env.run("new", "other", "--yes", "--no-tidy"))
	assert.Empty(t, tidied, "--no-tidy skips it")
	require.Equal(t, exitOK, env.run("new", "third", "--yes", "--dry-run"))
	assert.Empty(t, tidied, "a dry run writes nothing to tidy")
}

func TestNewReportsAFailedTidy(t *testing.T) {
	t.Chdir(t.TempDir())
	env := newTestEnv(t)
	env.Tidy = func(context.Context, string) ([]byte, error) {
		return []byte("go: example.com/x: no network\n"), errors.New("exit status 1")
	}
	assert.Equal(t, exitFailure, env.run("new", "demo", "--yes", "-o", "my demo"))
	assert.Equal(t, "go: example.com/x: no network\n"+
		"perfgen: the project is written, but go mod tidy failed: exit status 1; once the cause is fixed, run: cd 'my demo' && go mod tidy\n",
		env.stderr.String())
	assert.FileExists(t, filepath.Join("my demo", "go.mod"), "the project stays")
}

// cancellingFS cancels the run's context in the middle of writing, the way
// SIGINT does through signal.NotifyContext.
type cancellingFS struct {
	generator.OS
	cancel   context.CancelFunc
	cancelAt int // the write during which the signal arrives
	writes   int
}

func (f *cancellingFS) WriteFile(name string, data []byte, perm fs.FileMode) error {
	f.writes++
	if f.writes == f.cancelAt {
		f.cancel()
	}
	return f.OS.WriteFile(name, data, perm)
}

func TestNewInterruptedWriteLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	env := newTestEnv(t)
	fsys := &cancellingFS{cancelAt: 3}
	env.FS = fsys
	env.NotifyContext = func(parent context.Context) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(parent)
		fsys.cancel = cancel
		return ctx, cancel
	}
	assert.Equal(t, exitInterrupted, env.run("new", "demo", "--yes", "-o", "out/demo"))
	assert.Equal(t, "perfgen: interrupted; nothing was written\n", env.stderr.String())
	assert.GreaterOrEqual(t, fsys.writes, 3)
	assertEmptyDir(t, dir) // no project, no temporary directory, no created parent
}

func TestNewInterruptedForceKeepsEveryFileWhole(t *testing.T) {
	t.Chdir(t.TempDir())
	require.Equal(t, exitOK, newTestEnv(t).run("new", "demo", "--yes", "--no-tidy"))
	writeFile(t, "demo/go.mod", "module example.com/edited\n")
	writeFile(t, "demo/README.md", "edited\n")
	before := readTree(t, "demo")

	env := newTestEnv(t)
	fsys := &cancellingFS{cancelAt: 1}
	env.FS = fsys
	env.NotifyContext = func(parent context.Context) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(parent)
		fsys.cancel = cancel
		return ctx, cancel
	}
	assert.Equal(t, exitInterrupted, env.run("new", "demo", "--yes", "--force"))
	assert.Equal(t, "perfgen: interrupted; each file replaced so far is whole and the others are untouched; run the same command again to finish\n",
		env.stderr.String())
	after := readTree(t, "demo")
	changed := 0
	for name, content := range after {
		if content != before[name] {
			changed++
		}
	}
	assert.Equal(t, 1, changed, "the file being written when the signal came is whole; nothing after it was touched")
	assert.Len(t, after, len(before), "no temporary files left")
}

// readTree returns every regular file under root by slash path.
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	require.NoError(t, err)
	return files
}

// assertEmptyDir checks that nothing at all was written into dir.
func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing is written")
}
