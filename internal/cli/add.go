package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kballard/go-shellquote"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/internal/projectsync"
	"github.com/perfgen/perfgen/internal/templatedir"
)

// addables lists what perfgen add can add, with what each is; perfgen add
// alone prints it.
var addables = []struct{ name, short string }{
	{"resource", "a resource served over HTTP and gRPC: .proto, service, store, migration and tests"},
}

// newAddCmd builds `perfgen add` and its subcommands.
func newAddCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add",
		Short: "Add to a generated project: perfgen add resource NAME",
		Long: `Add adds a part to the project in the current directory (or --dir): it records
the part in the project's .perfgen.yaml and renders the project again, as
perfgen sync does, so your edits are kept. Without arguments it lists what
can be added.`,
		Example: `  perfgen add
  perfgen add resource orders --field customer:string --field total_cents:int64`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown thing to add %q; run perfgen add to list what can be added", args[0])
			}
			return nil
		},
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(env.Stdout, "What perfgen add can add to a generated project:")
			for _, a := range addables {
				fmt.Fprintf(env.Stdout, "  %-10s %s\n", a.name, a.short)
			}
			fmt.Fprintln(env.Stdout, "Run perfgen add resource --help for its flags.")
			return nil
		},
	}
	cmd.AddCommand(newAddResourceCmd(env))
	return cmd
}

// addResourceOptions holds the flags of `perfgen add resource`.
type addResourceOptions struct {
	dir        string
	templates  string
	fields     []string
	singular   string
	dryRun     bool
	force      bool
	allowDirty bool
	noTidy     bool
}

