package cli

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// fieldValue is the flag of one field. Set only records what was given:
// collectAnswers parses every given flag with its field's set and check, so
// that all wrong answers are reported together, one line each, as they are
// for an answers file. Repeating the flag of a list field adds to the list
// (--deploy docker --deploy k8s is --deploy docker,k8s); repeating any other
// flag replaces its value.
type fieldValue struct {
	f *field
	// def is the default --help shows.
	def string
	raw []string
}

func (v *fieldValue) String() string {
	if len(v.raw) > 0 {
		return v.given()
	}
	return v.def
}

func (v *fieldValue) Type() string { return v.f.flagType }

func (v *fieldValue) Set(s string) error {
	if v.f.list() {
		v.raw = append(v.raw, s)
	} else {
		v.raw = []string{s}
	}
	return nil
}

// given is the value the command line gave.
func (v *fieldValue) given() string { return strings.Join(v.raw, ",") }

// addFieldFlags defines the flag of every field on fs and registers its
// completion on cmd. The defaults shown are those of a service called NAME;
// one that depends on the name is written into the usage, since it is not
// the flag's value.
func addFieldFlags(cmd *cobra.Command, fs *pflag.FlagSet) {
	defaults := newAnswers("NAME")
	for _, f := range fields {
		if f.flag == "" {
			continue
		}
		usage, def := f.usage, f.get(defaults)
		if strings.Contains(def, "NAME") {
			usage, def = usage+" (default "+def+")", ""
		}
		fs.VarP(&fieldValue{f: f, def: def}, f.flag, f.short, usage)
		if f.flagType == "bool" {
			fs.Lookup(f.flag).NoOptDefVal = "true"
		}
		// Registration only fails for a flag that does not exist, which
		// cannot happen right after defining it.
		if f.dir {
			_ = cmd.MarkFlagDirname(f.flag)
		} else {
			_ = cmd.RegisterFlagCompletionFunc(f.flag, f.complete)
		}
	}
}

// complete completes the flag of f: its choices with their descriptions,
// and for a list one element at a time: after "docker," it offers
// "docker,compose", "docker,k8s", ... and never a value already in the
// list, and the whole-list words (none, all) only as the first element.
// Fields without choices complete to nothing, not to file names.
func (f *field) complete(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if !f.list() {
		var out []cobra.Completion
		for _, o := range f.choices {
			if strings.HasPrefix(o.Value, toComplete) {
				out = append(out, cobra.CompletionWithDesc(o.Value, o.Description))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
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
		for _, o := range f.wholeList {
			if strings.HasPrefix(o.Value, toComplete) {
				out = append(out, cobra.CompletionWithDesc(o.Value, o.Description))
			}
		}
	}
	for _, o := range f.choices {
		if !used[o.Value] && strings.HasPrefix(prefix+o.Value, toComplete) {
			out = append(out, cobra.CompletionWithDesc(prefix+o.Value, o.Description))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}
