// Package generator turns a project's answers (a Spec) into the files of a
// generated service and writes them safely to disk.
//
// The engine has three steps that callers compose: Spec.Validate checks the
// answers, Render is a pure function from a template file system and a Spec
// to Files, and Plan/Writer put Files on disk two-phase and atomically.
package generator

import (
	"errors"
	"fmt"
	"go/token"
	"slices"
	"strings"

	"golang.org/x/mod/module"
)

// Transport selects which public servers a generated service runs.
type Transport string

// The transports a service can serve.
const (
	TransportHTTP Transport = "http"
	TransportGRPC Transport = "grpc"
	TransportBoth Transport = "both"
)

// Transports lists every valid Transport in the order prompts show them.
var Transports = []Transport{TransportHTTP, TransportGRPC, TransportBoth}

// Store selects the storage behind a generated service's Store interface.
type Store string

// The stores a service can use.
const (
	StoreMemory   Store = "memory"
	StorePostgres Store = "postgres"
)

// Stores lists every valid Store in the order prompts show them.
var Stores = []Store{StoreMemory, StorePostgres}

// Deploy names one deployment output a project can include.
type Deploy string

// The deployment outputs a project can include.
const (
	DeployDocker  Deploy = "docker"
	DeployCompose Deploy = "compose"
	DeployK8s     Deploy = "k8s"
	DeploySysctl  Deploy = "sysctl"
	DeploySystemd Deploy = "systemd"
)

// Deploys lists every valid Deploy in the order they are written to answers.
var Deploys = []Deploy{DeployDocker, DeployCompose, DeployK8s, DeploySysctl, DeploySystemd}

// SLO holds the service-level objectives the load-test harness checks.
type SLO struct {
	// P95Millis is the 95th-percentile latency bound in milliseconds.
	P95Millis int `yaml:"p95_ms"`
	// RPS is the throughput the service must sustain, in requests per second.
	RPS int `yaml:"rps"`
	// RSSMiB bounds the process's resident memory in MiB.
	RSSMiB int `yaml:"rss_mib"`
	// CPUPercent bounds CPU use at the target rate, as a percentage of the
	// cores the service is allotted.
	CPUPercent int `yaml:"cpu_percent"`
	// ErrorPercent bounds the share of failed requests, in percent.
	ErrorPercent float64 `yaml:"error_percent"`
}

// Spec is the complete set of answers that determines a generated project.
// The same Spec always renders byte-identical files.
type Spec struct {
	// Name is the service name: a DNS label that is also the binary's name.
	Name string `yaml:"name"`
	// Module is the Go module path of the generated project.
	Module string `yaml:"module"`
	// Transport selects the public servers: HTTP, gRPC or both.
	Transport Transport `yaml:"transport"`
	// Store selects the storage behind the items resource.
	Store Store `yaml:"store"`
	// Cache turns the read-through cache in front of the store on or off.
	Cache bool `yaml:"cache"`
	// Upstream generates the example outbound call (GET
	// /v1/upstream/items/{id}) and the tuned HTTP client and load balancer
	// it uses. It needs the HTTP API; a gRPC-only service ignores it.
	Upstream bool `yaml:"upstream"`
	// Deploy lists the deployment outputs to include.
	Deploy []Deploy `yaml:"deploy"`
	// CI adds a GitHub Actions workflow and a Dependabot config.
	CI bool `yaml:"ci"`
	// SLO holds the objectives written to bench/slo.yaml.
	SLO SLO `yaml:"slo"`
	// Resources are the resources added with `perfgen add resource`,
	// served beside items, in the order they were added (which numbers
	// their migrations).
	Resources []Resource `yaml:"resources,omitempty"`

	// PerfgenVersion is the perfgen module version the project pins in its
	// go.mod as a `go tool`, so its go:generate hooks run that version. It
	// is not an answer: `perfgen new` and `perfgen sync` fill it from their
	// own build (see ReleaseVersion), and tests set ExamplePerfgenVersion,
	// so Render never reads the binary. Empty, the project has no tool
	// directive and its hooks run the perfgen on PATH.
	PerfgenVersion string `yaml:"-"`
}

// DefaultSLO returns the service-level objectives perfgen proposes: P95 under
// 100 ms at more than 10,000 requests/s within 512 MiB, 70 % CPU and 0.1 %
// errors.
func DefaultSLO() SLO {
	return SLO{P95Millis: 100, RPS: 10000, RSSMiB: 512, CPUPercent: 70, ErrorPercent: 0.1}
}

// DefaultSpec returns the answers perfgen proposes for a service called name.
func DefaultSpec(name string) Spec {
	return Spec{
		Name:      name,
		Module:    DefaultModule(name),
		Transport: TransportBoth,
		Store:     StoreMemory,
		Cache:     true,
		// On by default so that answers files written before the option
		// existed, which lack the key, still render the project they did.
		Upstream: true,
		Deploy:   slices.Clone(Deploys),
		CI:       true,
		SLO:      DefaultSLO(),
	}
}

// DefaultModule returns the module path proposed for a service called name.
func DefaultModule(name string) string { return "example.com/" + name }

