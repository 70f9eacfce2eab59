package deploycheck

import (
	"bufio"
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/kustomize/api/krusty"
	kustomize "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/perfgen/perfgen/generator"
)

// strictDecoder decodes YAML into the official API types and fails on any
// field those types do not have, or on a field given twice.
var strictDecoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		appsv1.AddToScheme, corev1.AddToScheme, autoscalingv2.AddToScheme,
		policyv1.AddToScheme, networkingv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme,
		json.SerializerOptions{Yaml: true, Strict: true})
}()

// decodeAll strictly decodes every document of a YAML stream.
func decodeAll(t *testing.T, name string, stream []byte) []runtime.Object {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var out []runtime.Object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, name)
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := strictDecoder.Decode(doc, nil, nil)
		require.NoError(t, err, "%s: strict decoding into the official type failed", name)
		out = append(out, obj)
	}
	return out
}

// kustomizeBuild renders a kustomization of p in memory, as kubectl
// kustomize does.
func kustomizeBuild(t *testing.T, p project, dir string) []byte {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	for _, f := range p.files {
		require.NoError(t, fs.WriteFile("/project/"+f.Path, f.Content))
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/project/"+dir)
	require.NoError(t, err, "kustomize build %s", dir)
	out, err := m.AsYaml()
	require.NoError(t, err)
	return out
}

// cluster holds the objects one kustomization renders, by kind.
type cluster struct {
	deployment     *appsv1.Deployment
	service        *corev1.Service
	hpa            *autoscalingv2.HorizontalPodAutoscaler
	pdb            *policyv1.PodDisruptionBudget
	netpol         *networkingv1.NetworkPolicy
	configMap      *corev1.ConfigMap
	serviceMonitor *monitoringv1.ServiceMonitor
	prometheusRule *monitoringv1.PrometheusRule
}

func collect(t *testing.T, objs []runtime.Object) cluster {
	t.Helper()
	var c cluster
	one := func(kind string, set bool) {
		require.False(t, set, "more than one %s", kind)
	}
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			one("Deployment", c.deployment != nil)
			c.deployment = o
		case *corev1.Service:
			one("Service", c.service != nil)
			c.service = o
		case *autoscalingv2.HorizontalPodAutoscaler:
			one("HorizontalPodAutoscaler", c.hpa != nil)
			c.hpa = o
		case *policyv1.PodDisruptionBudget:
			one("PodDisruptionBudget", c.pdb != nil)
			c.pdb = o
		case *networkingv1.NetworkPolicy:
			one("NetworkPolicy", c.netpol != nil)
			c.netpol = o
		case *corev1.ConfigMap:
			one("ConfigMap", c.configMap != nil)
			c.configMap = o
		case *monitoringv1.ServiceMonitor:
			one("ServiceMonitor", c.serviceMonitor != nil)
			c.serviceMonitor = o
		case *monitoringv1.PrometheusRule:
			one("PrometheusRule", c.prometheusRule != nil)
			c.prometheusRule = o
		default:
			t.Errorf("unexpected object %T", o)
		}
	}
	return c
}

func TestKubernetes(t *testing.T) {
	distinct(t, matrix(t), func(p project) []string { return under(p, "deploy/k8s") }, checkKubernetes)
}

// TestKubernetesSizedFromSLO checks that resources and the autoscaler follow
// SLO answers other than the defaults.
func TestKubernetesSizedFromSLO(t *testing.T) {
	spec := generator.DefaultSpec("orders-api")
	spec.SLO = generator.SLO{P95Millis: 50, RPS: 22000, RSSMiB: 1024, CPUPercent: 60, ErrorPercent: 0.5}
	p := render(t, spec)
	c := collect(t, decodeAll(t, "base", kustomizeBuild(t, p, "deploy/k8s/base")))
	res := c.deployment.Spec.Template.Spec.Containers[0].Resources
	assert.Equal(t, "5", res.Limits.Cpu().String(), "22,000 req/s needs five cores at 5,000 req/s per core")
	assert.Equal(t, "1Gi", res.Limits.Memory().String())
	assert.Equal(t, int32(60), *c.hpa.Spec.Metrics[0].Resource.Target.AverageUtilization)
}

