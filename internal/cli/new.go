package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/kballard/go-shellquote"
	"github.com/spf13/cobra"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/internal/projectsync"
	"github.com/perfgen/perfgen/internal/templatedir"
)

// newOptions holds the flags of `perfgen new` other than the answers, whose
// flags the fields table defines.
type newOptions struct {
	config string
	yes    bool
	dryRun bool
	force  bool
	noTidy bool
	// noGit skips recording the generated files in an enclosing git
	// repository.
	noGit bool
	// templates is a custom template directory laid over the built-ins.
	templates string
}

// newNewCmd builds `perfgen new`.
func newNewCmd(env *Env) *cobra.Command {
	opts := &newOptions{}
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Generate a new service",
		Long: `New generates a service called NAME into a new directory (./NAME unless
--output says otherwise). Then, printing each step: inside a git repository
it records the generated files under refs/perfgen/ as the base perfgen sync
merges against (--no-git skips this; an ignored directory is skipped), and it
runs go mod tidy in the project (--no-tidy skips this).

Each answer comes from, in order of precedence:
  1. its flag, when given on the command line;
  2. the answers file given with --config (the .perfgen.yaml format that every
     generated project records), when it has the key;
  3. a prompt, when stdin and stdout are a terminal and --yes is not given;
  4. its default, shown below.
Flags therefore override the answers file: --config svc.yaml --store postgres
takes everything from svc.yaml except the store.

Without a terminal perfgen never waits for input: answers that no flag or
answers file gave take their defaults, and one line on stderr names them.
Pass --yes to take the defaults without that notice, even on a terminal.

NAME is a lowercase DNS label (letters, digits and hyphens, starting with a
letter, at most 63 characters, not a Go keyword). It may be left out when the
answers file has a name; if both are given they must agree.

The output directory must not exist or be empty. With --force perfgen writes
into a non-empty directory: it lists every file it will replace first, keeps
identical files, and leaves files it does not generate alone. --dry-run prints
the plan (create, replace or keep for each file) and writes nothing.

SIGINT or SIGTERM during generation leaves no partial project behind.`,
		Example: `  # Prompt for every answer (on a terminal).
  perfgen new orders

  # Everything from flags; defaults for the rest, no prompts.
  perfgen new orders -m github.com/acme/orders --transport grpc --store postgres \
      --cache=false --deploy docker,k8s --slo-p95-ms 50 --yes

  # From an answers file, overriding one answer and the directory.
  perfgen new --config orders.yaml --transport http -o ./services/orders

  # Show what would be written into an existing checkout, then do it.
  perfgen new orders -o . --config .perfgen.yaml --force --dry-run
  perfgen new orders -o . --config .perfgen.yaml --force`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("perfgen new takes one NAME, got %d arguments %q; a name has no spaces, and flags start with -", len(args), args)
			}
			return nil
		},
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNew(cmd, env, opts, args)
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	addFieldFlags(cmd, f)
	f.StringVar(&opts.config, "config", "", "answers `file` in the .perfgen.yaml format; flags override its values")
	f.BoolVarP(&opts.yes, "yes", "y", false, "take defaults for every answer not given; never prompt")
	f.BoolVar(&opts.dryRun, "dry-run", false, "print the file plan and write nothing")
	f.BoolVar(&opts.force, "force", false, "write into a non-empty directory, replacing the files perfgen generates")
	f.BoolVar(&opts.noTidy, "no-tidy", false, "skip go mod tidy after writing")
	f.BoolVar(&opts.noGit, "no-git", false, "do not record the generated files under refs/perfgen/ in an enclosing git repository")
	f.StringVar(&opts.templates, "templates", "", "custom template `DIR` laid over the built-ins (default $"+templatedir.EnvVar+")")

	_ = cmd.MarkFlagFilename("config", "yaml", "yml")
	_ = cmd.MarkFlagDirname("templates")
	return cmd
}

// runNew is `perfgen new`, in four steps read top to bottom: settle the
// answers (flags, answers file, prompts), plan the files, write them, then
// run the side effects on the written project, each printed and skippable.
func runNew(cmd *cobra.Command, env *Env, opts *newOptions, args []string) error {
	a, valid, err := settleAnswers(cmd, env, opts, args)
	if err != nil {
		return err
	}
	spec := valid.Spec()
	files, plan, err := planProject(cmd, env, opts, a.output, valid)
	if err != nil {
		return err
	}
	out := env.Stdout
	if opts.dryRun {
		printPlan(out, plan)
		fmt.Fprintln(out, "dry run: nothing was written")
		return nil
	}

	ctx, stop := env.NotifyContext(cmd.Context())
	defer stop()
	if err := writeProject(ctx, env, plan); err != nil {
		return err
	}
	printSummary(out, plan, spec)

	recordBase(ctx, env, opts, plan.Root, files)
	if err := tidy(ctx, env, skipReason(opts.noTidy, "--no-tidy"), plan.Root, "written"); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nNext steps:\n  cd %s && make run\n  make test\n", shellquote.Join(plan.Root))
	return nil
}

