package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/perfgen/perfgen/generator"
)

// answers is a Spec being assembled from defaults, an answers file, flags
// and prompts, with a record of which answers the user gave.
type answers struct {
	spec generator.Spec
	// output is the project directory; it is not recorded in the answers
	// file because the same answers can be generated anywhere.
	output string
	// given holds every field an answers file, a flag, NAME or a prompt
	// gave; the others still hold their defaults.
	given map[*field]bool
}

// newAnswers returns the default answers for a service called name.
func newAnswers(name string) *answers {
	return &answers{spec: generator.DefaultSpec(name), output: "./" + name, given: map[*field]bool{}}
}

// A field is one answer of perfgen new, and the one place that says how the
// answer is given and shown everywhere: its NAME argument or flag, its
// answers-file key, its prompt, its validator, its default (the value
// newAnswers holds), its choices (for prompts and shell completion), and how
// it prints in the defaults notice and in the echoed equivalent command.
// Everything that handles answers loops over fields; adding an answer is one
// entry in the fields table (see docs/contributing-answers.md).
type field struct {
	// key is the answers-file key: "transport", or "slo.p95_ms" for a
	// key inside a group. It is also the name in the defaults notice. ""
	// for the output directory, which is not an answer a project records.
	key string
	// flag and short name the flag; flag is "" for NAME, an argument.
	flag, short string
	// usage is the flag's help. When the default depends on NAME, --help
	// shows it after usage as "(default example.com/NAME)".
	usage string
	// flagType is the value name --help shows ("int", "list"); "bool"
	// makes the flag a switch (--cache, --cache=false) and makes it print
	// as --flag=value in the equivalent command.
	flagType string
	// prompt and help are the question; prompt is "" for answers that are
	// never asked (NAME).
	prompt, help string
	// kind is how the question is asked.
	kind askKind
	// choices are the valid values with their descriptions, for Select and
	// MultiSelect prompts and for shell completion.
	choices []Option
	// wholeList are values that stand for a whole list (none, all): shell
	// completion offers them only as the first element.
	wholeList []Option
	// value points at the answer in a Spec; the answers file decodes into
	// it. nil for the output directory.
	value func(*generator.Spec) any
	// get formats the answer the way its flag reads it.
	get func(*answers) string
	// set parses s into the answer. Its error is reported as an invalid
	// flag argument.
	set func(a *answers, s string) error
	// check, when not nil, validates a given value after set succeeded;
	// its error is reported as it is (the module path's reasons).
	check func(s string) error
	// askCheck, when not nil, also validates a prompted value; force is
	// --force. The output directory prompt refuses a non-empty directory
	// with it.
	askCheck func(s string, force bool) error
	// dir makes shell completion offer directories.
	dir bool
	// group is the answers-file mapping the key is inside (slo), or nil.
	group *fieldGroup
	// applies, when not nil, reports whether the answer means anything for
	// the other answers so far; one that does not is neither asked nor named
	// among the defaults (the upstream example of a gRPC-only service).
	applies func(generator.Spec) bool
}

// relevant reports whether f is worth asking or naming for a.
func (f *field) relevant(a *answers) bool { return f.applies == nil || f.applies(a.spec) }

// askKind is how a field's question is asked.
type askKind int

const (
	askInput askKind = iota
	askSelect
	askConfirm
	askMultiSelect
)

// list reports whether repeating the field's flag adds to a comma list.
func (f *field) list() bool { return f.kind == askMultiSelect }

// validate reports whether s is a valid value of f, exactly as a flag, an
// answers file or a prompt would take it, without changing a.
func (f *field) validate(a *answers, s string) error {
	scratch := *a
	if err := f.set(&scratch, s); err != nil {
		return err
	}
	if f.check != nil {
		return f.check(s)
	}
	return nil
}

// echo returns the arguments that give f's current value on a command line.
func (f *field) echo(a *answers) []string {
	if f.flagType == "bool" {
		return []string{"--" + f.flag + "=" + f.get(a)}
	}
	return []string{"--" + f.flag, f.get(a)}
}

// A fieldGroup is a mapping of related answers in the answers file (slo:).
// When none of its fields was given, a prompt offers all their defaults at
// once, and the defaults notice names the group instead of each field.
type fieldGroup struct {
	key string
	// confirm is the question that offers the defaults of every field.
	confirm func(*answers) string
	help    string
}