func checkKubernetes(t *testing.T, p project) {
	data, err := generator.NewData(p.spec)
	require.NoError(t, err)

	// Every file on its own: manifests into the official types, the
	// kustomizations into kustomize's.
	for _, name := range under(p, "deploy/k8s") {
		switch path.Ext(name) {
		case ".yaml":
			if path.Base(name) == "kustomization.yaml" {
				var k kustomize.Kustomization
				require.NoError(t, yaml.UnmarshalStrict(p.file(t, name), &k), name)
				continue
			}
			decodeAll(t, name, p.file(t, name))
		case ".env":
		default:
			t.Errorf("unexpected file %s", name)
		}
	}

	base := collect(t, decodeAll(t, "kustomize build base", kustomizeBuild(t, p, "deploy/k8s/base")))
	require.NotNil(t, base.deployment)
	require.NotNil(t, base.service)
	require.NotNil(t, base.hpa)
	require.NotNil(t, base.pdb)
	require.NotNil(t, base.netpol)
	require.NotNil(t, base.configMap)
	assert.Nil(t, base.serviceMonitor, "the base must apply on clusters without the Prometheus Operator's CRDs")
	assert.Nil(t, base.prometheusRule, "the base must apply on clusters without the Prometheus Operator's CRDs")

	monitoring := collect(t, decodeAll(t, "kustomize build monitoring", kustomizeBuild(t, p, "deploy/k8s/monitoring")))
	require.NotNil(t, monitoring.serviceMonitor)
	require.NotNil(t, monitoring.prometheusRule, "the monitoring overlay must carry the SLO alerts")
	require.NotNil(t, monitoring.deployment, "the monitoring overlay must include the base")

	checkDeployment(t, data, base)
	checkPodSecurity(t, base.deployment.Spec.Template)
	checkSelectors(t, data, base)
	checkServiceMonitor(t, monitoring)
}