// Validate checks every answer and reports all problems at once, one per line.
func (s Spec) Validate() error {
	var errs []error
	if err := CheckName(s.Name); err != nil {
		errs = append(errs, err)
	}
	if err := CheckModule(s.Module); err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseTransport(string(s.Transport)); err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseStore(string(s.Store)); err != nil {
		errs = append(errs, err)
	}
	if err := checkDeploys(s.Deploy); err != nil {
		errs = append(errs, err)
	}
	if err := s.SLO.Check(); err != nil {
		errs = append(errs, err)
	}
	if err := s.checkResources(); err != nil {
		errs = append(errs, err)
	}
	if s.PerfgenVersion != "" {
		if err := module.Check(PerfgenModule, s.PerfgenVersion); err != nil || module.CanonicalVersion(s.PerfgenVersion) != s.PerfgenVersion {
			errs = append(errs, fmt.Errorf("invalid perfgen version %q: not a module version a proxy serves; use a release such as v1.2.3", s.PerfgenVersion))
		}
	}
	return errors.Join(errs...)
}

// Normalize returns s with its deploy list sorted in canonical order and
// without duplicates, so equal answers always serialize identically.
func (s Spec) Normalize() Spec {
	var deploys []Deploy
	for _, d := range Deploys {
		if slices.Contains(s.Deploy, d) {
			deploys = append(deploys, d)
		}
	}
	s.Deploy = deploys
	if s.Transport == TransportGRPC {
		// The upstream example is an HTTP route: a gRPC-only service
		// cannot have it, and its answers should not say it does.
		s.Upstream = false
	}
	return s
}

// HasDeploy reports whether the deployment output d is selected.
func (s Spec) HasDeploy(d Deploy) bool { return slices.Contains(s.Deploy, d) }

// maxNameLen keeps a service name a valid DNS label (RFC 1123), so it can name
// a Kubernetes object, a container and a systemd unit as it is.
const maxNameLen = 63

// CheckName reports whether name can name a service: a lowercase DNS label
// that starts with a letter, is not a Go keyword, and is at most 63 bytes.
func CheckName(name string) error {
	const fix = "use lowercase letters, digits and hyphens, starting with a letter (for example orders-api)"
	switch {
	case name == "":
		return fmt.Errorf("service name is empty; %s", fix)
	case name == "." || name == "..":
		return fmt.Errorf("invalid service name %q: it is a directory, not a name; %s", name, fix)
	case len(name) > maxNameLen:
		return fmt.Errorf("invalid service name %q: longer than %d characters; choose a shorter name", name, maxNameLen)
	case token.IsKeyword(name):
		return fmt.Errorf("invalid service name %q: it is a Go keyword; choose another name, such as %s-svc", name, name)
	case name[0] < 'a' || name[0] > 'z':
		return fmt.Errorf("invalid service name %q: must start with a lowercase letter; %s", name, fix)
	case strings.HasSuffix(name, "-"):
		return fmt.Errorf("invalid service name %q: must not end with a hyphen; %s", name, fix)
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return fmt.Errorf("invalid service name %q: %q is not allowed; %s", name, r, fix)
		}
	}
	return nil
}

// CheckModule reports whether path is a valid Go module path.
func CheckModule(path string) error {
	if path == "" {
		return errors.New("module path is empty; use a path such as github.com/you/orders-api")
	}
	if err := module.CheckPath(path); err != nil {
		return fmt.Errorf("invalid module path %q: %w; use a path such as github.com/you/orders-api", path, errors.Unwrap(err))
	}
	return nil
}

// ParseTransport parses a transport name.
func ParseTransport(s string) (Transport, error) {
	return parseEnum("transport", s, Transports)
}

// ParseStore parses a store name.
func ParseStore(s string) (Store, error) {
	return parseEnum("store", s, Stores)
}

// ParseDeploy parses a comma-separated list of deployment outputs. The words
// "none" and "all" select nothing and everything; each must stand alone,
// since a list such as "none,docker" has no single meaning.
func ParseDeploy(s string) ([]Deploy, error) {
	switch strings.TrimSpace(s) {
	case "none", "":
		return nil, nil
	case "all":
		return slices.Clone(Deploys), nil
	}
	var out []Deploy
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		switch part {
		case "none", "all":
			return nil, fmt.Errorf("deploy list %q combines %s with other outputs; use %s alone or list only outputs", s, part, part)
		case "":
			return nil, fmt.Errorf("deploy list %q has an empty element; separate outputs with single commas", s)
		}
		d, err := parseEnum("deploy output", part, Deploys)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return Spec{Deploy: out}.Normalize().Deploy, nil
}

func checkDeploys(ds []Deploy) error {
	for _, d := range ds {
		if _, err := parseEnum("deploy output", string(d), Deploys); err != nil {
			return err
		}
	}
	return nil
}

func parseEnum[T ~string](what, s string, valid []T) (T, error) {
	for _, v := range valid {
		if string(v) == s {
			return v, nil
		}
	}
	names := make([]string, len(valid))
	for i, v := range valid {
		names[i] = string(v)
	}
	return "", fmt.Errorf("unknown %s %q; use one of %s", what, s, strings.Join(names, ", "))
}

// Check reports whether every objective is positive and within its range.
func (o SLO) Check() error {
	switch {
	case o.P95Millis <= 0:
		return fmt.Errorf("invalid SLO p95_ms %d: must be a positive number of milliseconds", o.P95Millis)
	case o.RPS <= 0:
		return fmt.Errorf("invalid SLO rps %d: must be a positive request rate", o.RPS)
	case o.RSSMiB <= 0:
		return fmt.Errorf("invalid SLO rss_mib %d: must be a positive number of MiB", o.RSSMiB)
	case o.CPUPercent <= 0 || o.CPUPercent > 100:
		return fmt.Errorf("invalid SLO cpu_percent %d: must be between 1 and 100", o.CPUPercent)
	case o.ErrorPercent < 0 || o.ErrorPercent > 100:
		return fmt.Errorf("invalid SLO error_percent %g: must be between 0 and 100", o.ErrorPercent)
	}
	return nil
}
