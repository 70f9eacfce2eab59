package deploycheck

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/templates"
)

// project is one rendered project and the answers it came from.
type project struct {
	spec  generator.Spec
	files generator.Files
}

// file returns the content of the project's file at p, failing the test when
// the project has no such file.
func (p project) file(t *testing.T, path string) []byte {
	t.Helper()
	f, ok := p.files.Lookup(path)
	require.True(t, ok, "%s: no file %s", p, path)
	return f.Content
}

func (p project) has(path string) bool {
	_, ok := p.files.Lookup(path)
	return ok
}

// String names the project by its answers, for failure messages.
func (p project) String() string {
	deploy := make([]string, len(p.spec.Deploy))
	for i, d := range p.spec.Deploy {
		deploy[i] = string(d)
	}
	return fmt.Sprintf("%s/%s/[%s]", p.spec.Transport, p.spec.Store, strings.Join(deploy, ","))
}

// writeTo writes the project's files under dir.
func (p project) writeTo(t *testing.T, dir string) {
	t.Helper()
	for _, f := range p.files {
		name := filepath.Join(dir, filepath.FromSlash(f.Path))
		require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
		require.NoError(t, os.WriteFile(name, f.Content, f.Mode))
	}
}

var parsed = sync.OnceValues(func() (*generator.Templates, error) {
	return generator.Parse(templates.FS, generator.Manifest)
})

// render renders spec with the built-in templates.
func render(t *testing.T, spec generator.Spec) project {
	t.Helper()
	tmpl, err := parsed()
	require.NoError(t, err)
	files, err := tmpl.Render(spec)
	require.NoError(t, err, "render %+v", spec)
	return project{spec: spec, files: files}
}

// defaultProject renders the golden "default" case's answers: the default
// preset, every deploy output on.
func defaultProject(t *testing.T) project {
	t.Helper()
	name := filepath.Join("..", "..", "golden", "default", generator.AnswersFile)
	f, err := os.Open(name)
	require.NoError(t, err)
	defer f.Close()
	spec, err := generator.ReadAnswers(name, f, generator.DefaultSpec("demo"))
	require.NoError(t, err)
	for _, d := range generator.Deploys {
		require.True(t, spec.HasDeploy(d), "%s no longer selects %s", name, d)
	}
	return render(t, spec)
}

// matrix renders every combination of transport, store and deploy outputs.
func matrix(t *testing.T) []project {
	t.Helper()
	projects, err := renderMatrix()
	require.NoError(t, err)
	return projects
}

// renderMatrix renders the matrix once for every test that uses it.
var renderMatrix = sync.OnceValues(func() ([]project, error) {
	tmpl, err := parsed()
	if err != nil {
		return nil, err
	}
	var out []project
	for _, tr := range generator.Transports {
		for _, st := range generator.Stores {
			for mask := range 1 << len(generator.Deploys) {
				spec := generator.DefaultSpec("demo")
				spec.Transport, spec.Store, spec.Deploy = tr, st, nil
				for i, d := range generator.Deploys {
					if mask&(1<<i) != 0 {
						spec.Deploy = append(spec.Deploy, d)
					}
				}
				files, err := tmpl.Render(spec)
				if err != nil {
					return nil, fmt.Errorf("render %+v: %w", spec, err)
				}
				out = append(out, project{spec: spec, files: files})
			}
		}
	}
	return out, nil
})

// distinct runs check once for each distinct content of the files that
// paths selects in the matrix, so options that do not change an output do
// not repeat its checks. It fails when no project has the files, and
// reports how many variants it checked.
func distinct(t *testing.T, projects []project, paths func(project) []string, check func(*testing.T, project)) {
	t.Helper()
	seen := map[[32]byte]bool{}
	for _, p := range projects {
		ps := paths(p)
		if len(ps) == 0 {
			continue
		}
		h := sha256.New()
		for _, path := range ps {
			fmt.Fprintf(h, "%s\x00%s\x00", path, p.file(t, path))
		}
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		if seen[sum] {
			continue
		}
		seen[sum] = true
		t.Run(p.String(), func(t *testing.T) { check(t, p) })
	}
	require.NotEmpty(t, seen, "no project in the matrix renders these files")
	t.Logf("checked %d distinct variants", len(seen))
}

// under returns the project's files under dir, sorted.
func under(p project, dir string) []string {
	var out []string
	for _, f := range p.files {
		if strings.HasPrefix(f.Path, dir+"/") {
			out = append(out, f.Path)
		}
	}
	slices.Sort(out)
	return out
}

// onlyIf returns paths when p has the deploy output d, and nothing otherwise.
func onlyIf(d generator.Deploy, paths ...string) func(project) []string {
	return func(p project) []string {
		if !p.spec.HasDeploy(d) {
			return nil
		}
		return paths
	}
}

// TestOutputsFollowOptions checks that each deploy output exists exactly when
// its option is chosen.
func TestOutputsFollowOptions(t *testing.T) {
	outputs := map[generator.Deploy][]string{
		generator.DeployDocker:  {"Dockerfile", ".dockerignore"},
		generator.DeployCompose: {"docker-compose.yaml", "deploy/prometheus/prometheus.yml"},
		generator.DeployK8s:     {"deploy/k8s/base/kustomization.yaml", "deploy/k8s/base/deployment.yaml", "deploy/k8s/monitoring/servicemonitor.yaml"},
		generator.DeploySysctl:  {"deploy/sysctl/99-demo.conf", "deploy/sysctl/tune.sh"},
		generator.DeploySystemd: {"deploy/systemd/demo.service"},
	}
	for _, p := range matrix(t) {
		for d, paths := range outputs {
			for _, path := range paths {
				if p.has(path) != p.spec.HasDeploy(d) {
					t.Errorf("%s: has %s = %v, want %v", p, path, p.has(path), p.spec.HasDeploy(d))
				}
			}
		}
	}
	f, ok := defaultProject(t).files.Lookup("deploy/sysctl/tune.sh")
	require.True(t, ok)
	require.Equal(t, os.FileMode(0o755), f.Mode.Perm(), "tune.sh must be executable")
}

// TestHyphenatedName checks the outputs of a service whose name is not a
// Go identifier and whose SLOs are not the defaults, so no check passes by
// matching "demo" or a default number.
func TestHyphenatedName(t *testing.T) {
	spec := generator.DefaultSpec("orders-api")
	spec.Store = generator.StorePostgres
	spec.SLO = generator.SLO{P95Millis: 50, RPS: 22000, RSSMiB: 1024, CPUPercent: 60, ErrorPercent: 0.5}
	p := render(t, spec)
	t.Run("dockerfile", func(t *testing.T) { checkDockerfile(t, p) })
	t.Run("kubernetes", func(t *testing.T) { checkKubernetes(t, p) })
	t.Run("compose", func(t *testing.T) { checkCompose(t, p) })
	conf := p.file(t, "deploy/sysctl/99-orders-api.conf")
	assert.NotEmpty(t, parseSysctlConf(t, conf))
	unit := unitDirectives(t, p.file(t, "deploy/systemd/orders-api.service"))
	assert.Equal(t, []string{"/usr/local/bin/orders-api"}, unit["ExecStart"])
	assert.Equal(t, []string{"1024M"}, unit["MemoryMax"])
	assert.Contains(t, string(p.file(t, "deploy/k8s/base/config.env")), "ORDERS_API_SHUTDOWN_DELAY=")
}
