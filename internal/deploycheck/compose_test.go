package deploycheck

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/perfgen/perfgen/generator"
)

func TestCompose(t *testing.T) {
	distinct(t, matrix(t), onlyIf(generator.DeployCompose, "docker-compose.yaml", "deploy/prometheus/prometheus.yml"), checkCompose)
}

// loadCompose loads the project's compose file with the Compose
// specification's loader, schema validation included, as docker compose
// does.
func loadCompose(t *testing.T, p project) (*types.Project, string) {
	t.Helper()
	dir := t.TempDir()
	p.writeTo(t, dir)
	name := filepath.Join(dir, "docker-compose.yaml")
	content, err := os.ReadFile(name)
	require.NoError(t, err)
	proj, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: name, Content: content}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) {
		o.SetProjectName(p.spec.Name, true)
	})
	require.NoError(t, err, "docker-compose.yaml")
	return proj, dir
}

func checkCompose(t *testing.T, p project) {
	data, err := generator.NewData(p.spec)
	require.NoError(t, err)
	proj, dir := loadCompose(t, p)
	name := p.spec.Name

	want := []string{name, "prometheus", "grafana"}
	if data.Postgres {
		want = append(want, "postgres")
	}
	assert.ElementsMatch(t, want, proj.ServiceNames())

	svc, err := proj.GetService(name)
	require.NoError(t, err)
	require.NotNil(t, svc.Build, "the service is built from the project's Dockerfile")
	assert.Equal(t, dir, svc.Build.Context)
	assert.True(t, svc.ReadOnly, "read-only root, as in Kubernetes")
	assert.Contains(t, svc.CapDrop, "ALL")
	require.Contains(t, svc.Environment, data.EnvPrefix+"ADMIN_ADDR")
	assert.Equal(t, fmt.Sprintf(":%d", data.Ports.Admin), *svc.Environment[data.EnvPrefix+"ADMIN_ADDR"])

	published := map[string]string{}
	for _, port := range svc.Ports {
		published[strconv.Itoa(int(port.Target))] = port.HostIP
	}
	for _, np := range data.Deployment.Ports {
		ip, ok := published[strconv.Itoa(np.Port)]
		assert.True(t, ok, "port %s (%d) is not published", np.Name, np.Port)
		if !np.Public {
			assert.Equal(t, "127.0.0.1", ip, "the admin port (pprof) must stay on the host's loopback")
		}
	}
	hostPorts := map[string]string{}
	for _, s := range proj.Services {
		for _, port := range s.Ports {
			prev, dup := hostPorts[port.Published]
			assert.False(t, dup, "host port %s published by %s and %s", port.Published, prev, s.Name)
			hostPorts[port.Published] = s.Name
		}
		if s.Build == nil {
			_, tag := imageTag(s.Image)
			assert.True(t, tag != "" && tag != "latest", "service %s: image %q is not pinned", s.Name, s.Image)
		}
	}

	if data.Postgres {
		pg, err := proj.GetService("postgres")
		require.NoError(t, err)
		require.NotNil(t, pg.HealthCheck, "postgres needs a health check for the service to wait on")
		assert.NotEmpty(t, pg.HealthCheck.Test)
		dep, ok := svc.DependsOn["postgres"]
		require.True(t, ok, "the service must depend on postgres")
		assert.Equal(t, types.ServiceConditionHealthy, dep.Condition)
		dsn, ok := svc.Environment[data.EnvPrefix+"DATABASE_URL"]
		require.True(t, ok && dsn != nil, "the service needs %sDATABASE_URL", data.EnvPrefix)
		u, err := url.Parse(*dsn)
		require.NoError(t, err)
		assert.Equal(t, "postgres", u.Hostname(), "the DSN must name the compose service")
		assert.Equal(t, "/"+*pg.Environment["POSTGRES_DB"], u.Path, "the DSN must name the database compose creates")
	} else {
		assert.NotContains(t, svc.DependsOn, "postgres")
	}

	// Prometheus reads the generated config and scrapes the admin port.
	prom, err := proj.GetService("prometheus")
	require.NoError(t, err)
	var config string
	for _, v := range prom.Volumes {
		if v.Type == types.VolumeTypeBind && v.Target == "/etc/prometheus/prometheus.yml" {
			config = v.Source
		}
	}
	require.NotEmpty(t, config, "prometheus does not mount its config")
	rel, err := filepath.Rel(dir, config)
	require.NoError(t, err)
	assert.Equal(t, "deploy/prometheus/prometheus.yml", filepath.ToSlash(rel))
	targets := prometheusTargets(t, p.file(t, "deploy/prometheus/prometheus.yml"))
	assert.Equal(t, []string{fmt.Sprintf("%s:%d", name, data.Ports.Admin)}, targets)
	checkComposeMonitoring(t, p, proj, dir)
}