// settleAnswers assembles and checks the given answers, then asks for the
// missing ones on a terminal (and prints the equivalent command), or names
// the defaults taken for them without one. It returns the answers validated
// once: before prompting when nothing is asked, after the prompts otherwise.
func settleAnswers(cmd *cobra.Command, env *Env, opts *newOptions, args []string) (*answers, generator.Valid, error) {
	var none generator.Valid
	a, err := collectAnswers(cmd, opts, args)
	if err != nil {
		return nil, none, err
	}
	// Not an answer: the version of this perfgen, which the project's go.mod
	// pins as a tool so its go:generate hooks run this same generator.
	a.spec.PerfgenVersion = pinnableVersion()
	// Check what was given before asking anything else.
	valid, err := a.spec.Valid()
	if err != nil {
		return nil, none, usage(err)
	}
	switch {
	case !opts.yes && env.Interactive():
		if a.given[outputField] {
			// Refuse an unusable --output before asking anything.
			if err := generator.CheckOutputDir(a.output, opts.force); err != nil {
				return nil, none, err
			}
		}
		if err := ask(env.Prompter, a, opts.force); err != nil {
			if errors.Is(err, errInterrupted) {
				return nil, none, fmt.Errorf("%w; nothing was written", err)
			}
			var ue *usageError
			if errors.As(err, &ue) {
				return nil, none, err
			}
			return nil, none, fmt.Errorf("prompt: %w; give the answers as flags, or pass --yes", err)
		}
		fmt.Fprintf(env.Stdout, "\nTo generate this project again without prompts:\n  %s\n\n", equivalentCommand(a, opts))
		// The prompts changed the answers: check the whole set again.
		if valid, err = a.spec.Valid(); err != nil {
			return nil, none, usage(err)
		}
	case !opts.yes:
		if d := a.defaulted(); len(d) > 0 {
			fmt.Fprintf(env.Stderr, "perfgen: no terminal to prompt on; using defaults for %s (set them with flags or --config, or pass --yes to silence this)\n", describeDefaults(a))
		}
	}
	return a, valid, nil
}

// planProject renders spec with the templates in use and plans writing the
// files into output, refusing conflicts unless --force.
func planProject(cmd *cobra.Command, env *Env, opts *newOptions, output string, spec generator.Valid) (generator.Files, *generator.Plan, error) {
	tmpl, custom, err := loadTemplates(env, templatesFlag(cmd, env, opts.templates))
	if err != nil {
		return nil, nil, err
	}
	if tmpl, err = withSource(cmd.Context(), tmpl, custom); err != nil {
		return nil, nil, err
	}
	files, err := tmpl.RenderValid(spec)
	if err != nil {
		if custom != nil {
			err = custom.Locate(err)
		}
		return nil, nil, fmt.Errorf("render %s: %w", spec.Spec().Name, err)
	}
	plan, err := generator.PlanWrite(output, files, opts.force)
	if err != nil {
		return nil, nil, err
	}
	return files, plan, nil
}

// writeProject lists the files a --force run replaces, then writes plan. An
// interruption leaves no new project behind, and under --force only whole
// files.
func writeProject(ctx context.Context, env *Env, plan *generator.Plan) error {
	if replaced := plan.Paths(generator.Replace); len(replaced) > 0 {
		fmt.Fprintf(env.Stdout, "replacing %s in %s:\n", generator.Count(len(replaced), "file"), plan.Root)
		for _, p := range replaced {
			fmt.Fprintf(env.Stdout, "  %s\n", p)
		}
	}
	if err := (generator.Writer{FS: env.FS}).Apply(ctx, plan); err != nil {
		if ctx.Err() != nil {
			if plan.Fresh {
				return fmt.Errorf("%w; nothing was written", errInterrupted)
			}
			return fmt.Errorf("%w; each file replaced so far is whole and the others are untouched; run the same command again to finish", errInterrupted)
		}
		return err
	}
	return nil
}

// recordBase is the side effect that lets perfgen sync merge edits against
// what perfgen generated even after a perfgen upgrade: inside a git
// repository it stores the generated files as a commit under refs/perfgen/
// (not on any branch; the index, HEAD and working tree stay untouched).
// --no-git skips it. It is also skipped, with a word, when the repository
// ignores the project, such as ./demo in a clone of perfgen: a project the
// repository does not track is not its business. Elsewhere perfgen sync
// works from .perfgen.lock, so a failure here is a warning.
func recordBase(ctx context.Context, env *Env, opts *newOptions, root string, files generator.Files) {
	if opts.noGit {
		fmt.Fprintf(env.Stdout, "skipped recording the generated files in git (--no-git); perfgen sync merges against %s\n", generator.LockFile)
		return
	}
	top, ignored := projectsync.EnclosingRepo(ctx, root)
	switch {
	case top == "":
		return // not in a git repository: nothing to record
	case ignored:
		fmt.Fprintf(env.Stdout, "not recording the generated files in git: the repository at %s ignores %s\n", top, root)
		return
	}
	fmt.Fprintf(env.Stdout, "recording the generated files as perfgen sync's base in the git repository at %s, under refs/perfgen/ (--no-git skips this)\n", top)
	if err := projectsync.RecordBase(ctx, root, files); err != nil {
		fmt.Fprintf(env.Stderr, "perfgen: could not record the generated files in git (%v); perfgen sync still works from %s\n", err, generator.LockFile)
	}
}

