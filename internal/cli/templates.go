package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/internal/templatedir"
)

// newTemplatesCmd builds `perfgen templates` and its subcommands.
func newTemplatesCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "templates",
		Short: "Export, check and compare custom template directories",
		Long: `Templates manages custom template directories. A team exports the built-in
templates, edits its copy, and generates with perfgen new --templates DIR (or
PERFGEN_TEMPLATES=DIR). A custom directory is laid over the built-ins file by
file: files it does not have come from the built-ins, its manifest.yaml adds or
replaces manifest entries, and a _*.tmpl file can override a named block of a
built-in template without copying the file.

The directory's data-version file declares the template-data version it was
written for; a perfgen with another version refuses it and says what changed.
After upgrading perfgen, run check to find what broke and diff to see what
changed upstream. See docs/templates.md.`,
		Example: `  perfgen templates export ./my-templates
  perfgen templates check ./my-templates
  perfgen templates diff ./my-templates
  perfgen new orders --templates ./my-templates`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(
		newTemplatesListCmd(env),
		newTemplatesExportCmd(env),
		newTemplatesCheckCmd(env),
		newTemplatesDiffCmd(env),
	)
	return cmd
}

// templateDir returns the custom template directory a command uses: the
// one its command line names (the --templates flag, or a DIR argument) when
// given, even empty for the built-ins, else $PERFGEN_TEMPLATES. "" means the
// built-ins. Every command resolves the directory here.
func templateDir(env *Env, named string, given bool) string {
	if given {
		return named
	}
	return env.Getenv(templatedir.EnvVar)
}

// templatesFlag returns the template directory of a command with a
// --templates flag whose value is flag.
func templatesFlag(cmd *cobra.Command, env *Env, flag string) string {
	return templateDir(env, flag, cmd.Flags().Changed("templates"))
}

// templateDirArg returns the custom template directory named by args, or by
// PERFGEN_TEMPLATES when args is empty, for the commands that need one.
func templateDirArg(env *Env, args []string) (string, error) {
	if dir := templateDir(env, strings.Join(args, ""), len(args) == 1); dir != "" {
		return dir, nil
	}
	return "", usagef("missing DIR: name a custom template directory, or set %s", templatedir.EnvVar)
}

// openTemplateDir opens the custom template directory dir. A directory that
// cannot be used (missing, a file, links leaving it) is a usage error: the
// command line named it.
func openTemplateDir(dir string) (*templatedir.Dir, error) {
	d, err := templatedir.Open(dir)
	if err != nil {
		return nil, usage(err)
	}
	return d, nil
}

func maxOneDir(cmd *cobra.Command, args []string) error {
	if len(args) > 1 {
		return usagef("%s takes at most one DIR, got %q", cmd.CommandPath(), args)
	}
	return nil
}

// loadTemplates returns the templates a project renders with: the custom
// directory dir laid over the built-ins, or the built-ins when dir is "".
// Errors in a custom directory read file:line: message.
func loadTemplates(env *Env, dir string) (*generator.Templates, *templatedir.Dir, error) {
	if dir == "" {
		t, err := generator.Parse(env.Templates, generator.Manifest)
		return t, nil, err
	}
	d, err := openTemplateDir(dir)
	if err != nil {
		return nil, nil, err
	}
	t, err := d.Load(env.Templates, generator.Manifest)
	if err != nil {
		return nil, nil, d.Locate(err)
	}
	return t, d, nil
}

func newTemplatesListCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "list [DIR]",
		Short: "List the templates, the files they become and the blocks to override",
		Long: `List prints every manifest entry (template, output path, condition, mode) and
every named block a _*.tmpl file can override. With DIR (or PERFGEN_TEMPLATES)
it lists the custom directory laid over the built-ins and marks the templates
that come from DIR.`,
		Example: `  perfgen templates list
  perfgen templates list ./my-templates`,
		Args: maxOneDir,
		RunE: func(_ *cobra.Command, args []string) error {
			t, d, err := loadTemplates(env, templateDir(env, strings.Join(args, ""), len(args) == 1))
			if err != nil {
				return err
			}
			return printTemplates(env.Stdout, t, d)
		},
	}
}

func printTemplates(w io.Writer, t *generator.Templates, d *templatedir.Dir) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TEMPLATE\tPATH\tWHEN\tMODE\tFROM")
	for _, e := range t.Manifest() {
		from := "built-in"
		if d != nil && d.Has(e.Template) {
			from = d.Path
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%04o\t%s\n", e.Template, e.Path, e.When.Name, e.Mode.Perm(), from)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nblocks a _*.tmpl file can override with {{define \"NAME\"}}:\n  %s\n", strings.Join(t.Blocks(), "\n  "))
	return err
}