// checkComposeMonitoring checks that Prometheus loads the SLO rules and that
// Grafana gets the data source and the dashboard at the paths its
// provisioning files name.
func checkComposeMonitoring(t *testing.T, p project, proj *types.Project, dir string) {
	mounts := func(service string) map[string]string {
		svc, err := proj.GetService(service)
		require.NoError(t, err)
		out := map[string]string{}
		for _, v := range svc.Volumes {
			if v.Type == types.VolumeTypeBind {
				rel, err := filepath.Rel(dir, v.Source)
				require.NoError(t, err)
				out[v.Target] = filepath.ToSlash(rel)
				assert.True(t, v.ReadOnly, "%s mounts %s writable", service, rel)
			}
		}
		return out
	}
	var cfg prometheusConfig
	require.NoError(t, yaml.Unmarshal(p.file(t, "deploy/prometheus/prometheus.yml"), &cfg))
	require.Len(t, cfg.RuleFiles, 1)
	prom := mounts("prometheus")
	assert.Equal(t, rulesPath, prom[cfg.RuleFiles[0]], "Prometheus's rule_files must be the mounted rules.yaml")
	parseRules(t, p.file(t, rulesPath))

	graf := mounts("grafana")
	assert.Equal(t, "deploy/grafana/provisioning", graf["/etc/grafana/provisioning"])
	var provider struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name    string `yaml:"name"`
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	src := p.file(t, "deploy/grafana/provisioning/dashboards/"+p.spec.Name+".yaml")
	require.NoError(t, yaml.Unmarshal(src, &provider))
	require.Len(t, provider.Providers, 1)
	assert.Equal(t, "file", provider.Providers[0].Type)
	dashboard := provider.Providers[0].Options.Path + "/" + p.spec.Name + ".json"
	assert.Equal(t, dashboardPath(p), graf[dashboard], "Grafana's dashboard provider must find the dashboard")

	var datasources struct {
		Datasources []struct {
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	require.NoError(t, yaml.Unmarshal(p.file(t, "deploy/grafana/provisioning/datasources/prometheus.yaml"), &datasources))
	require.Len(t, datasources.Datasources, 1)
	assert.Equal(t, "prometheus", datasources.Datasources[0].Type)
	u, err := url.Parse(datasources.Datasources[0].URL)
	require.NoError(t, err)
	promSvc, err := proj.GetService("prometheus")
	require.NoError(t, err)
	assert.Equal(t, "prometheus", u.Hostname(), "the data source must name the compose service")
	var port string
	for _, pc := range promSvc.Ports {
		port = strconv.Itoa(int(pc.Target))
	}
	assert.Equal(t, port, u.Port(), "the data source must use Prometheus's container port")
}

// prometheusConfig is the part of Prometheus's configuration the generated
// file uses; decoding rejects any other field.
type prometheusConfig struct {
	RuleFiles []string `yaml:"rule_files"`
	Global    struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		MetricsPath   string `yaml:"metrics_path"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

func prometheusTargets(t *testing.T, src []byte) []string {
	t.Helper()
	var cfg prometheusConfig
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&cfg), "prometheus.yml")
	var targets []string
	for _, sc := range cfg.ScrapeConfigs {
		assert.Equal(t, "/metrics", sc.MetricsPath)
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
	}
	slices.Sort(targets)
	return targets
}