// Descriptions shown next to each value by shell completion and prompts.
var (
	transportHelp = map[generator.Transport]string{
		generator.TransportHTTP: "HTTP/1.1 and cleartext HTTP/2 (h2c) on one port",
		generator.TransportGRPC: "gRPC only",
		generator.TransportBoth: "HTTP and gRPC, each on its own port",
	}
	storeHelp = map[generator.Store]string{
		generator.StoreMemory:   "in-memory map behind one read-write lock, no dependencies",
		generator.StorePostgres: "PostgreSQL through pgxpool, with migrations",
	}
	deployHelp = map[generator.Deploy]string{
		generator.DeployDocker:  "multi-stage Dockerfile, non-root, healthcheck",
		generator.DeployCompose: "docker-compose with the service (and Postgres)",
		generator.DeployK8s:     "Kubernetes Deployment, Service, probes, limits",
		generator.DeploySysctl:  "idempotent kernel network tuning drop-in",
		generator.DeploySystemd: "hardened systemd unit",
	}
)

// sloGroup holds the service-level objectives.
var sloGroup = &fieldGroup{
	key: "slo",
	confirm: func(a *answers) string {
		slo := a.spec.SLO
		return fmt.Sprintf("Use the default service-level objectives (P95 < %d ms, > %d req/s, RSS < %d MiB, CPU < %d %%, errors < %g %%)?",
			slo.P95Millis, slo.RPS, slo.RSSMiB, slo.CPUPercent, slo.ErrorPercent)
	},
	help: "The load-test harness fails when the service misses one of these.",
}

// The fields whose entries other code names: NAME is an argument, and the
// output directory is checked against --force before the first question.
var (
	nameField = &field{
		key: "name", prompt: "",
		value: func(s *generator.Spec) any { return &s.Name },
		get:   func(a *answers) string { return a.spec.Name },
		set: func(a *answers, s string) error {
			if err := generator.CheckName(s); err != nil {
				return err
			}
			a.spec.Name = s
			return nil
		},
	}
	outputField = &field{
		flag: "output", short: "o", usage: "project directory", flagType: "string",
		prompt: "Output directory", help: "Where to write the project. It must not exist or be empty (or pass --force).",
		get: func(a *answers) string { return a.output },
		set: func(a *answers, s string) error {
			if err := checkOutput(s); err != nil {
				return err
			}
			a.output = s
			return nil
		},
		askCheck: generator.CheckOutputDir,
		dir:      true,
	}
)

// upstreamField is the example outbound call. It is an HTTP route, so a
// gRPC-only service has no use for it (Spec.Normalize turns it off there).
var upstreamField = func() *field {
	f := boolField("upstream", "example outbound call with a tuned HTTP client and load balancer; needs the HTTP API",
		"Include the example outbound call to upstream instances?",
		"GET /v1/upstream/items/{id} through a tuned HTTP client and a health-checking load balancer.",
		func(s *generator.Spec) *bool { return &s.Upstream })
	f.applies = func(s generator.Spec) bool { return s.Transport != generator.TransportGRPC }
	return f
}()

// resourcesField is the resources perfgen add resource records. They have
// no flag and no question of perfgen new: an answers file (--config) gives
// them, as a project's .perfgen.yaml does.
var resourcesField = &field{
	key:   "resources",
	value: func(s *generator.Spec) any { return &s.Resources },
	get: func(a *answers) string {
		names := make([]string, len(a.spec.Resources))
		for i, r := range a.spec.Resources {
			names[i] = r.Name
		}
		return strings.Join(names, ",")
	},
	set: func(*answers, string) error {
		return errors.New("resources come from an answers file or perfgen add resource")
	},
	applies: func(s generator.Spec) bool { return len(s.Resources) > 0 },
}