func newTemplatesExportCmd(env *Env) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "export DIR",
		Short: "Write the built-in templates, manifest and data version to DIR",
		Long: `Export writes the built-in templates to DIR for editing, with manifest.yaml
(template, path, when, mode of every file perfgen generates) and data-version
(the template-data version they are written for). DIR must not exist or be
empty, unless --force is given.

A custom directory only needs the files it changes: delete the others and
they keep following the built-ins across perfgen upgrades.`,
		Example: `  perfgen templates export ./my-templates`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("%s takes one DIR, got %d arguments", cmd.CommandPath(), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := templatedir.Export(env.Templates, generator.Manifest)
			if err != nil {
				return err
			}
			plan, err := generator.PlanWrite(args[0], files, force)
			if err != nil {
				return err
			}
			if err := (generator.Writer{FS: env.FS}).Apply(cmd.Context(), plan); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "exported %s to %s (template-data version %d)\n", generator.Count(len(files), "file"), args[0], generator.DataVersion)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "write into a non-empty directory, replacing exported files")
	return cmd
}

func newTemplatesCheckCmd(env *Env) *cobra.Command {
	var showFields bool
	cmd := &cobra.Command{
		Use:   "check [DIR]",
		Short: "Parse and render a custom template directory for every option combination",
		Long: `Check parses every template in DIR (or PERFGEN_TEMPLATES), lays DIR over the
built-ins, and renders the result for every combination of options a project
can choose (transports x stores x cache x every subset of deploy outputs). It
prints each problem once, as file:line: message, and exits 1 if there is any.

--fields prints the data every template receives: each field as a template
writes it (.SLO.P95Millis) and its type. It needs no DIR.`,
		Example: `  perfgen templates check ./my-templates
  perfgen templates check --fields`,
		Args: maxOneDir,
		RunE: func(_ *cobra.Command, args []string) error {
			if showFields {
				templatedir.Fields(env.Stdout)
				if templateDir(env, strings.Join(args, ""), len(args) == 1) == "" {
					return nil
				}
			}
			dir, err := templateDirArg(env, args)
			if err != nil {
				return err
			}
			d, err := openTemplateDir(dir)
			if err != nil {
				return err
			}
			problems := templatedir.Check(env.Templates, generator.Manifest, d)
			for _, p := range problems {
				fmt.Fprintln(env.Stderr, p)
			}
			if len(problems) > 0 {
				return fmt.Errorf("%s in %s", generator.Count(len(problems), "problem"), dir)
			}
			fmt.Fprintf(env.Stdout, "%s: ok, renders all %d option combinations\n", dir, len(templatedir.Combinations()))
			return nil
		},
	}
	cmd.Flags().BoolVar(&showFields, "fields", false, "print the data fields templates can use")
	return cmd
}

// errDiffers makes `templates diff --exit-code` exit 1 without a message.
var errDiffers = errors.New("the template directory differs from the built-ins")

func newTemplatesDiffCmd(env *Env) *cobra.Command {
	var exitCode bool
	cmd := &cobra.Command{
		Use:   "diff [DIR]",
		Short: "Show how a custom template directory differs from the built-ins",
		Long: `Diff prints a unified diff from this perfgen's built-in templates (as export
writes them) to DIR (or PERFGEN_TEMPLATES): every file DIR changes or adds.
After upgrading perfgen, it shows what changed upstream in the files your
team copied. Built-in files DIR does not have are used as they are and only
counted. With --exit-code it exits 1 when there are differences.`,
		Example: `  perfgen templates diff ./my-templates
  perfgen templates diff ./my-templates --exit-code`,
		Args: maxOneDir,
		RunE: func(_ *cobra.Command, args []string) error {
			dir, err := templateDirArg(env, args)
			if err != nil {
				return err
			}
			d, err := openTemplateDir(dir)
			if err != nil {
				return err
			}
			differs, err := templatedir.Diff(env.Stdout, env.Templates, generator.Manifest, d)
			if err != nil {
				return err
			}
			if !differs {
				fmt.Fprintf(env.Stdout, "%s has no changes from the built-ins\n", dir)
				return nil
			}
			if exitCode {
				return errDiffers
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit 1 when DIR differs from the built-ins")
	return cmd
}
