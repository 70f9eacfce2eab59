package generator

import (
	"strings"

	"github.com/perfgen/perfgen/internal/protobuild"
)

// DataVersion identifies the shape of Data. Custom template directories
// declare the version they were written for; it changes whenever a field is
// added, renamed or removed (TestDataChangesNameEveryField checks).
const DataVersion = 3

// GoVersion is the Go language version generated projects declare.
const GoVersion = "1.26.0"

// GoToolchain is the toolchain line of the generated go.mod: the newest Go
// 1.26 release in which no standard-library code a generated project calls
// has a known vulnerability (the security scan in e2e checks it). The go
// command switches to it under GOTOOLCHAIN=auto; GoVersion stays the
// language floor.
const GoToolchain = "go1.26.11"

// Versions pins every third-party module a generated project requires, so
// the same answers always produce the same go.mod.
type Versions struct {
	GRPC     string
	Protobuf string
	// GoogleAPIs holds the Go code of google/api/annotations.proto, which
	// the .proto imports for its HTTP bindings.
	GoogleAPIs string
	Pgx        string
	Prometheus string
	XSync      string
	XNet       string
	Goleak     string
	// HDRHistogram records the load generator's latencies.
	HDRHistogram string
	// YAML reads the load test's objectives and scenario files.
	YAML string
	// Otter is the cache's eviction policy (W-TinyLFU), expiry and loads.
	Otter string
	// OTel is the OpenTelemetry API and SDK release (otel, otel/trace,
	// otel/metric, otel/sdk and the OTLP/HTTP trace exporter share it).
	OTel string
	// OTelGRPC is otelgrpc, the gRPC server's tracing stats handler.
	OTelGRPC string
	// OTLPProto holds the OTLP wire types the test receiver decodes.
	OTLPProto string
}

// pinned are the versions generated projects use: the newest releases that
// build with GoVersion. Keep them current: the security scan in e2e fails when
// a generated project calls a dependency with a known vulnerability.
var pinned = Versions{
	GRPC:       "v1.85.0",
	Protobuf:   "v1.36.12",
	GoogleAPIs: protobuild.GoogleAPIsModuleVersion,
	Pgx:        "v5.13.0",
	Prometheus: "v1.25.0",
	XSync:      "v0.25.0",
	XNet:       "v0.62.0",
	Goleak:     "v1.3.0",

	HDRHistogram: "v1.4.0",
	YAML:         "v3.0.6",
	Otter:        "v2.4.0",
	OTel:         "v1.47.0",
	OTelGRPC:     "v0.72.0",
	OTLPProto:    "v1.11.0",
}

// Ports are the default listen ports of a generated service.
type Ports struct {
	HTTP  int
	GRPC  int
	Admin int
}

// Data is what every template receives. Decisions are computed here, in Go,
// so templates need only if and range.
type Data struct {
	// Name is the service name, e.g. "orders-api".
	Name string
	// Module is the Go module path.
	Module string
	// GoVersion is the go directive of the generated go.mod.
	GoVersion string
	// Toolchain is the toolchain directive of the generated go.mod.
	Toolchain string
	// EnvPrefix prefixes the service's environment variables, e.g. "ORDERS_API_".
	EnvPrefix string

	// HTTP and GRPC report which public servers the service runs.
	HTTP, GRPC bool
	// Postgres reports whether the Postgres store is used; Memory the
	// in-memory store.
	Postgres, Memory bool
	// Cache reports whether a read-through cache fronts the store.
	Cache bool
	// Upstream reports whether the example outbound call, with its tuned
	// HTTP client and load balancer, is generated; it needs the HTTP API.
	Upstream bool
	// CI reports whether the project has a GitHub Actions workflow and a
	// Dependabot config.
	CI bool
	// PerfgenModule and PerfgenVersion are the perfgen module the project's
	// go.mod pins as a tool; PerfgenVersion is empty when it pins none.
	PerfgenModule, PerfgenVersion string
	// PerfgenCommand runs the pinned perfgen in go:generate lines:
	// "go tool perfgen", or "perfgen" from PATH when none is pinned.
	PerfgenCommand string
	// Docker, Compose, K8s, Sysctl and Systemd report which deployment
	// outputs are included.
	Docker, Compose, K8s, Sysctl, Systemd bool

	// SLO holds the service-level objectives.
	SLO SLO
	// MaxConcurrency is the default ceiling of the service's adaptive
	// concurrency limit: by Little's law, the requests in flight when the
	// SLO's rate is served at its P95 latency.
	MaxConcurrency int
	// Ports holds the default listen ports.
	Ports Ports
	// Versions pins third-party modules.
	Versions Versions
	// Proto describes the gRPC API's .proto file.
	Proto ProtoAPI
	// ProtoRoot is the import root of the project's .proto files.
	ProtoRoot string
	// Deployment holds the settings the deployment outputs share.
	Deployment Deployment
	// Monitoring holds the alert rules' and the dashboard's settings.
	Monitoring Monitoring
	// Resources are the resources added with perfgen add resource, in
	// the order they were added.
	Resources []ResourceData
	// Resource is the resource a per-resource manifest entry (see
	// Condition.Each) renders; the zero value elsewhere.
	Resource ResourceData

	// Answers is the project's answers file, as written to .perfgen.yaml.
	Answers string
	// Spec is the validated, normalized answers.
	Spec Spec
}

