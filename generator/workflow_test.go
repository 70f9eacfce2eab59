package generator_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/templates"
)

// workflowPath is where a project's CI workflow is generated.
const workflowPath = ".github/workflows/ci.yml"

// TestWorkflowPassesActionlint lints the CI workflow of every combination of
// the options it depends on (transport, store, Docker) with actionlint, and
// checks what actionlint cannot: every run step is make with targets the
// project's own Makefile defines, so CI and a developer run the same
// commands; actions are pinned by commit SHA; the token can only read.
func TestWorkflowPassesActionlint(t *testing.T) {
	opts := &actionlint.LinterOptions{}
	// With shellcheck on PATH (make deploycheck installs it), actionlint
	// checks the run scripts too.
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = sc
	}
	linter, err := actionlint.NewLinter(io.Discard, opts)
	require.NoError(t, err)

	for _, transport := range generator.Transports {
		for _, store := range generator.Stores {
			for _, docker := range []bool{false, true} {
				name := fmt.Sprintf("%s-%s-docker%t", transport, store, docker)
				t.Run(name, func(t *testing.T) {
					spec := generator.DefaultSpec("svc")
					spec.Transport, spec.Store, spec.Deploy = transport, store, nil
					if docker {
						spec.Deploy = []generator.Deploy{generator.DeployDocker}
					}
					files := renderFiles(t, spec)
					workflow, ok := files[workflowPath]
					require.True(t, ok, "no %s in a project with ci on", workflowPath)

					w, ran := checkWorkflow(t, linter, workflow, files["Makefile"])
					wantRan := []string{"build", "lint", "vulncheck", "test", "fuzz", "loadtest"}
					if docker {
						wantRan = append(wantRan, "docker")
					}
					assert.ElementsMatch(t, wantRan, ran)

					require.NotNil(t, w.Permissions)
					assert.Nil(t, w.Permissions.All, "permissions must name scopes, not grant all")
					require.Len(t, w.Permissions.Scopes, 1)
					assert.Equal(t, "read", w.Permissions.Scopes["contents"].Value.Value)

					// A Postgres project's tests run against a service
					// container, with DATABASE_URL set so none skips.
					for _, id := range []string{"test", "loadtest"} {
						job := w.Jobs[id]
						require.NotNil(t, job, "no %s job", id)
						if store != generator.StorePostgres {
							assert.Nil(t, job.Services, "job %s has services without Postgres", id)
							continue
						}
						require.NotNil(t, job.Services, "job %s has no Postgres service", id)
						assert.Contains(t, job.Services.Value, "postgres")
						require.NotNil(t, job.Env)
						assert.Contains(t, job.Env.Vars, "database_url")
					}
				})
			}
		}
	}
}

// checkWorkflow lints workflow with linter and checks that every run step
// is make with targets makefile defines and every action is pinned by
// commit SHA. It returns the parsed workflow and the targets run.
func checkWorkflow(t *testing.T, linter *actionlint.Linter, workflow, makefile []byte) (*actionlint.Workflow, []string) {
	t.Helper()
	errs, err := linter.Lint(workflowPath, workflow, nil)
	require.NoError(t, err)
	for _, e := range errs {
		t.Errorf("actionlint: %s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind)
	}

	w, perrs := actionlint.Parse(workflow)
	require.Empty(t, perrs)
	targets := makeTargets(string(makefile))
	require.NotEmpty(t, targets, "no targets found in the Makefile")
	var ran []string
	for id, job := range w.Jobs {
		for _, step := range job.Steps {
			switch exec := step.Exec.(type) {
			case *actionlint.ExecRun:
				args := strings.Fields(exec.Run.Value)
				require.GreaterOrEqual(t, len(args), 2, "job %s: run step %q is not `make TARGET`", id, exec.Run.Value)
				assert.Equal(t, "make", args[0], "job %s: run step %q is not `make TARGET`", id, exec.Run.Value)
				for _, target := range args[1:] {
					assert.Contains(t, targets, target, "job %s runs make %s, which the Makefile does not define", id, target)
					ran = append(ran, target)
				}
			case *actionlint.ExecAction:
				assert.Regexp(t, `^[\w.-]+/[\w.-]+@[0-9a-f]{40}$`, exec.Uses.Value, "job %s: action not pinned by commit SHA", id)
			}
		}
	}
	return w, ran
}

// TestGoldenWorkflowsPassActionlint checks the workflow of every golden case
// as it is on disk, against the case's own Makefile.
func TestGoldenWorkflowsPassActionlint(t *testing.T) {
	linter, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	require.NoError(t, err)
	for _, name := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(goldenDir, name)
			workflow, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(workflowPath)))
			require.NoError(t, err, "every golden case has CI on")
			makefile, err := os.ReadFile(filepath.Join(dir, "Makefile"))
			require.NoError(t, err)
			_, ran := checkWorkflow(t, linter, workflow, makefile)
			assert.Contains(t, ran, "test")
		})
	}
}

// TestNoCIMeansNoGitHubFiles checks --ci=false: no workflow, no Dependabot.
func TestNoCIMeansNoGitHubFiles(t *testing.T) {
	spec := generator.DefaultSpec("svc")
	spec.CI = false
	for path := range renderFiles(t, spec) {
		assert.False(t, strings.HasPrefix(path, ".github/"), "%s generated with ci off", path)
	}
}

// TestDependabotCoversEveryEcosystem checks one group updates the Go modules,
// the actions and, with a Dockerfile, the base images.
func TestDependabotCoversEveryEcosystem(t *testing.T) {
	ecosystem := regexp.MustCompile(`(?m)^  - package-ecosystem: (\S+)\n    directory: /\n    patterns: \["\*"\]\n    multi-ecosystem-group: dependencies$`)
	for _, docker := range []bool{false, true} {
		spec := generator.DefaultSpec("svc")
		spec.Deploy = nil
		want := []string{"gomod", "github-actions"}
		if docker {
			spec.Deploy = []generator.Deploy{generator.DeployDocker}
			want = []string{"gomod", "docker", "github-actions"}
		}
		config := string(renderFiles(t, spec)[".github/dependabot.yml"])
		var got []string
		for _, m := range ecosystem.FindAllStringSubmatch(config, -1) {
			got = append(got, m[1])
		}
		assert.Equal(t, want, got, "dependabot.yml:\n%s", config)
		assert.Contains(t, config, "multi-ecosystem-groups:\n  dependencies:\n    schedule:\n      interval: weekly\n")
	}
}

// renderFiles renders spec and returns its files' contents by path.
func renderFiles(t *testing.T, spec generator.Spec) map[string][]byte {
	t.Helper()
	files, err := generator.Render(templates.FS, spec)
	require.NoError(t, err)
	out := map[string][]byte{}
	for _, f := range files {
		out[f.Path] = f.Content
	}
	return out
}

var makeRule = regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):`)

// makeTargets returns the explicit targets a Makefile defines.
func makeTargets(makefile string) []string {
	var out []string
	for _, m := range makeRule.FindAllStringSubmatch(makefile, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}
