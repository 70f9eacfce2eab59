package deploycheck

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
)

// runtimeVars are the Go runtime settings the deploy outputs leave to the
// binary and the runtime. The binary sets GOMEMLIMIT to 90 % of the cgroup
// memory limit only when GOMEMLIMIT is unset, so an output that sets it to
// the limit removes the headroom; and Go 1.25+ follows the cgroup CPU limit
// as it changes only while GOMAXPROCS is unset.
var runtimeVars = []string{"GOMEMLIMIT", "GOMAXPROCS"}

// TestRuntimeSettingsLeftToBinary checks that every deploy output sets a
// memory limit for the binary to read, and sets neither GOMEMLIMIT nor
// GOMAXPROCS itself.
func TestRuntimeSettingsLeftToBinary(t *testing.T) {
	projects := matrix(t)

	t.Run("kubernetes", func(t *testing.T) {
		distinct(t, projects, onlyIf(generator.DeployK8s, "deploy/k8s/base/deployment.yaml", "deploy/k8s/base/config.env"), func(t *testing.T, p project) {
			c := collect(t, decodeAll(t, "base", kustomizeBuild(t, p, "deploy/k8s/base")))
			require.NotNil(t, c.deployment)
			for _, ctr := range c.deployment.Spec.Template.Spec.Containers {
				assert.False(t, ctr.Resources.Limits.Memory().IsZero(), "container %s has no memory limit to derive GOMEMLIMIT from", ctr.Name)
				for _, e := range ctr.Env {
					assert.NotContains(t, runtimeVars, e.Name, "container %s sets %s", ctr.Name, e.Name)
				}
			}
			require.NotNil(t, c.configMap)
			for _, v := range runtimeVars {
				assert.NotContains(t, c.configMap.Data, v, "the ConfigMap sets %s", v)
			}
		})
	})

	t.Run("compose", func(t *testing.T) {
		distinct(t, projects, onlyIf(generator.DeployCompose, "docker-compose.yaml"), func(t *testing.T, p project) {
			proj, _ := loadCompose(t, p)
			svc, err := proj.GetService(p.spec.Name)
			require.NoError(t, err)
			require.NotNil(t, svc.Deploy)
			require.NotNil(t, svc.Deploy.Resources.Limits)
			assert.Positive(t, int64(svc.Deploy.Resources.Limits.MemoryBytes), "no memory limit to derive GOMEMLIMIT from")
			for _, v := range runtimeVars {
				assert.NotContains(t, svc.Environment, v, "the service sets %s", v)
			}
		})
	})

	t.Run("systemd", func(t *testing.T) {
		distinct(t, projects, onlyIf(generator.DeploySystemd, "deploy/systemd/demo.service"), func(t *testing.T, p project) {
			d := unitDirectives(t, p.file(t, "deploy/systemd/demo.service"))
			assert.Len(t, d["MemoryMax"], 1, "no memory limit to derive GOMEMLIMIT from")
			for _, env := range d["Environment"] {
				for _, v := range runtimeVars {
					assert.False(t, strings.HasPrefix(env, v+"="), "Environment=%s", env)
				}
			}
		})
	})
}