func checkDeployment(t *testing.T, data *generator.Data, c cluster) {
	d := c.deployment
	// The replica count is the autoscaler's (scale_test.go).
	require.NotNil(t, c.hpa.Spec.MinReplicas)
	assert.GreaterOrEqual(t, *c.hpa.Spec.MinReplicas, int32(2), "one replica is an outage on every restart")
	replicas := *c.hpa.Spec.MinReplicas
	pod := d.Spec.Template.Spec
	require.Len(t, pod.Containers, 1)
	ctr := pod.Containers[0]
	_, tag := imageTag(ctr.Image)
	assert.True(t, tag != "" && tag != "latest", "image %q: the kustomization must pin a tag", ctr.Image)

	// Resources follow the SLO: memory is the RSS bound, requests equal
	// limits.
	wantMem := resource.MustParse(fmt.Sprintf("%dMi", data.SLO.RSSMiB))
	assert.True(t, ctr.Resources.Limits.Memory().Equal(wantMem), "memory limit %v, want %v", ctr.Resources.Limits.Memory(), &wantMem)
	assert.True(t, ctr.Resources.Requests.Memory().Equal(wantMem), "memory request %v, want %v", ctr.Resources.Requests.Memory(), &wantMem)
	assert.True(t, ctr.Resources.Requests.Cpu().Equal(*ctr.Resources.Limits.Cpu()), "cpu request must equal the limit")
	assert.GreaterOrEqual(t, ctr.Resources.Limits.Cpu().MilliValue()*int64(data.Deployment.RPSPerCore)/1000, int64(data.SLO.RPS),
		"the CPU limit cannot carry the SLO rate")
	assert.Zero(t, ctr.Resources.Limits.Cpu().MilliValue()%1000, "a whole-core CPU limit makes GOMAXPROCS exact")

	// GOMEMLIMIT and GOMAXPROCS are left to the binary: runtime_test.go.
	if data.Postgres {
		var dsn *corev1.EnvVar
		for i := range ctr.Env {
			if ctr.Env[i].Name == data.EnvPrefix+"DATABASE_URL" {
				dsn = &ctr.Env[i]
			}
		}
		require.NotNil(t, dsn, "the Postgres store needs %sDATABASE_URL", data.EnvPrefix)
		require.NotNil(t, dsn.ValueFrom.SecretKeyRef, "a database URL holds a password: read it from a Secret")
	}

	// Configuration comes from the generated ConfigMap.
	require.Len(t, ctr.EnvFrom, 1)
	require.NotNil(t, ctr.EnvFrom[0].ConfigMapRef)
	assert.Equal(t, c.configMap.Name, ctr.EnvFrom[0].ConfigMapRef.Name, "envFrom must name the generated ConfigMap")
	cfg := c.configMap.Data
	assert.Equal(t, fmt.Sprintf(":%d", data.Ports.Admin), cfg[data.EnvPrefix+"ADMIN_ADDR"], "probes need the admin port beyond loopback")
	delay, err := time.ParseDuration(cfg[data.EnvPrefix+"SHUTDOWN_DELAY"])
	require.NoError(t, err, "%sSHUTDOWN_DELAY", data.EnvPrefix)
	timeout, err := time.ParseDuration(cfg[data.EnvPrefix+"SHUTDOWN_TIMEOUT"])
	require.NoError(t, err, "%sSHUTDOWN_TIMEOUT", data.EnvPrefix)
	assert.Positive(t, delay, "without a delay, endpoints still route to a stopping pod")
	require.NotNil(t, pod.TerminationGracePeriodSeconds)
	assert.Greater(t, time.Duration(*pod.TerminationGracePeriodSeconds)*time.Second, delay+timeout,
		"SIGKILL would cut the drain short")
	assert.Nil(t, ctr.Lifecycle, "the image has no shell for a preStop exec; the service delays itself")

	// Ports, by name.
	ports := map[string]int32{}
	for _, cp := range ctr.Ports {
		ports[cp.Name] = cp.ContainerPort
	}
	for _, np := range data.Deployment.Ports {
		assert.Equal(t, int32(np.Port), ports[np.Name], "container port %s", np.Name)
	}
	assert.Len(t, ports, len(data.Deployment.Ports))

	// Three distinct probes on the admin port.
	probes := map[string]*corev1.Probe{"startup": ctr.StartupProbe, "readiness": ctr.ReadinessProbe, "liveness": ctr.LivenessProbe}
	wantPath := map[string]string{"startup": "/healthz", "readiness": "/readyz", "liveness": "/healthz"}
	for kind, pr := range probes {
		require.NotNil(t, pr, "%s probe", kind)
		require.NotNil(t, pr.HTTPGet, "%s probe must be an HTTP GET", kind)
		assert.Equal(t, wantPath[kind], pr.HTTPGet.Path, "%s probe path", kind)
		assert.Equal(t, "admin", pr.HTTPGet.Port.String(), "%s probe port", kind)
		assert.Positive(t, pr.TimeoutSeconds, "%s probe timeout", kind)
	}
	assert.NotEqual(t, ctr.ReadinessProbe.HTTPGet.Path, ctr.LivenessProbe.HTTPGet.Path,
		"readiness and liveness must differ: a dependency outage must not restart pods")
	assert.GreaterOrEqual(t, ctr.StartupProbe.PeriodSeconds*ctr.StartupProbe.FailureThreshold, int32(30), "startup budget")

	// The root file system is read-only; /tmp is the one writable path.
	require.NotNil(t, ctr.SecurityContext)
	require.NotNil(t, ctr.SecurityContext.ReadOnlyRootFilesystem)
	assert.True(t, *ctr.SecurityContext.ReadOnlyRootFilesystem)
	var tmpVolume string
	for _, m := range ctr.VolumeMounts {
		if m.MountPath == "/tmp" {
			tmpVolume = m.Name
		}
	}
	require.NotEmpty(t, tmpVolume, "no volume at /tmp")
	var tmpIsEmptyDir bool
	for _, v := range pod.Volumes {
		if v.Name == tmpVolume && v.EmptyDir != nil {
			tmpIsEmptyDir = true
		}
	}
	assert.True(t, tmpIsEmptyDir, "/tmp must be an emptyDir")

	// Replicas spread across zones and nodes.
	keys := map[string]bool{}
	for _, c := range pod.TopologySpreadConstraints {
		keys[c.TopologyKey] = true
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		require.NoError(t, err)
		assert.True(t, sel.Matches(labels.Set(d.Spec.Template.Labels)), "topology spread selector misses the pods")
	}
	assert.True(t, keys["kubernetes.io/hostname"] && keys["topology.kubernetes.io/zone"], "spread over %v", keys)

	// Pod-level sysctls: only the namespaced ones, and the same values as
	// the node drop-in.
	if pod.SecurityContext != nil {
		for _, s := range pod.SecurityContext.Sysctls {
			var found bool
			for _, h := range data.Deployment.Sysctls {
				if h.Key == s.Name {
					found = true
					assert.Equal(t, h.Value, s.Value, "sysctl %s differs from the node drop-in", s.Name)
				}
			}
			assert.True(t, found, "pod sysctl %s is not in the node drop-in", s.Name)
			if s.Name == "net.ipv4.ip_local_port_range" {
				var low, high int
				_, err := fmt.Sscan(s.Value, &low, &high)
				require.NoError(t, err, "%s = %q", s.Name, s.Value)
				for _, np := range data.Deployment.Ports {
					assert.Less(t, np.Port, low, "outbound source ports may take the service's port %s", np.Name)
				}
			}
		}
	}

	// The autoscaler holds CPU at the SLO's bound and never goes below the
	// Deployment's replicas.
	hpa := c.hpa
	assert.Equal(t, "Deployment", hpa.Spec.ScaleTargetRef.Kind)
	assert.Equal(t, d.Name, hpa.Spec.ScaleTargetRef.Name)
	assert.Greater(t, hpa.Spec.MaxReplicas, *hpa.Spec.MinReplicas)
	require.Len(t, hpa.Spec.Metrics, 1)
	m := hpa.Spec.Metrics[0]
	require.Equal(t, autoscalingv2.ResourceMetricSourceType, m.Type)
	assert.Equal(t, corev1.ResourceCPU, m.Resource.Name)
	assert.Equal(t, autoscalingv2.UtilizationMetricType, m.Resource.Target.Type)
	require.NotNil(t, m.Resource.Target.AverageUtilization)
	assert.Equal(t, int32(data.SLO.CPUPercent), *m.Resource.Target.AverageUtilization)

	// The disruption budget lets a drain proceed but never takes every
	// replica.
	pdb := c.pdb
	switch {
	case pdb.Spec.MaxUnavailable != nil:
		n, err := intOrPercent(pdb.Spec.MaxUnavailable.String(), replicas)
		require.NoError(t, err)
		assert.True(t, n >= 1 && n < replicas, "maxUnavailable %s of %d replicas", pdb.Spec.MaxUnavailable, replicas)
	case pdb.Spec.MinAvailable != nil:
		n, err := intOrPercent(pdb.Spec.MinAvailable.String(), replicas)
		require.NoError(t, err)
		assert.True(t, n >= 1 && n < replicas, "minAvailable %s of %d replicas", pdb.Spec.MinAvailable, replicas)
	default:
		t.Error("PodDisruptionBudget sets neither maxUnavailable nor minAvailable")
	}
}