// NewData computes template data from validated answers.
func NewData(s Spec) (*Data, error) {
	s = s.Normalize()
	answers, err := MarshalAnswers(s)
	if err != nil {
		return nil, err
	}
	d := &Data{
		Name:           s.Name,
		Module:         s.Module,
		GoVersion:      GoVersion,
		Toolchain:      GoToolchain,
		EnvPrefix:      strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_")) + "_",
		HTTP:           s.Transport == TransportHTTP || s.Transport == TransportBoth,
		GRPC:           s.Transport == TransportGRPC || s.Transport == TransportBoth,
		Postgres:       s.Store == StorePostgres,
		Memory:         s.Store == StoreMemory,
		Cache:          s.Cache,
		Upstream:       s.Upstream && (s.Transport == TransportHTTP || s.Transport == TransportBoth),
		CI:             s.CI,
		PerfgenModule:  PerfgenModule,
		PerfgenVersion: s.PerfgenVersion,
		PerfgenCommand: "perfgen",
		Docker:         s.HasDeploy(DeployDocker),
		Compose:        s.HasDeploy(DeployCompose),
		K8s:            s.HasDeploy(DeployK8s),
		Sysctl:         s.HasDeploy(DeploySysctl),
		Systemd:        s.HasDeploy(DeploySystemd),
		SLO:            s.SLO,
		MaxConcurrency: max(1, s.SLO.RPS*s.SLO.P95Millis/1000),
		Ports:          Ports{HTTP: 8080, GRPC: 9090, Admin: 9100},
		Versions:       pinned,
		Proto:          newProtoAPI(s),
		Resources:      newResourcesData(s),
		ProtoRoot:      ProtoRoot,
		Answers:        string(answers),
		Spec:           s,
	}
	d.Deployment = newDeployment(d)
	d.Monitoring = newMonitoring(d)
	if d.PerfgenVersion != "" {
		d.PerfgenCommand = "go tool perfgen"
	}
	return d, nil
}

// ProtoRoot is the import root of a generated project's .proto files, as
// protoc's -I would name it: a file's path below it is its import path and
// the name it is registered under. Render compiles every rendered .proto
// file from here, and the project's //go:generate line runs
// `perfgen proto` on the same directory.
const ProtoRoot = "api/proto"

// OpenAPIPath is where a project keeps the OpenAPI document of its HTTP
// bindings. protobuild names it protobuild.OpenAPIFile under the import
// root; Render and `perfgen proto` put it here instead, in the api
// directory above ProtoRoot, whose Go package embeds it for the admin port.
const OpenAPIPath = "api/openapi.yaml"

// ProtoAPI names the parts of the items API's .proto file and of the Go
// package generated from it.
type ProtoAPI struct {
	// Package is the protobuf package, e.g. "ordersapi.v1". Protobuf
	// package names cannot contain hyphens, so they are dropped from the
	// service name.
	Package string
	// Dir is the file's directory in the project, e.g.
	// "api/proto/ordersapi/v1": the package's path below ProtoRoot, as
	// buf's PACKAGE_DIRECTORY_MATCH rule wants.
	Dir string
	// File is the file's name, e.g. "ordersapi.proto".
	File string
	// GoImport is the Go import path of the generated code.
	GoImport string
	// GoName is the Go package name of the generated code, e.g.
	// "ordersapiv1", which is unique enough to import without an alias.
	GoName string
	// Service is the gRPC service's name.
	Service string
	// ToRoot is the relative path from Dir up to ProtoRoot, e.g. "../..":
	// go generate runs in Dir.
	ToRoot string
}

func newProtoAPI(s Spec) ProtoAPI {
	name := goPackage(s.Name)
	dir := ProtoRoot + "/" + name + "/v1"
	return ProtoAPI{
		Package:  name + ".v1",
		Dir:      dir,
		File:     name + ".proto",
		GoImport: s.Module + "/" + dir,
		GoName:   name + "v1",
		Service:  "ItemsService",
		ToRoot:   "../..",
	}
}