// collectAnswers assembles the answers given by NAME, the answers file and
// flags over the defaults, and rejects conflicting ones. Every answer flag
// is checked first, so that each wrong one is reported, one line each.
func collectAnswers(cmd *cobra.Command, opts *newOptions, args []string) (*answers, error) {
	type givenFlag struct {
		f     *field
		value string
	}
	var flags []givenFlag
	var errs []error
	for _, f := range fields {
		fl := cmd.Flags().Lookup(f.flag)
		if f.flag == "" || !fl.Changed {
			continue
		}
		v := fl.Value.(*fieldValue).given()
		if err := f.set(newAnswers("NAME"), v); err != nil {
			errs = append(errs, fmt.Errorf("invalid argument %q for %q flag: %w", v, "--"+f.flag, err))
		} else if f.check != nil {
			if err := f.check(v); err != nil {
				errs = append(errs, err)
			}
		}
		flags = append(flags, givenFlag{f, v})
	}
	if len(errs) > 0 {
		return nil, usage(errors.Join(errs...))
	}

	var file *answersFile
	if opts.config != "" {
		var err error
		if file, err = readAnswersFile(opts.config); err != nil {
			return nil, err
		}
	}
	name := ""
	if len(args) == 1 {
		name = args[0]
	}
	if file != nil && file.given[nameField] {
		switch {
		case name == "":
			name = file.spec.Name
		case name != file.spec.Name:
			return nil, usagef("NAME %q conflicts with name %q in answers file %s; leave out NAME or make them agree", name, file.spec.Name, opts.config)
		}
	}
	if name == "" && len(args) == 0 {
		return nil, usagef("missing NAME; run perfgen new NAME, or give the name in a --config answers file")
	}
	if err := generator.CheckName(name); err != nil {
		return nil, usage(err)
	}

	a := newAnswers(name)
	a.given[nameField] = true
	if file != nil {
		file.apply(a)
	}
	for _, g := range flags {
		// The flag is valid on its own; an objective can still fail
		// SLO.Check against another one the answers file gave.
		if err := g.f.set(a, g.value); err != nil {
			return nil, usage(err)
		}
		a.given[g.f] = true
	}
	return a, nil
}

// printPlan prints what writing plan does to each file.
func printPlan(w io.Writer, plan *generator.Plan) {
	kind := "existing directory"
	if plan.Fresh {
		kind = "new project"
	}
	fmt.Fprintf(w, "plan for %s (%s): %d to create, %d to replace, %d to keep\n", plan.Root, kind,
		plan.Count(generator.Create), plan.Count(generator.Replace), plan.Count(generator.Keep))
	for _, a := range plan.Actions {
		fmt.Fprintf(w, "  %-7s  %s\n", a.Op, a.File.Path)
	}
}

// printSummary reports a finished write.
func printSummary(w io.Writer, plan *generator.Plan, spec generator.Spec) {
	cache := "off"
	if spec.Cache {
		cache = "on"
	}
	if plan.Fresh {
		fmt.Fprintf(w, "created %s: %s (module %s; transport %s, store %s, cache %s, deploy %s)\n",
			plan.Root, generator.Count(len(plan.Actions), "file"), spec.Module, spec.Transport, spec.Store, cache, deployString(spec.Deploy))
		return
	}
	fmt.Fprintf(w, "updated %s: %d created, %d replaced, %d unchanged\n", plan.Root,
		plan.Count(generator.Create), plan.Count(generator.Replace), plan.Count(generator.Keep))
}

// equivalentCommand returns the command line that generates the same project
// without prompts: every answer as a flag, so it does not depend on defaults
// that a later perfgen might change.
func equivalentCommand(a *answers, opts *newOptions) string {
	n := *a
	n.spec = a.spec.Normalize()
	args := []string{"perfgen", "new", n.spec.Name}
	for _, f := range fields {
		if f.flag != "" {
			args = append(args, f.echo(&n)...)
		}
	}
	for _, b := range []struct {
		on   bool
		flag string
	}{{opts.force, "--force"}, {opts.noTidy, "--no-tidy"}, {opts.noGit, "--no-git"}, {opts.dryRun, "--dry-run"}} {
		if b.on {
			args = append(args, b.flag)
		}
	}
	return shellquote.Join(args...)
}
