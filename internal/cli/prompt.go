package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/perfgen/perfgen/generator"
)

// Prompter asks the user one question at a time. Each method shows message
// with a default and returns the answer; help is shown on request. The
// survey adapter implements it on a terminal, tests with a scripted fake.
// An answer the user abandons (Ctrl-C) is reported as errInterrupted.
type Prompter interface {
	// Input asks for free text. validate rejects an answer with the reason,
	// and the prompter asks again.
	Input(message, help, def string, validate func(string) error) (string, error)
	// Select asks for the value of one of options.
	Select(message, help string, options []Option, def string) (string, error)
	// Confirm asks a yes/no question.
	Confirm(message, help string, def bool) (bool, error)
	// MultiSelect asks for the values of any subset of options, possibly
	// empty.
	MultiSelect(message, help string, options []Option, defs []string) ([]string, error)
}

// An Option is one choice of Select or MultiSelect.
type Option struct {
	Value       string
	Description string
}

// options lists the values of an enum with their descriptions.
func options[T ~string](values []T, descriptions map[T]string) []Option {
	out := make([]Option, len(values))
	for i, v := range values {
		out[i] = Option{Value: string(v), Description: descriptions[v]}
	}
	return out
}

// ask fills every answer missing from a with p, in the order the answers
// file lists them. Each answer goes through the generator's validator for
// it, the one its flag uses, whatever the prompter did; a rejected answer is
// a usage error, a failing prompter is returned as it is.
//
// force is --force: without it the output directory prompt rejects a
// directory that is not empty.
func ask(p Prompter, a *answers, force bool) error {
	s := &a.spec
	if !a.given[keyModule] {
		m, err := p.Input("Go module path", "The module path in go.mod, usually where the code will live, such as github.com/you/"+s.Name+".",
			s.Module, generator.CheckModule)
		if err != nil {
			return err
		}
		if err := generator.CheckModule(m); err != nil {
			return usage(err)
		}
		s.Module = m
		a.given[keyModule] = true
	}
	if !a.outputGiven {
		check := func(o string) error {
			if err := checkOutput(o); err != nil {
				return err
			}
			return generator.CheckOutputDir(o, force)
		}
		o, err := p.Input("Output directory", "Where to write the project. It must not exist or be empty (or pass --force).",
			a.output, check)
		if err != nil {
			return err
		}
		if err := check(o); err != nil {
			return usage(err)
		}
		a.output, a.outputGiven = o, true
	}
	if !a.given[keyTransport] {
		v, err := p.Select("Transport", "Which public servers the service runs.",
			options(generator.Transports, transportHelp), string(s.Transport))
		if err != nil {
			return err
		}
		if s.Transport, err = generator.ParseTransport(v); err != nil {
			return usage(err)
		}
		a.given[keyTransport] = true
	}
	if !a.given[keyStore] {
		v, err := p.Select("Store", "Where the example items resource keeps its data.",
			options(generator.Stores, storeHelp), string(s.Store))
		if err != nil {
			return err
		}
		if s.Store, err = generator.ParseStore(v); err != nil {
			return usage(err)
		}
		a.given[keyStore] = true
	}
	if !a.given[keyCache] {
		v, err := p.Confirm("Put a read-through cache in front of the store?",
			"A sharded LRU cache with TTL and stampede protection.", s.Cache)
		if err != nil {
			return err
		}
		s.Cache = v
		a.given[keyCache] = true
	}
	if !a.given[keyDeploy] {
		v, err := p.MultiSelect("Deployment outputs", "Files to deploy the service with; select none for none.",
			options(generator.Deploys, deployHelp), enumStrings(s.Deploy))
		if err != nil {
			return err
		}
		ds, err := generator.ParseDeploy(strings.Join(v, ","))
		if err != nil {
			return usage(err)
		}
		s.Deploy = ds
		a.given[keyDeploy] = true
	}
	if !a.given[keyCI] {
		v, err := p.Confirm("Add a GitHub Actions CI workflow and a Dependabot config?",
			"CI runs build, lint, the race-detector tests, the load test and govulncheck on every push.", s.CI)
		if err != nil {
			return err
		}
		s.CI = v
		a.given[keyCI] = true
	}
	return askSLO(p, a)
}