// newAddResourceCmd builds `perfgen add resource`.
func newAddResourceCmd(env *Env) *cobra.Command {
	opts := &addResourceOptions{}
	cmd := &cobra.Command{
		Use:   "resource NAME",
		Short: "Add a resource: its .proto API, service, store, migration and tests",
		Long: `Resource adds a resource called NAME to the project in the current directory
(or --dir, or the nearest directory above with a .perfgen.yaml), served beside
items over HTTP and gRPC from one .proto service: create, get, update (a full
replacement, PUT), list with cursor pagination, and delete, at /v1/NAME.

NAME is the collection, plural: lowercase letters and digits, such as orders.
It names the Go package internal/NAME, the HTTP collection, the .proto file
and the Postgres table. One record is named by NAME without its plural ending
(orders -> order, categories -> category, boxes -> box); give --singular when
that rule is wrong (people --singular person).

Fields come from --field name:type, repeated, in order; append :optional to
let clients leave a field out (proto3 presence: absent is not the zero
value, and the column is nullable). Types and what a required field must be:
  string     UTF-8 text without NUL bytes, 1 to 1000 characters
  int32      32-bit integer (0 when not sent)
  int64      64-bit integer, a string in JSON (0 when not sent)
  double     finite float: no NaN or infinity (0 when not sent)
  bool       true or false (false when not sent)
  timestamp  RFC 3339 time, years 1 to 9999, kept to the microsecond; must be sent
An optional string may be empty; every string, required or not, must be
valid UTF-8 without NUL bytes, whatever the store. On a terminal with no
--field, perfgen asks for the fields.

Every record also has id, create_time and update_time, so those names are
taken. A name that exists (items, a resource already added), a Go or proto
keyword, or a package of the project (cache, config, server, store, ...) is
refused, and nothing is written.

The resource is recorded in .perfgen.yaml under resources, and the project is
rendered again from it and written as perfgen sync writes it: new files are
added, files you never edited are updated (cmd/NAME/resources.go gains the
registration line), and files you edited are merged. Files the resource would
write that exist but that perfgen never wrote are refused unless --force,
which merges into them. Then the Go code of the .proto files is regenerated,
as perfgen proto does. --dry-run prints the diff and writes nothing.

The resource is served on the transports the project has: its HTTP routes
and gRPC service with transport both, its gRPC service alone with grpc,
and its HTTP routes alone with http.`,
		Example: `  perfgen add resource orders --field customer:string --field total_cents:int64 \
    --field note:string:optional --field placed_at:timestamp
  perfgen add resource people --singular person --field name:string --dry-run`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("%s takes one NAME, the resource's collection such as orders; got %d arguments", cmd.CommandPath(), len(args))
			}
			return nil
		},
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAddResource(cmd.Context(), cmd, env, args[0], opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.dir, "dir", "C", ".", "project directory, or a directory inside it")
	f.StringArrayVar(&opts.fields, "field", nil, "a field as `name:type[:optional]`, repeated; types: "+strings.Join(enumStrings(generator.FieldTypes), ", "))
	f.StringVar(&opts.singular, "singular", "", "the name of one record, when NAME without its plural ending is not it")
	f.StringVar(&opts.templates, "templates", "", "custom template `DIR` the project was generated with (default $"+templatedir.EnvVar+")")
	f.BoolVar(&opts.dryRun, "dry-run", false, "print the diff and change nothing")
	f.BoolVar(&opts.force, "force", false, "merge into files the resource writes that exist but perfgen did not write")
	f.BoolVar(&opts.allowDirty, "allow-dirty", false, "run even if the git working tree has uncommitted changes")
	f.BoolVar(&opts.noTidy, "no-tidy", false, "skip go mod tidy after a change to go.mod")
	_ = cmd.RegisterFlagCompletionFunc("field", func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		name, _, ok := strings.Cut(toComplete, ":")
		if !ok {
			return nil, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, t := range generator.FieldTypes {
			out = append(out, cobra.CompletionWithDesc(name+":"+string(t), generator.FieldTypeHelp[t]))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.MarkFlagDirname("dir")
	_ = cmd.MarkFlagDirname("templates")
	return cmd
}

// runAddResource checks the resource, records it in the answers and
// renders the project again through sync's plan.
func runAddResource(ctx context.Context, cmd *cobra.Command, env *Env, name string, opts *addResourceOptions) error {
	res := generator.Resource{Name: name, Singular: opts.singular}
	for _, s := range opts.fields {
		f, err := generator.ParseField(s)
		if err != nil {
			return usagef("--field: %w", err)
		}
		res.Fields = append(res.Fields, f)
	}
	root, ok, err := findProjectRoot(opts.dir)
	if err != nil {
		return err
	}
	if !ok {
		return usagef("no %s in %s or any directory above it: run perfgen add inside a project perfgen generated, or name its root with --dir",
			generator.AnswersFile, opts.dir)
	}
	answersPath := filepath.Join(root, generator.AnswersFile)
	current, err := os.ReadFile(answersPath)
	if err != nil {
		return err
	}
	spec, err := generator.ReadAnswers(answersPath, bytes.NewReader(current), generator.DefaultSpec(""))
	if err != nil {
		return usage(err)
	}
	prompted := false
	if len(res.Fields) == 0 && env.Interactive() {
		// Check the name before asking for fields it would be refused with.
		if err := spec.CheckResource(generator.Resource{Name: res.Name, Singular: res.Singular, Fields: []generator.ResourceField{{Name: "x", Type: generator.FieldString}}}); err != nil {
			return usage(err)
		}
		if res.Fields, err = askFields(env.Prompter); err != nil {
			return err
		}
		prompted = true
	}
	if len(res.Fields) == 0 {
		return usagef("resource %q has no fields; give them with --field name:type, such as --field customer:string", name)
	}
	if err := spec.CheckResource(res); err != nil {
		return usage(err)
	}
	answers, err := addToAnswers(current, res)
	if err != nil {
		return fmt.Errorf("%s: %w", answersPath, err)
	}
	if root != opts.dir {
		fmt.Fprintf(env.Stdout, "adding to the project at %s\n", root)
	}
	sopts, err := syncOptions(ctx, env, root, templatesFlag(cmd, env, opts.templates))
	if err != nil {
		return err
	}
	sopts.DryRun, sopts.AllowDirty = opts.dryRun, opts.allowDirty
	sopts.Answers, sopts.RefuseUnrecorded = answers, !opts.force
	sopts.Did, sopts.Would = "added resource "+name, "adding resource "+name+" would"
	goMod := filepath.Join(root, "go.mod")
	before, _ := os.ReadFile(goMod)
	_, err = projectsync.Sync(ctx, sopts)
	if errors.Is(err, projectsync.ErrConflicts) {
		return fmt.Errorf("add resource %s: %w", name, err)
	}
	if err != nil || opts.dryRun {
		return err
	}
	if prompted {
		fmt.Fprintf(env.Stdout, "\nTo add this resource again without prompts:\n  %s\n\n", addResourceCommand(res))
	}
	// The rendered .proto files may have been merged with your edits:
	// their Go code is generated from what is on disk now.
	protoRoot := filepath.Join(root, filepath.FromSlash(generator.ProtoRoot))
	if info, err := os.Stat(protoRoot); err == nil && info.IsDir() {
		// An HTTP-only project's code is generated without gRPC stubs, as
		// its go:generate line asks.
		if err := runProto(ctx, env, protoRoot, &protoOptions{grpc: spec.Transport != generator.TransportHTTP}); err != nil {
			return fmt.Errorf("the resource is added, but generating the .proto files' Go code failed: %w; fix the .proto, then run go generate ./...", err)
		}
	}
	after, err := os.ReadFile(goMod)
	if err != nil || bytes.Equal(before, after) {
		return nil
	}
	return tidy(ctx, env, skipReason(opts.noTidy, "--no-tidy"), root, "changed")
}

// addResourceCommand returns the command line that adds r.
func addResourceCommand(r generator.Resource) string {
	args := []string{"perfgen", "add", "resource", r.Name}
	if r.Singular != "" {
		args = append(args, "--singular", r.Singular)
	}
	for _, f := range r.Fields {
		args = append(args, "--field", f.String())
	}
	return shellquote.Join(args...)
}

// askFields asks for a resource's fields, one at a time, until an empty
// name.
func askFields(p Prompter) ([]generator.ResourceField, error) {
	var out []generator.ResourceField
	types := options(generator.FieldTypes, generator.FieldTypeHelp)
	for {
		name, err := p.Input("Field name (empty to finish)", "A snake_case name such as total_cents; id, create_time and update_time are there already.", "",
			func(s string) error {
				if s == "" {
					if len(out) == 0 {
						return errors.New("a resource needs at least one field")
					}
					return nil
				}
				if err := (generator.ResourceField{Name: s, Type: generator.FieldString}).Check(); err != nil {
					return err
				}
				for _, f := range out {
					if f.Name == s {
						return fmt.Errorf("field %s is given already", s)
					}
				}
				return nil
			})
		if err != nil {
			return nil, err
		}
		if name == "" {
			return out, nil
		}
		t, err := p.Select("Type of "+name, "What a client sends for it.", types, string(generator.FieldString))
		if err != nil {
			return nil, err
		}
		optional, err := p.Confirm("May clients leave "+name+" out (optional)?", "An optional field tells absent from the zero value; a required one is always there.", false)
		if err != nil {
			return nil, err
		}
		ft, err := generator.ParseFieldType(t)
		if err != nil {
			return nil, usage(err)
		}
		out = append(out, generator.ResourceField{Name: name, Type: ft, Optional: optional})
	}
}

// addToAnswers returns the answers file src with r appended to its
// resources, keeping the rest of the file, comments included, as it is.
func addToAnswers(src []byte, r generator.Resource) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a mapping of answers; compare it with a project's " + generator.AnswersFile)
	}
	var item yaml.Node
	if err := item.Encode(r); err != nil {
		return nil, err
	}
	top := doc.Content[0]
	var list *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "resources" {
			list = top.Content[i+1]
		}
	}
	if list == nil {
		list = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "resources"}, list)
	}
	if list.Kind != yaml.SequenceNode {
		return nil, errors.New("resources is not a list; compare it with a project's " + generator.AnswersFile)
	}
	list.Style = 0
	list.Content = append(list.Content, &item)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