// intOrPercent resolves an int-or-percent against total, rounding up as the
// disruption controller does.
func intOrPercent(s string, total int32) (int32, error) {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		var n int32
		if _, err := fmt.Sscan(p, &n); err != nil {
			return 0, err
		}
		return (n*total + 99) / 100, nil
	}
	var n int32
	_, err := fmt.Sscan(s, &n)
	return n, err
}

// checkPodSecurity evaluates the pod template with the Pod Security Admission
// library at "restricted", for the oldest version it is GA in and the latest.
func checkPodSecurity(t *testing.T, tmpl corev1.PodTemplateSpec) {
	ev, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	require.NoError(t, err)
	for _, v := range []psapi.Version{psapi.MajorMinorVersion(1, 25), psapi.LatestVersion()} {
		res := policy.AggregateCheckResults(ev.EvaluatePod(psapi.LevelVersion{Level: psapi.LevelRestricted, Version: v}, &tmpl.ObjectMeta, &tmpl.Spec))
		assert.True(t, res.Allowed, "Pod Security %q at %s forbids the pod: %s", psapi.LevelRestricted, v, res.ForbiddenDetail())
	}
}

// checkSelectors checks that the Service, PDB, NetworkPolicy select the
// Deployment's pods and name ports the container has.
func checkSelectors(t *testing.T, data *generator.Data, c cluster) {
	podLabels := labels.Set(c.deployment.Spec.Template.Labels)
	dsel, err := metav1.LabelSelectorAsSelector(c.deployment.Spec.Selector)
	require.NoError(t, err)
	assert.True(t, dsel.Matches(podLabels), "Deployment selector misses its own pods")

	assert.True(t, labels.SelectorFromSet(c.service.Spec.Selector).Matches(podLabels), "Service selects no pods")
	containerPorts := map[string]bool{}
	for _, p := range c.deployment.Spec.Template.Spec.Containers[0].Ports {
		containerPorts[p.Name] = true
	}
	var svcPorts []string
	for _, p := range c.service.Spec.Ports {
		assert.True(t, containerPorts[p.TargetPort.String()], "Service port %s targets unknown port %s", p.Name, p.TargetPort.String())
		svcPorts = append(svcPorts, p.Name)
	}
	for _, np := range data.Deployment.Ports {
		assert.Contains(t, svcPorts, np.Name)
	}

	for kind, sel := range map[string]*metav1.LabelSelector{"PodDisruptionBudget": c.pdb.Spec.Selector, "NetworkPolicy": &c.netpol.Spec.PodSelector} {
		s, err := metav1.LabelSelectorAsSelector(sel)
		require.NoError(t, err)
		assert.False(t, s.Empty(), "%s selects every pod in the namespace", kind)
		assert.True(t, s.Matches(podLabels), "%s selects none of the pods", kind)
	}

	// Every public port is open to clients; the admin port only to the
	// monitoring namespace.
	open := map[string]bool{}
	for _, rule := range c.netpol.Spec.Ingress {
		for _, p := range rule.Ports {
			require.NotNil(t, p.Port)
			assert.True(t, containerPorts[p.Port.String()], "NetworkPolicy names unknown port %s", p.Port.String())
			if p.Port.String() == "admin" {
				assert.NotEmpty(t, rule.From, "the admin port (pprof, metrics) must not be open to every pod")
			}
			open[p.Port.String()] = true
		}
	}
	for _, np := range data.Deployment.Ports {
		assert.True(t, open[np.Name], "NetworkPolicy blocks port %s", np.Name)
	}
}

