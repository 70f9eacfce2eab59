package generator

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckName(t *testing.T) {
	valid := []string{"a", "demo", "orders-api", "svc2", "a-b-c", strings.Repeat("a", 63)}
	for _, name := range valid {
		assert.NoError(t, CheckName(name), name)
	}
	invalid := map[string]string{
		"":                      "empty",
		"my svc":                "not allowed",
		"MySvc":                 "lowercase letter",
		"orders_api":            "not allowed",
		"2fast":                 "start with a lowercase letter",
		"-svc":                  "start with a lowercase letter",
		"svc-":                  "end with a hyphen",
		"func":                  "Go keyword",
		"type":                  "Go keyword",
		".":                     "directory",
		"..":                    "directory",
		"a/b":                   "not allowed",
		"/abs":                  "start with a lowercase letter",
		strings.Repeat("a", 64): "longer than 63",
		"café":                  "not allowed",
	}
	for name, want := range invalid {
		err := CheckName(name)
		if assert.Error(t, err, "%q", name) {
			assert.Contains(t, err.Error(), want, "%q", name)
			assert.NotContains(t, err.Error(), "\n", "one line")
		}
	}
}

func TestCheckModule(t *testing.T) {
	for _, p := range []string{"example.com/demo", "github.com/you/orders-api", "gitlab.example.org/team/svc/v2"} {
		assert.NoError(t, CheckModule(p), p)
	}
	for _, p := range []string{"", "demo", "example.com/has space", "example.com//double", "-example.com/x", "example.com/x/"} {
		err := CheckModule(p)
		if assert.Error(t, err, "%q", p) {
			assert.Contains(t, err.Error(), "module path")
		}
	}
}

func TestParseEnums(t *testing.T) {
	tr, err := ParseTransport("grpc")
	require.NoError(t, err)
	assert.Equal(t, TransportGRPC, tr)
	_, err = ParseTransport("soap")
	assert.EqualError(t, err, `unknown transport "soap"; use one of http, grpc, both`)

	_, err = ParseStore("mysql")
	assert.EqualError(t, err, `unknown store "mysql"; use one of memory, postgres`)

	d, err := ParseDeploy("k8s, docker,k8s")
	require.NoError(t, err)
	assert.Equal(t, []Deploy{DeployDocker, DeployK8s}, d, "canonical order, no duplicates")
	d, err = ParseDeploy("none")
	require.NoError(t, err)
	assert.Empty(t, d)
	d, err = ParseDeploy("all")
	require.NoError(t, err)
	assert.Equal(t, Deploys, d)
	_, err = ParseDeploy("docker,helm")
	assert.ErrorContains(t, err, `unknown deploy output "helm"`)
}

func TestParseDeployRejectsAmbiguousLists(t *testing.T) {
	for list, want := range map[string]string{
		"none,docker": `deploy list "none,docker" combines none with other outputs; use none alone or list only outputs`,
		"k8s, all":    `deploy list "k8s, all" combines all with other outputs; use all alone or list only outputs`,
		"none,none":   `deploy list "none,none" combines none with other outputs`,
		"docker,,k8s": `deploy list "docker,,k8s" has an empty element; separate outputs with single commas`,
		"docker,":     `deploy list "docker," has an empty element`,
	} {
		_, err := ParseDeploy(list)
		assert.ErrorContains(t, err, want, list)
	}
}

func TestSpecValidateReportsEveryProblem(t *testing.T) {
	s := DefaultSpec("demo")
	s.Name = "Bad Name"
	s.Module = "nodot"
	s.Transport = "carrier-pigeon"
	s.SLO.CPUPercent = 150
	err := s.Validate()
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	assert.Len(t, lines, 4, err.Error())

	require.NoError(t, DefaultSpec("demo").Validate())
}

func TestSLOCheck(t *testing.T) {
	bad := []func(*SLO){
		func(s *SLO) { s.P95Millis = 0 },
		func(s *SLO) { s.RPS = -1 },
		func(s *SLO) { s.RSSMiB = 0 },
		func(s *SLO) { s.CPUPercent = 101 },
		func(s *SLO) { s.ErrorPercent = -0.5 },
	}
	for i, mutate := range bad {
		s := DefaultSLO()
		mutate(&s)
		assert.Error(t, s.Check(), "case %d", i)
	}
}
