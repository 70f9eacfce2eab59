package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/kballard/go-shellquote"
	"github.com/spf13/cobra"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/internal/projectsync"
	"github.com/perfgen/perfgen/internal/templatedir"
)

// newOptions holds the flags of `perfgen new`. The answer flags write into a
// Spec that starts at the defaults, so --help shows the real defaults.
type newOptions struct {
	spec   generator.Spec
	output string
	config string
	yes    bool
	dryRun bool
	force  bool
	noTidy bool
	// templates is a custom template directory laid over the built-ins.
	templates string
}

// newNewCmd builds `perfgen new`.
func newNewCmd(env *Env) *cobra.Command {
	opts := &newOptions{spec: generator.DefaultSpec("NAME")}
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Generate a new service",
		Long: `New generates a service called NAME into a new directory (./NAME unless
--output says otherwise), then runs go mod tidy in it.

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
	f.StringVarP(&opts.spec.Module, "module", "m", "", "Go module path (default example.com/NAME)")
	f.StringVarP(&opts.output, "output", "o", "", "project directory (default ./NAME)")
	f.Var(transportValue{&opts.spec.Transport}, "transport", "public servers: http, grpc or both")
	f.Var(storeValue{&opts.spec.Store}, "store", "storage: memory or postgres")
	f.Var(cacheValue{&opts.spec.Cache}, "cache", "read-through cache in front of the store (--cache=false to leave it out)")
	f.Lookup("cache").NoOptDefVal = "true"
	f.Var(&deployValue{v: &opts.spec.Deploy}, "deploy", "deployment outputs: comma list of docker,compose,k8s,sysctl,systemd, or none, or all")
	f.Var(ciValue{&opts.spec.CI}, "ci", "GitHub Actions workflow and Dependabot config (--ci=false to leave them out)")
	f.Lookup("ci").NoOptDefVal = "true"
	for _, sf := range sloFields {
		f.Var(sloValue{o: &opts.spec.SLO, f: sf}, sf.flag, sf.usage)
	}
	f.StringVar(&opts.config, "config", "", "answers `file` in the .perfgen.yaml format; flags override its values")
	f.BoolVarP(&opts.yes, "yes", "y", false, "take defaults for every answer not given; never prompt")
	f.BoolVar(&opts.dryRun, "dry-run", false, "print the file plan and write nothing")
	f.BoolVar(&opts.force, "force", false, "write into a non-empty directory, replacing the files perfgen generates")
	f.BoolVar(&opts.noTidy, "no-tidy", false, "skip go mod tidy after writing")
	f.StringVar(&opts.templates, "templates", "", "custom template `DIR` laid over the built-ins (default $"+templatedir.EnvVar+")")

	for name, fn := range map[string]cobra.CompletionFunc{
		"transport": completeTransport,
		"store":     completeStore,
		"deploy":    completeDeploy,
		"module":    cobra.NoFileCompletions,
	} {
		// Registration only fails for a flag that does not exist, which
		// the test of this command would catch.
		_ = cmd.RegisterFlagCompletionFunc(name, fn)
	}
	_ = cmd.MarkFlagFilename("config", "yaml", "yml")
	_ = cmd.MarkFlagDirname("output")
	_ = cmd.MarkFlagDirname("templates")
	return cmd
}

// runNew is `perfgen new`: assemble and check the answers, render, plan,
// write, tidy.
func runNew(cmd *cobra.Command, env *Env, opts *newOptions, args []string) error {
	a, err := collectAnswers(cmd, opts, args)
	if err != nil {
		return err
	}
	// Check what was given before asking anything else.
	if err := a.spec.Validate(); err != nil {
		return usage(err)
	}
	out := env.Stdout
	interactive := !opts.yes && env.Interactive()
	switch {
	case interactive:
		if a.outputGiven {
			// Refuse an unusable --output before asking anything.
			if err := generator.CheckOutputDir(a.output, opts.force); err != nil {
				return err
			}
		}
		if err := ask(env.Prompter, a, opts.force); err != nil {
			if errors.Is(err, errInterrupted) {
				return fmt.Errorf("%w; nothing was written", err)
			}
			var ue *usageError
			if errors.As(err, &ue) {
				return err
			}
			return fmt.Errorf("prompt: %w; give the answers as flags, or pass --yes", err)
		}
		fmt.Fprintf(out, "\nTo generate this project again without prompts:\n  %s\n\n", equivalentCommand(a, opts))
	case !opts.yes:
		if d := a.defaulted(); len(d) > 0 {
			fmt.Fprintf(env.Stderr, "perfgen: no terminal to prompt on; using defaults for %s (set them with flags or --config, or pass --yes to silence this)\n", describeDefaults(a))
		}
	}
	spec := a.spec.Normalize()
	spec.PerfgenVersion = pinnableVersion()
	if err := spec.Validate(); err != nil {
		return usage(err)
	}

	tdir := opts.templates
	if !cmd.Flags().Changed("templates") {
		tdir = env.Getenv(templatedir.EnvVar)
	}
	tmpl, custom, err := loadTemplates(env, tdir)
	if err != nil {
		return err
	}
	files, err := tmpl.Render(spec)
	if err != nil {
		if custom != nil {
			err = custom.Locate(err)
		}
		return fmt.Errorf("render %s: %w", spec.Name, err)
	}
	plan, err := generator.PlanWrite(a.output, files, opts.force)
	if err != nil {
		return err
	}
	if opts.dryRun {
		printPlan(out, plan)
		fmt.Fprintln(out, "dry run: nothing was written")
		return nil
	}
	if replaced := plan.Paths(generator.Replace); len(replaced) > 0 {
		fmt.Fprintf(out, "replacing %d files in %s:\n", len(replaced), plan.Root)
		for _, p := range replaced {
			fmt.Fprintf(out, "  %s\n", p)
		}
	}

	ctx, stop := env.NotifyContext(cmd.Context())
	defer stop()
	if err := (generator.Writer{FS: env.FS}).Apply(ctx, plan); err != nil {
		if ctx.Err() != nil {
			if plan.Fresh {
				return fmt.Errorf("%w; nothing was written", errInterrupted)
			}
			return fmt.Errorf("%w; each file replaced so far is whole and the others are untouched; run the same command again to finish", errInterrupted)
		}
		return err
	}
	printSummary(out, plan, spec)
	// Inside a git repository the generated files become the base that
	// perfgen sync merges edits against; elsewhere the lock file suffices.
	if err := projectsync.RecordBase(ctx, plan.Root, files); err != nil {
		fmt.Fprintf(env.Stderr, "perfgen: could not record the generated files in git (%v); perfgen sync still works from %s\n", err, generator.LockFile)
	}

	if opts.noTidy {
		fmt.Fprintln(out, "skipped go mod tidy (--no-tidy); run it before building: cd "+shellquote.Join(plan.Root)+" && go mod tidy")
	} else {
		fmt.Fprintf(out, "running go mod tidy in %s\n", plan.Root)
		if output, err := env.Tidy(ctx, plan.Root); err != nil {
			if len(output) > 0 {
				env.Stderr.Write(output)
			}
			return fmt.Errorf("the project is written, but go mod tidy failed: %w; once the cause is fixed, run: cd %s && go mod tidy",
				err, shellquote.Join(plan.Root))
		}
	}
	fmt.Fprintf(out, "\nNext steps:\n  cd %s && make run\n  make test\n", shellquote.Join(plan.Root))
	return nil
}

// collectAnswers assembles the answers given by NAME, the answers file and
// flags over the defaults, and rejects conflicting ones.
func collectAnswers(cmd *cobra.Command, opts *newOptions, args []string) (*answers, error) {
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
	if file != nil && file.keys[keyName] {
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

	a := &answers{spec: generator.DefaultSpec(name), given: map[string]bool{}, output: "./" + name}
	if file != nil {
		file.apply(a)
	}
	flags := cmd.Flags()
	if flags.Changed("module") {
		a.spec.Module, a.given[keyModule] = opts.spec.Module, true
	}
	if flags.Changed("transport") {
		a.spec.Transport, a.given[keyTransport] = opts.spec.Transport, true
	}
	if flags.Changed("store") {
		a.spec.Store, a.given[keyStore] = opts.spec.Store, true
	}
	if flags.Changed("cache") {
		a.spec.Cache, a.given[keyCache] = opts.spec.Cache, true
	}
	if flags.Changed("deploy") {
		a.spec.Deploy, a.given[keyDeploy] = opts.spec.Deploy, true
	}
	if flags.Changed("ci") {
		a.spec.CI, a.given[keyCI] = opts.spec.CI, true
	}
	for _, f := range sloFields {
		if flags.Changed(f.flag) {
			// The flag parsed into opts.spec.SLO; copy that one field.
			if err := f.set(&a.spec.SLO, f.get(opts.spec.SLO)); err != nil {
				return nil, usage(err)
			}
			a.given[f.key] = true
		}
	}
	if flags.Changed("output") {
		if err := checkOutput(opts.output); err != nil {
			return nil, usage(err)
		}
		a.output, a.outputGiven = opts.output, true
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
		fmt.Fprintf(w, "created %s: %d files (module %s; transport %s, store %s, cache %s, deploy %s)\n",
			plan.Root, len(plan.Actions), spec.Module, spec.Transport, spec.Store, cache, deployString(spec.Deploy))
		return
	}
	fmt.Fprintf(w, "updated %s: %d created, %d replaced, %d unchanged\n", plan.Root,
		plan.Count(generator.Create), plan.Count(generator.Replace), plan.Count(generator.Keep))
}

// equivalentCommand returns the command line that generates the same project
// without prompts: every answer as a flag, so it does not depend on defaults
// that a later perfgen might change.
func equivalentCommand(a *answers, opts *newOptions) string {
	s := a.spec.Normalize()
	args := []string{"perfgen", "new", s.Name,
		"--module", s.Module,
		"--output", a.output,
		"--transport", string(s.Transport),
		"--store", string(s.Store),
		fmt.Sprintf("--cache=%t", s.Cache),
		"--deploy", deployString(s.Deploy),
		fmt.Sprintf("--ci=%t", s.CI),
	}
	for _, f := range sloFields {
		args = append(args, "--"+f.flag, f.get(s.SLO))
	}
	for _, b := range []struct {
		on   bool
		flag string
	}{{opts.force, "--force"}, {opts.noTidy, "--no-tidy"}, {opts.dryRun, "--dry-run"}} {
		if b.on {
			args = append(args, b.flag)
		}
	}
	return shellquote.Join(args...)
}
