package deploycheck

import (
	"bytes"
	stdjson "encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/perfgen/perfgen/generator"
)

// TestKubernetesAtScale checks what keeps the manifests safe when the
// autoscaler has scaled the service out: the autoscaler alone sets the
// replica count, replicas spread over nodes and zones, ephemeral storage is
// bounded, and outbound traffic is limited to what the service calls.
func TestKubernetesAtScale(t *testing.T) {
	distinct(t, matrix(t), func(p project) []string { return under(p, "deploy/k8s/base") }, func(t *testing.T, p project) {
		data, err := generator.NewData(p.spec)
		require.NoError(t, err)
		c := collect(t, decodeAll(t, "base", kustomizeBuild(t, p, "deploy/k8s/base")))
		require.NotNil(t, c.deployment)
		require.NotNil(t, c.hpa)
		require.NotNil(t, c.netpol)

		// kubectl apply would reset a scaled-out Deployment to a count of
		// its own.
		assert.Equal(t, c.deployment.Name, c.hpa.Spec.ScaleTargetRef.Name)
		assert.Nil(t, c.deployment.Spec.Replicas, "the Deployment sets replicas while the HPA manages it")

		pod := c.deployment.Spec.Template.Spec
		spread := map[string]bool{}
		for _, tsc := range pod.TopologySpreadConstraints {
			spread[tsc.TopologyKey] = true
			assert.Equal(t, int32(1), tsc.MaxSkew, "spread over %s", tsc.TopologyKey)
		}
		assert.True(t, spread[corev1.LabelHostname], "replicas may share a node")
		assert.True(t, spread[corev1.LabelTopologyZone], "replicas may share a zone where nodes are labelled")

		for _, ctr := range pod.Containers {
			req, lim := ctr.Resources.Requests.StorageEphemeral(), ctr.Resources.Limits.StorageEphemeral()
			assert.False(t, req.IsZero(), "container %s requests no ephemeral storage", ctr.Name)
			assert.False(t, lim.IsZero(), "container %s has no ephemeral-storage limit", ctr.Name)
			for _, v := range pod.Volumes {
				if v.EmptyDir != nil {
					require.NotNil(t, v.EmptyDir.SizeLimit, "emptyDir %s has no size limit", v.Name)
					assert.Less(t, v.EmptyDir.SizeLimit.Value(), lim.Value(), "emptyDir %s fills the whole ephemeral-storage limit", v.Name)
				}
			}
		}

		np := c.netpol
		assert.Contains(t, np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress, "outbound traffic is unrestricted")
		dns := egressTo(np, "kube-system", 53)
		assert.ElementsMatch(t, []corev1.Protocol{corev1.ProtocolUDP, corev1.ProtocolTCP}, dns, "DNS over UDP and TCP to kube-dns")
		if data.Postgres {
			assert.Contains(t, egressTo(np, "", 5432), corev1.ProtocolTCP, "Postgres is unreachable")
		} else {
			assert.Empty(t, egressTo(np, "", 5432), "a memory-store service opens the Postgres port")
		}
		for _, port := range []int{443, data.Ports.HTTP} {
			assert.Contains(t, egressTo(np, "", port), corev1.ProtocolTCP, "upstreams on port %d are unreachable", port)
		}
	})
}

// egressTo returns the protocols np's egress rules allow on port: to pods of
// namespace when it is not empty (by the namespace's name label), else to
// any destination.
func egressTo(np *networkingv1.NetworkPolicy, namespace string, port int) []corev1.Protocol {
	var out []corev1.Protocol
	for _, r := range np.Spec.Egress {
		matches := len(r.To) == 0
		if namespace != "" {
			matches = false
			for _, peer := range r.To {
				if peer.NamespaceSelector != nil && peer.NamespaceSelector.MatchLabels[corev1.LabelMetadataName] == namespace {
					matches = true
				}
			}
		}
		if !matches {
			continue
		}
		for _, p := range r.Ports {
			if p.Port != nil && *p.Port == intstr.FromInt(port) && p.Protocol != nil {
				out = append(out, *p.Protocol)
			}
		}
	}
	return out
}

// deliberateKubeScore lists the kube-score checks whose critical grade the
// manifests take on purpose, each with the reason docs/deploy.md gives.
var deliberateKubeScore = map[string]string{
	// The kustomization pins an immutable tag (checkDeployment fails on
	// none or "latest"), so IfNotPresent gets the same image as Always
	// while a registry outage cannot stop pods from starting on nodes that
	// have it: scale-out and rescheduling keep working.
	"container-image-pull-policy": "IfNotPresent with a pinned tag",
}

// kubeScoreObject is one object of `kube-score score --output-format json`.
type kubeScoreObject struct {
	ObjectName string `json:"object_name"`
	TypeMeta   struct {
		Kind string `json:"kind"`
	} `json:"type_meta"`
	Checks []struct {
		Check struct {
			ID string `json:"id"`
		} `json:"check"`
		Grade    int  `json:"grade"`
		Skipped  bool `json:"skipped"`
		Comments []struct {
			Path        string `json:"path"`
			Summary     string `json:"summary"`
			Description string `json:"description"`
		} `json:"comments"`
	} `json:"checks"`
}

// kubeScoreCritical is kube-score's grade for a critical finding.
const kubeScoreCritical = 1

// TestKubeScore runs kube-score (pinned in perfgen's Makefile, which puts it
// on PATH for `make deploycheck`) over each kustomization's output and fails
// on any critical finding that deliberateKubeScore does not list.
func TestKubeScore(t *testing.T) {
	kubeScore, err := exec.LookPath("kube-score")
	require.NoError(t, err, "kube-score is not on PATH; `make deploycheck` installs the pinned version into bin/")
	seen := map[string]bool{}
	distinct(t, matrix(t), func(p project) []string { return under(p, "deploy/k8s") }, func(t *testing.T, p project) {
		for _, dir := range []string{"deploy/k8s/base", "deploy/k8s/monitoring"} {
			manifests := kustomizeBuild(t, p, dir)
			cmd := exec.Command(kubeScore, "score", "--output-format", "json", "-")
			cmd.Stdin = bytes.NewReader(manifests)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			// kube-score exits 1 when it grades anything critical; the
			// report says what.
			if err := cmd.Run(); err != nil && stdout.Len() == 0 {
				t.Fatalf("kube-score %s: %v\n%s", dir, err, stderr.String())
			}
			var report []kubeScoreObject
			require.NoError(t, stdjson.Unmarshal(stdout.Bytes(), &report), "kube-score report:\n%s", stdout.String())
			require.NotEmpty(t, report, "kube-score scored nothing in %s", dir)
			for _, obj := range report {
				for _, c := range obj.Checks {
					if c.Skipped || c.Grade > kubeScoreCritical {
						continue
					}
					if _, ok := deliberateKubeScore[c.Check.ID]; ok {
						seen[c.Check.ID] = true
						continue
					}
					var why []string
					for _, cm := range c.Comments {
						why = append(why, strings.TrimSpace(fmt.Sprintf("%s %s: %s", cm.Path, cm.Summary, cm.Description)))
					}
					t.Errorf("%s: kube-score %s is critical for %s %s: %s", dir, c.Check.ID, obj.TypeMeta.Kind, obj.ObjectName, strings.Join(why, "; "))
				}
			}
		}
	})
	// A deliberate exception that no manifest needs any more is stale.
	for id := range deliberateKubeScore {
		assert.True(t, seen[id], "deliberateKubeScore lists %s, which no manifest triggers; remove it", id)
	}
}