// fields lists every answer in answers-file order, which is also the order
// of the prompts, the flags in --help and the echoed command.
var fields = []*field{
	nameField,
	{
		key: "module", flag: "module", short: "m", usage: "Go module path", flagType: "string",
		prompt: "Go module path", help: "The module path in go.mod, usually where the code will live, such as github.com/you/NAME.",
		value: func(s *generator.Spec) any { return &s.Module },
		get:   func(a *answers) string { return a.spec.Module },
		set:   func(a *answers, s string) error { a.spec.Module = s; return nil },
		check: generator.CheckModule,
	},
	outputField,
	enumField("transport", "public servers: http, grpc or both", "Transport", "Which public servers the service runs.",
		generator.Transports, transportHelp, generator.ParseTransport, func(s *generator.Spec) *generator.Transport { return &s.Transport }),
	enumField("store", "storage: memory or postgres", "Store", "Where the example items resource keeps its data.",
		generator.Stores, storeHelp, generator.ParseStore, func(s *generator.Spec) *generator.Store { return &s.Store }),
	boolField("cache", "read-through cache in front of the store", "Put a read-through cache in front of the store?",
		"A W-TinyLFU cache (otter) with TTL and stampede protection.", func(s *generator.Spec) *bool { return &s.Cache }),
	upstreamField,
	{
		key: "deploy", flag: "deploy", usage: "deployment outputs: comma list of docker,compose,k8s,sysctl,systemd, or none, or all", flagType: "list",
		prompt: "Deployment outputs", help: "Files to deploy the service with; select none for none.", kind: askMultiSelect,
		choices:   options(generator.Deploys, deployHelp),
		wholeList: []Option{{"none", "no deployment files"}, {"all", "every deployment output"}},
		value:     func(s *generator.Spec) any { return &s.Deploy },
		get:       func(a *answers) string { return deployString(a.spec.Deploy) },
		set: func(a *answers, s string) error {
			ds, err := generator.ParseDeploy(s)
			if err != nil {
				return err
			}
			a.spec.Deploy = ds
			return nil
		},
	},
	boolField("ci", "GitHub Actions workflow and Dependabot config", "Add a GitHub Actions CI workflow and a Dependabot config?",
		"CI runs build, lint, the race-detector tests, the load test and govulncheck on every push.", func(s *generator.Spec) *bool { return &s.CI }),
	intField("slo.p95_ms", "slo-p95-ms", "latency objective: P95 below this many milliseconds",
		"P95 latency bound (ms)", "95th-percentile latency under load, in milliseconds.",
		func(o *generator.SLO) *int { return &o.P95Millis }),
	intField("slo.rps", "slo-rps", "throughput objective: more than this many requests per second",
		"Throughput target (requests/s)", "The rate the load test drives and the service must sustain.",
		func(o *generator.SLO) *int { return &o.RPS }),
	intField("slo.rss_mib", "slo-rss-mib", "memory objective: resident memory below this many MiB",
		"Memory bound (RSS, MiB)", "Resident set size of the process under load.",
		func(o *generator.SLO) *int { return &o.RSSMiB }),
	intField("slo.cpu_percent", "slo-cpu-percent", "CPU objective: below this percentage of the allotted cores (1-100)",
		"CPU bound (% of allotted cores)", "CPU use at the target rate, 1 to 100.",
		func(o *generator.SLO) *int { return &o.CPUPercent }),
	{
		key: "slo.error_percent", flag: "slo-error-percent", usage: "error objective: below this percentage of failed requests (0-100)", flagType: "percent",
		prompt: "Error rate bound (%)", help: "Share of failed requests, 0 to 100; may be fractional such as 0.1.",
		group: sloGroup,
		value: func(s *generator.Spec) any { return &s.SLO.ErrorPercent },
		get:   func(a *answers) string { return strconv.FormatFloat(a.spec.SLO.ErrorPercent, 'g', -1, 64) },
		set: func(a *answers, s string) error {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return fmt.Errorf("invalid slo-error-percent %q: not a number; use a percentage such as 0.1", s)
			}
			a.spec.SLO.ErrorPercent = v
			return a.spec.SLO.Check()
		},
	},
	resourcesField,
}

// enumField is a field whose value is one of values, parsed by parse (the
// generator's validator for it) and asked with a Select.
func enumField[T ~string](key, usage, prompt, help string, values []T, descriptions map[T]string,
	parse func(string) (T, error), ptr func(*generator.Spec) *T) *field {
	return &field{
		key: key, flag: key, usage: usage, flagType: key,
		prompt: prompt, help: help, kind: askSelect,
		choices: options(values, descriptions),
		value:   func(s *generator.Spec) any { return ptr(s) },
		get:     func(a *answers) string { return string(*ptr(&a.spec)) },
		set: func(a *answers, s string) error {
			v, err := parse(s)
			if err != nil {
				return err
			}
			*ptr(&a.spec) = v
			return nil
		},
	}
}

// boolField is an on/off field: a switch flag (--cache, --cache=false) and a
// yes/no question.
func boolField(key, usage, prompt, help string, ptr func(*generator.Spec) *bool) *field {
	return &field{
		key: key, flag: key, usage: usage + " (--" + key + "=false to leave it out)", flagType: "bool",
		prompt: prompt, help: help, kind: askConfirm,
		value: func(s *generator.Spec) any { return ptr(s) },
		get:   func(a *answers) string { return strconv.FormatBool(*ptr(&a.spec)) },
		set: func(a *answers, s string) error {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return fmt.Errorf("not a boolean; use --%s or --%s=false", key, key)
			}
			*ptr(&a.spec) = b
			return nil
		},
	}
}

// intField is a whole-number objective, checked with SLO.Check, the
// validator answers files go through.
func intField(key, flag, usage, prompt, help string, ptr func(*generator.SLO) *int) *field {
	return &field{
		key: key, flag: flag, usage: usage, flagType: "int",
		prompt: prompt, help: help, group: sloGroup,
		value: func(s *generator.Spec) any { return ptr(&s.SLO) },
		get:   func(a *answers) string { return strconv.Itoa(*ptr(&a.spec.SLO)) },
		set: func(a *answers, s string) error {
			v, err := strconv.Atoi(s)
			if err != nil {
				return fmt.Errorf("invalid %s %q: not a whole number; use a positive integer", flag, s)
			}
			*ptr(&a.spec.SLO) = v
			return a.spec.SLO.Check()
		},
	}
}