// askSLO asks for the service-level objectives not given yet. When none was
// given it first offers all the defaults at once.
func askSLO(p Prompter, a *answers) error {
	var missing []sloField
	for _, f := range sloFields {
		if !a.given[f.key] {
			missing = append(missing, f)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if len(missing) == len(sloFields) {
		slo := a.spec.SLO
		keep, err := p.Confirm(
			fmt.Sprintf("Use the default service-level objectives (P95 < %d ms, > %d req/s, RSS < %d MiB, CPU < %d %%, errors < %g %%)?",
				slo.P95Millis, slo.RPS, slo.RSSMiB, slo.CPUPercent, slo.ErrorPercent),
			"The load-test harness fails when the service misses one of these.", true)
		if err != nil {
			return err
		}
		if keep {
			for _, f := range sloFields {
				a.given[f.key] = true
			}
			return nil
		}
	}
	for _, f := range missing {
		v, err := p.Input(f.prompt, f.help, f.get(a.spec.SLO), func(s string) error {
			slo := a.spec.SLO
			return f.set(&slo, s)
		})
		if err != nil {
			return err
		}
		if err := f.set(&a.spec.SLO, v); err != nil {
			return usage(err)
		}
		a.given[f.key] = true
	}
	return nil
}

// sloField ties one objective to its answers-file key, flag and prompt.
type sloField struct {
	key    string
	flag   string
	usage  string
	prompt string
	help   string
	get    func(generator.SLO) string
	// set parses s into its objective and checks the result with
	// SLO.Check, the validator answers files go through.
	set func(o *generator.SLO, s string) error
}

// sloFields lists the objectives in answers-file order.
var sloFields = []sloField{
	{
		key: "slo.p95_ms", flag: "slo-p95-ms", usage: "latency objective: P95 below this many milliseconds",
		prompt: "P95 latency bound (ms)", help: "95th-percentile latency under load, in milliseconds.",
		get: func(o generator.SLO) string { return strconv.Itoa(o.P95Millis) },
		set: func(o *generator.SLO, s string) error { return setInt(o, &o.P95Millis, s, "slo-p95-ms") },
	},
	{
		key: "slo.rps", flag: "slo-rps", usage: "throughput objective: more than this many requests per second",
		prompt: "Throughput target (requests/s)", help: "The rate the load test drives and the service must sustain.",
		get: func(o generator.SLO) string { return strconv.Itoa(o.RPS) },
		set: func(o *generator.SLO, s string) error { return setInt(o, &o.RPS, s, "slo-rps") },
	},
	{
		key: "slo.rss_mib", flag: "slo-rss-mib", usage: "memory objective: resident memory below this many MiB",
		prompt: "Memory bound (RSS, MiB)", help: "Resident set size of the process under load.",
		get: func(o generator.SLO) string { return strconv.Itoa(o.RSSMiB) },
		set: func(o *generator.SLO, s string) error { return setInt(o, &o.RSSMiB, s, "slo-rss-mib") },
	},
	{
		key: "slo.cpu_percent", flag: "slo-cpu-percent", usage: "CPU objective: below this percentage of the allotted cores (1-100)",
		prompt: "CPU bound (% of allotted cores)", help: "CPU use at the target rate, 1 to 100.",
		get: func(o generator.SLO) string { return strconv.Itoa(o.CPUPercent) },
		set: func(o *generator.SLO, s string) error { return setInt(o, &o.CPUPercent, s, "slo-cpu-percent") },
	},
	{
		key: "slo.error_percent", flag: "slo-error-percent", usage: "error objective: below this percentage of failed requests (0-100)",
		prompt: "Error rate bound (%)", help: "Share of failed requests, 0 to 100; may be fractional such as 0.1.",
		get: func(o generator.SLO) string { return strconv.FormatFloat(o.ErrorPercent, 'g', -1, 64) },
		set: func(o *generator.SLO, s string) error {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return fmt.Errorf("invalid %s %q: not a number; use a percentage such as 0.1", "slo-error-percent", s)
			}
			o.ErrorPercent = v
			return o.Check()
		},
	},
}

// setInt parses s into *field of o and checks o.
func setInt(o *generator.SLO, field *int, s, name string) error {
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("invalid %s %q: not a whole number; use a positive integer", name, s)
	}
	*field = v
	return o.Check()
}

// checkOutput rejects an empty output directory; where it points is checked
// when the write is planned.
func checkOutput(s string) error {
	if s == "" {
		return fmt.Errorf("output directory is empty; give a path such as ./orders")
	}
	return nil
}

// enumStrings converts typed enum values to their names.
func enumStrings[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
