package generator

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// A Condition decides whether a manifest entry belongs in a project.
type Condition struct {
	// Name identifies the condition in exported manifests, e.g. "grpc".
	Name string
	// Holds reports whether the condition is true for the project.
	Holds func(*Data) bool
}

// The conditions manifest entries use.
var (
	Always     = Condition{"always", func(*Data) bool { return true }}
	IfHTTP     = Condition{"http", func(d *Data) bool { return d.HTTP }}
	IfGRPC     = Condition{"grpc", func(d *Data) bool { return d.GRPC }}
	IfMemory   = Condition{"memory", func(d *Data) bool { return d.Memory }}
	IfPostgres = Condition{"postgres", func(d *Data) bool { return d.Postgres }}
	IfCache    = Condition{"cache", func(d *Data) bool { return d.Cache }}
	IfDocker   = Condition{"docker", func(d *Data) bool { return d.Docker }}
	IfCompose  = Condition{"compose", func(d *Data) bool { return d.Compose }}
	IfK8s      = Condition{"k8s", func(d *Data) bool { return d.K8s }}
	IfSysctl   = Condition{"sysctl", func(d *Data) bool { return d.Sysctl }}
	IfSystemd  = Condition{"systemd", func(d *Data) bool { return d.Systemd }}
	IfCI       = Condition{"ci", func(d *Data) bool { return d.CI }}
	// IfAPI holds when the service has a public API, HTTP or gRPC: the
	// load-test harness needs one and drives whichever the service has.
	IfAPI = Condition{"api", func(d *Data) bool { return d.HTTP || d.GRPC }}
	// Never lets a custom manifest switch a built-in file off.
	Never = Condition{"never", func(*Data) bool { return false }}
)

// Conditions lists every named condition, for exported manifests.
var Conditions = []Condition{Always, IfHTTP, IfGRPC, IfAPI, IfMemory, IfPostgres, IfCache, IfDocker, IfCompose, IfK8s, IfSysctl, IfSystemd, IfCI, Never}

// All returns a condition that holds when every one of cs holds. Its name
// joins theirs with "+".
func All(cs ...Condition) Condition {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return Condition{
		Name: strings.Join(names, "+"),
		Holds: func(d *Data) bool {
			for _, c := range cs {
				if !c.Holds(d) {
					return false
				}
			}
			return true
		},
	}
}

// ParseCondition parses a condition name as exported manifests write it:
// one name from Conditions, or several joined with "+".
func ParseCondition(s string) (Condition, error) {
	var cs []Condition
	for _, name := range strings.Split(s, "+") {
		i := slices.IndexFunc(Conditions, func(c Condition) bool { return c.Name == name })
		if i < 0 {
			names := make([]string, len(Conditions))
			for j, c := range Conditions {
				names[j] = c.Name
			}
			return Condition{}, fmt.Errorf("unknown condition %q; use one of %s, or several joined with +", name, strings.Join(names, ", "))
		}
		cs = append(cs, Conditions[i])
	}
	if len(cs) == 1 {
		return cs[0], nil
	}
	return All(cs...), nil
}

// An Entry says that one template becomes one file of a project.
type Entry struct {
	// Template is the template's path in the template file system.
	Template string
	// Path is the output path, relative to the project root and slash
	// separated. It is itself a template over Data: "cmd/{{.Name}}/main.go".
	Path string
	// When decides whether the file belongs in the project.
	When Condition
	// Mode is the file's permission bits.
	Mode fs.FileMode
}

// File modes used by the manifest.
const (
	modeFile fs.FileMode = 0o644
	modeExec fs.FileMode = 0o755
)

// Manifest is the table of every file perfgen can generate. A file exists in
// a project exactly when its entry's condition holds; the manifest test fails
// on a template no entry uses and on an entry whose template is missing.
var Manifest = concat(serviceManifest, componentManifest, grpcManifest, postgresManifest, deployManifest, benchManifest, syncManifest, hardeningManifest)

func concat(tables ...[]Entry) []Entry {
	var out []Entry
	for _, t := range tables {
		out = append(out, t...)
	}
	return out
}

// serviceManifest lists the service's own files: code, tests and tooling.
var serviceManifest = []Entry{
	{"service/perfgen.yaml.tmpl", ".perfgen.yaml", Always, modeFile},
	{"service/go.mod.tmpl", "go.mod", Always, modeFile},
	{"service/gitignore.tmpl", ".gitignore", Always, modeFile},
	{"service/README.md.tmpl", "README.md", Always, modeFile},
	{"service/Makefile.tmpl", "Makefile", Always, modeFile},
	// Lint config, CI workflow and dependency updates.
	{"service/golangci.yml.tmpl", ".golangci.yml", Always, modeFile},
	{"service/github/workflows/ci.yml.tmpl", ".github/workflows/ci.yml", IfCI, modeFile},
	{"service/github/dependabot.yml.tmpl", ".github/dependabot.yml", IfCI, modeFile},
	{"service/cmd/main.go.tmpl", "cmd/{{.Name}}/main.go", Always, modeFile},
	{"service/cmd/main_test.go.tmpl", "cmd/{{.Name}}/main_test.go", Always, modeFile},
	{"service/internal/config/config.go.tmpl", "internal/config/config.go", Always, modeFile},
	{"service/internal/config/config_test.go.tmpl", "internal/config/config_test.go", Always, modeFile},
	{"service/internal/items/item.go.tmpl", "internal/items/item.go", Always, modeFile},
	{"service/internal/items/item_test.go.tmpl", "internal/items/item_test.go", Always, modeFile},
	{"service/internal/items/service.go.tmpl", "internal/items/service.go", Always, modeFile},
	// The memory store exists in every project: it is the default store, and
	// the transports' tests run on it whichever store the service uses.
	{"service/internal/store/memory.go.tmpl", "internal/store/memory/memory.go", Always, modeFile},
	{"service/internal/store/memory_test.go.tmpl", "internal/store/memory/memory_test.go", Always, modeFile},
	{"service/internal/server/server.go.tmpl", "internal/server/server.go", Always, modeFile},
	{"service/internal/server/server_test.go.tmpl", "internal/server/server_test.go", Always, modeFile},
	{"service/internal/httpapi/handler.go.tmpl", "internal/httpapi/handler.go", IfHTTP, modeFile},
	{"service/internal/httpapi/handler_test.go.tmpl", "internal/httpapi/handler_test.go", IfHTTP, modeFile},
	{"service/internal/metrics/metrics.go.tmpl", "internal/metrics/metrics.go", Always, modeFile},
	{"service/internal/metrics/metrics_test.go.tmpl", "internal/metrics/metrics_test.go", Always, modeFile},
}