// fieldByKey returns the field of an answers-file key, or nil.
func fieldByKey(key string) *field {
	for _, f := range fields {
		if f.key == key && key != "" {
			return f
		}
	}
	return nil
}

// defaulted returns the fields recorded in the answers file that still hold
// their defaults, in answers-file order, with the fields of a group folded
// into the group when none of them was given.
func (a *answers) defaulted() []string {
	var out []string
	for _, f := range fields {
		if f.key == "" || a.given[f] || !f.relevant(a) {
			continue
		}
		if f.group != nil && !slices.ContainsFunc(fields, func(g *field) bool { return g.group == f.group && a.given[g] }) {
			if !slices.Contains(out, f.group.key+"=defaults") {
				out = append(out, f.group.key+"=defaults")
			}
			continue
		}
		out = append(out, f.key+"="+f.get(a))
	}
	return out
}

// describeDefaults formats the defaulted answers of a as key=value pairs for
// the no-terminal notice.
func describeDefaults(a *answers) string {
	return strings.Join(a.defaulted(), ", ")
}

// answersFile is a decoded --config file: the answers it gives.
type answersFile struct {
	spec  generator.Spec
	given map[*field]bool
}

// readAnswersFile reads the answers file at name, parsing it once: each key
// is looked up in the fields table and its value decoded into that field's
// place in the Spec. Malformed YAML, unknown keys and values of the wrong
// type are reported with their line; invalid values are left to the
// validators, like a flag's.
func readAnswersFile(name string) (*answersFile, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, usagef("answers file %s does not exist; check the --config path", name)
		}
		return nil, usagef("read answers file %s: %w; check the --config path", name, err)
	}
	bad := func(msg string) error {
		return usagef("answers file %s: %s; fix the file or compare it with a project's %s", name, msg, generator.AnswersFile)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, bad(yamlMessage(err))
	}
	file := &answersFile{spec: generator.Spec{}, given: map[*field]bool{}}
	if len(doc.Content) == 0 {
		return file, nil // an empty file gives no answers
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		// Decoding reports what the node is instead, as it does for
		// the generator's reader.
		return nil, bad(yamlMessage(top.Decode(&generator.Spec{})))
	}
	if err := duplicateKey(top); err != nil {
		return nil, bad(err.Error())
	}
	var problems []string
	decode := func(key string, k, v *yaml.Node) {
		f := fieldByKey(key)
		if f == nil || f.value == nil {
			problems = append(problems, fmt.Sprintf("line %d: field %s not found", k.Line, k.Value))
			return
		}
		if err := v.Decode(f.value(&file.spec)); err != nil {
			problems = append(problems, yamlMessage(err))
			return
		}
		file.given[f] = true
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if k.Value != sloGroup.key {
			decode(k.Value, k, v)
			continue
		}
		if v.Kind != yaml.MappingNode {
			problems = append(problems, yamlMessage(v.Decode(&file.spec.SLO)))
			continue
		}
		if err := duplicateKey(v); err != nil {
			return nil, bad(err.Error())
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			decode(k.Value+"."+v.Content[j].Value, v.Content[j], v.Content[j+1])
		}
	}
	if len(problems) > 0 {
		return nil, bad(strings.Join(problems, "; "))
	}
	file.spec = file.spec.Normalize()
	return file, nil
}

// duplicateKey reports the first key that mapping m repeats, as the YAML
// decoder does when it decodes a mapping into a struct.
func duplicateKey(m *yaml.Node) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if line, ok := seen[k.Value]; ok {
			return fmt.Errorf("line %d: mapping key %q already defined at line %d", k.Line, k.Value, line)
		}
		seen[k.Value] = k.Line
	}
	return nil
}

// apply copies the answers the file gives onto a.
func (f *answersFile) apply(a *answers) {
	for fl := range f.given {
		// Both pointers point into a Spec at the same field, so one
		// reflective assignment copies any answer's type.
		reflect.ValueOf(fl.value(&a.spec)).Elem().Set(reflect.ValueOf(fl.value(&f.spec)).Elem())
		a.given[fl] = true
	}
}

// yamlMessage turns the YAML library's multi-line errors into one line.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// deployString formats deploy outputs the way --deploy reads them.
func deployString(ds []generator.Deploy) string {
	if len(ds) == 0 {
		return "none"
	}
	if len(ds) == len(generator.Deploys) {
		return "all"
	}
	return strings.Join(enumStrings(ds), ",")
}
