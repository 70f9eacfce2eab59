package cli

import (
	"errors"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/perfgen/perfgen/generator"
)

// transportValue is the --transport flag. Parsing goes through
// generator.ParseTransport, the validator prompts and answers files share.
type transportValue struct{ v *generator.Transport }

func (f transportValue) String() string { return string(*f.v) }
func (f transportValue) Type() string   { return "transport" }
func (f transportValue) Set(s string) error {
	t, err := generator.ParseTransport(s)
	if err != nil {
		return err
	}
	*f.v = t
	return nil
}

// storeValue is the --store flag, parsed by generator.ParseStore.
type storeValue struct{ v *generator.Store }

func (f storeValue) String() string { return string(*f.v) }
func (f storeValue) Type() string   { return "store" }
func (f storeValue) Set(s string) error {
	st, err := generator.ParseStore(s)
	if err != nil {
		return err
	}
	*f.v = st
	return nil
}

// cacheValue is the --cache flag: a boolean whose error says how to spell
// one.
type cacheValue struct{ v *bool }

func (f cacheValue) String() string { return strconv.FormatBool(*f.v) }
func (f cacheValue) Type() string   { return "bool" }
func (f cacheValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("not a boolean; use --cache or --cache=false")
	}
	*f.v = b
	return nil
}

// ciValue is the --ci flag: a boolean whose error says how to spell one.
type ciValue struct{ v *bool }

func (f ciValue) String() string { return strconv.FormatBool(*f.v) }
func (f ciValue) Type() string   { return "bool" }
func (f ciValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("not a boolean; use --ci or --ci=false")
	}
	*f.v = b
	return nil
}

// deployValue is the --deploy flag: a comma-separated list parsed by
// generator.ParseDeploy. Repeating the flag adds to the list, so
// --deploy docker --deploy k8s equals --deploy docker,k8s; the words none
// and all must stand alone either way.
type deployValue struct {
	v     *[]generator.Deploy
	parts []string
}

func (f *deployValue) String() string { return deployString(*f.v) }
func (f *deployValue) Type() string   { return "list" }
func (f *deployValue) Set(s string) error {
	parts := append(append([]string(nil), f.parts...), s)
	ds, err := generator.ParseDeploy(strings.Join(parts, ","))
	if err != nil {
		return err
	}
	f.parts = parts
	*f.v = ds
	return nil
}

// deployString formats deploy outputs the way --deploy reads them.
func deployString(ds []generator.Deploy) string {
	if len(ds) == 0 {
		return "none"
	}
	if len(ds) == len(generator.Deploys) {
		return "all"
	}
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = string(d)
	}
	return strings.Join(names, ",")
}

// Descriptions shown next to each value by shell completion and prompts.
var (
	transportHelp = map[generator.Transport]string{
		generator.TransportHTTP: "HTTP/1.1 and cleartext HTTP/2 (h2c) on one port",
		generator.TransportGRPC: "gRPC only",
		generator.TransportBoth: "HTTP and gRPC, each on its own port",
	}
	storeHelp = map[generator.Store]string{
		generator.StoreMemory:   "sharded in-memory store, no dependencies",
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

// completeTransport completes --transport.
func completeTransport(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, t := range generator.Transports {
		if strings.HasPrefix(string(t), toComplete) {
			out = append(out, cobra.CompletionWithDesc(string(t), transportHelp[t]))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeStore completes --store.
func completeStore(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, s := range generator.Stores {
		if strings.HasPrefix(string(s), toComplete) {
			out = append(out, cobra.CompletionWithDesc(string(s), storeHelp[s]))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeDeploy completes --deploy one list element at a time: after
// "docker," it offers "docker,compose", "docker,k8s", ... and never an output
// already in the list. It offers none and all only as the first element.
func completeDeploy(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	prefix := ""
	used := map[string]bool{}
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		prefix = toComplete[:i+1]
		for _, p := range strings.Split(toComplete[:i], ",") {
			used[strings.TrimSpace(p)] = true
		}
	}
	var out []cobra.Completion
	if prefix == "" {
		for _, w := range []struct{ word, desc string }{{"none", "no deployment files"}, {"all", "every deployment output"}} {
			if strings.HasPrefix(w.word, toComplete) {
				out = append(out, cobra.CompletionWithDesc(w.word, w.desc))
			}
		}
	}
	for _, d := range generator.Deploys {
		if !used[string(d)] && strings.HasPrefix(prefix+string(d), toComplete) {
			out = append(out, cobra.CompletionWithDesc(prefix+string(d), deployHelp[d]))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// sloValue is one --slo-* flag. It parses and checks its objective with the
// same function the prompt uses.
type sloValue struct {
	o *generator.SLO
	f sloField
}

func (v sloValue) String() string { return v.f.get(*v.o) }
func (v sloValue) Type() string {
	if v.f.key == "slo.error_percent" {
		return "percent"
	}
	return "int"
}
func (v sloValue) Set(s string) error { return v.f.set(v.o, s) }