func checkServiceMonitor(t *testing.T, c cluster) {
	sm := c.serviceMonitor
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	require.NoError(t, err)
	assert.True(t, sel.Matches(labels.Set(c.service.Labels)), "ServiceMonitor selects no Service")
	require.Len(t, sm.Spec.Endpoints, 1)
	assert.Equal(t, "admin", sm.Spec.Endpoints[0].Port)
	var found bool
	for _, p := range c.service.Spec.Ports {
		found = found || p.Name == sm.Spec.Endpoints[0].Port
	}
	assert.True(t, found, "the Service has no port %q to scrape", sm.Spec.Endpoints[0].Port)
}

// TestKubectlKustomize renders the default project's kustomizations with
// kubectl itself, when it is installed.
func TestKubectlKustomize(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed; the in-process kustomize build still ran")
	}
	// kubectl before 1.21 embeds kustomize v2, which predates directory
	// resources and configMapGenerator envs, and reports no version here.
	out, err := exec.Command(kubectl, "version", "--client", "-o", "json").Output()
	require.NoError(t, err, "kubectl version")
	var v struct {
		KustomizeVersion string `json:"kustomizeVersion"`
	}
	require.NoError(t, stdjson.Unmarshal(out, &v))
	major, _, _ := strings.Cut(strings.TrimPrefix(v.KustomizeVersion, "v"), ".")
	if n, err := strconv.Atoi(major); err != nil || n < 4 {
		t.Skipf("kubectl's kustomize %q is older than v4; the in-process kustomize build still ran", v.KustomizeVersion)
	}
	p := defaultProject(t)
	dir := t.TempDir()
	p.writeTo(t, dir)
	for _, k := range []string{"deploy/k8s/base", "deploy/k8s/monitoring"} {
		out, err = exec.Command(kubectl, "kustomize", dir+"/"+k).Output()
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		require.NoError(t, err, "kubectl kustomize %s: %s", k, stderr)
		c := collect(t, decodeAll(t, "kubectl kustomize "+k, out))
		require.NotNil(t, c.deployment)
		require.NotNil(t, c.configMap)
	}
}
