package generator

// deployManifest lists container, Kubernetes, compose and host-tuning outputs.
// Kubernetes manifests follow kustomize's layout: a base every cluster can
// apply, and an overlay for what needs the Prometheus Operator's CRDs.
var deployManifest = []Entry{
	{"deploy/docker/Dockerfile.tmpl", "Dockerfile", IfDocker, modeFile},
	{"deploy/docker/dockerignore.tmpl", ".dockerignore", IfDocker, modeFile},

	{"deploy/k8s/base/kustomization.yaml.tmpl", "deploy/k8s/base/kustomization.yaml", IfK8s, modeFile},
	{"deploy/k8s/base/config.env.tmpl", "deploy/k8s/base/config.env", IfK8s, modeFile},
	{"deploy/k8s/base/deployment.yaml.tmpl", "deploy/k8s/base/deployment.yaml", IfK8s, modeFile},
	{"deploy/k8s/base/service.yaml.tmpl", "deploy/k8s/base/service.yaml", IfK8s, modeFile},
	{"deploy/k8s/base/hpa.yaml.tmpl", "deploy/k8s/base/hpa.yaml", IfK8s, modeFile},
	{"deploy/k8s/base/pdb.yaml.tmpl", "deploy/k8s/base/pdb.yaml", IfK8s, modeFile},
	{"deploy/k8s/base/networkpolicy.yaml.tmpl", "deploy/k8s/base/networkpolicy.yaml", IfK8s, modeFile},
	{"deploy/k8s/monitoring/kustomization.yaml.tmpl", "deploy/k8s/monitoring/kustomization.yaml", IfK8s, modeFile},
	{"deploy/k8s/monitoring/servicemonitor.yaml.tmpl", "deploy/k8s/monitoring/servicemonitor.yaml", IfK8s, modeFile},

	{"deploy/compose/docker-compose.yaml.tmpl", "docker-compose.yaml", IfCompose, modeFile},
	{"deploy/compose/prometheus.yml.tmpl", "deploy/prometheus/prometheus.yml", IfCompose, modeFile},

	{"deploy/sysctl/sysctl.conf.tmpl", "deploy/sysctl/99-{{.Name}}.conf", IfSysctl, modeFile},
	{"deploy/sysctl/tune.sh.tmpl", "deploy/sysctl/tune.sh", IfSysctl, modeExec},

	{"deploy/systemd/service.tmpl", "deploy/systemd/{{.Name}}.service", IfSystemd, modeFile},
}
