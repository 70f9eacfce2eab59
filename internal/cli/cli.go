// Package cli implements perfgen's command line: the cobra commands, their
// flags, the prompts that fill in missing answers, and the steps that run
// after generation. It is a thin layer over package generator, which owns
// every validation rule and all rendering and writing.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/templates"
)

// Exit codes returned by Run. They are documented in docs/cli.md.
const (
	// exitOK: the command did what was asked.
	exitOK = 0
	// exitFailure: the input was valid but acting on it failed, for
	// example the output directory is not empty or go mod tidy failed.
	exitFailure = 1
	// exitUsage: the command line or the answers are invalid: an unknown
	// flag or option value, a bad name or module path, a malformed answers
	// file, conflicting flags. Nothing was written.
	exitUsage = 2
	// exitInterrupted: SIGINT or SIGTERM (or Ctrl-C at a prompt) stopped
	// the run, as a shell reports 128+SIGINT. Nothing was written.
	exitInterrupted = 130
)

// Env is everything a command uses besides its flags and arguments: the
// standard streams, the environment, and the side effects that tests
// replace. Every command receives the same Env.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads an environment variable. Commands read the environment
	// only through it.
	Getenv func(string) string
	// Templates holds the built-in templates.
	Templates fs.FS
	// FS is the file system generated projects are written to.
	FS generator.FS
	// Interactive reports whether prompts can be shown: stdin and stdout
	// are both terminals.
	Interactive func() bool
	// Prompter asks the questions whose answers flags and answers files did
	// not give. It is used only when Interactive reports true.
	Prompter Prompter
	// Tidy runs `go mod tidy` in a freshly written project, and in a
	// project whose go.mod perfgen sync changed.
	Tidy TidyFunc
	// NotifyContext returns a context cancelled by SIGINT or SIGTERM; it
	// wraps the writing of a project so an interrupted run leaves nothing.
	NotifyContext func(parent context.Context) (context.Context, context.CancelFunc)
}

// Run runs perfgen with args and returns the process exit code. It is the
// only entry point main needs.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return execute(context.Background(), osEnv(stdin, stdout, stderr), args)
}

// osEnv returns the Env of a real process.
func osEnv(stdin io.Reader, stdout, stderr io.Writer) *Env {
	return &Env{
		Stdin:         stdin,
		Stdout:        stdout,
		Stderr:        stderr,
		Getenv:        os.Getenv,
		Templates:     templates.FS,
		FS:            generator.OS{},
		Interactive:   func() bool { return isTerminal(stdin) && isTerminal(stdout) },
		Prompter:      newSurveyPrompter(stdin, stdout, stderr, os.Getenv),
		Tidy:          goModTidy,
		NotifyContext: notifySignals,
	}
}

// execute runs the command line args against env and turns the outcome into
// an exit code, printing any error once.
func execute(ctx context.Context, env *Env, args []string) int {
	root := newRootCmd(env)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	printError(env.Stderr, err)
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	default:
		return exitFailure
	}
}

// printError prints err as one `perfgen: ` line per line of its message, so
// the joined errors of Spec.Validate read as a list.
func printError(w io.Writer, err error) {
	for line := range strings.SplitSeq(strings.TrimRight(err.Error(), "\n"), "\n") {
		fmt.Fprintf(w, "perfgen: %s\n", line)
	}
}

// A usageError is a problem with the command line or the answers rather than
// with carrying them out; Run exits with exitUsage for it.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usage marks err as a usage error. It returns nil for nil.
func usage(err error) error {
	if err == nil {
		return nil
	}
	return &usageError{err: err}
}

// usagef is fmt.Errorf for usage errors.
func usagef(format string, args ...any) error {
	return usage(fmt.Errorf(format, args...))
}

// errInterrupted reports a run stopped by a signal or by Ctrl-C at a prompt.
// Messages wrap it with what the interruption left behind.
var errInterrupted = errors.New("interrupted")

// newRootCmd builds the perfgen command tree. Every subcommand is registered
// here, in one list.
func newRootCmd(env *Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "perfgen",
		Short: "Generate performance-tuned Go microservices",
		Long: `perfgen generates a complete, production-grade Go microservice: HTTP and gRPC
servers tuned for throughput, a sharded cache, an in-memory or Postgres store,
Prometheus metrics, pprof, deployment files, and a load-test harness that
checks the service against its own service-level objectives.

Run "perfgen new NAME" on a terminal to be asked for each choice, or give every
answer with flags or an answers file (--config) to generate without prompts.
The answers are saved in the project's .perfgen.yaml.`,
		Example: `  # Answer the prompts, then start the service.
  perfgen new orders
  cd orders && make run

  # No prompts: defaults for everything not given.
  perfgen new orders --module github.com/acme/orders --store postgres --yes

  # Regenerate a project elsewhere from its recorded answers.
  perfgen new --config orders/.perfgen.yaml --output /tmp/orders-copy`,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q; run perfgen --help to list the commands", args[0])
			}
			return nil
		},
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetVersionTemplate("perfgen {{.Version}}\n")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		if strings.HasPrefix(err.Error(), "unknown ") {
			return usagef("%w; run %s --help to list the flags", err, cmd.CommandPath())
		}
		return usage(err)
	})

	// Every subcommand, in the order help lists them.
	root.AddCommand(
		newNewCmd(env),
		newAddCmd(env),
		newProtoCmd(env),
		newSyncCmd(env),
		newTemplatesCmd(env),
		newVersionCmd(env),
	)

	root.SetHelpCommand(newHelpCmd())
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			describeCompletion(c)
		}
	}
	return root
}

// newHelpCmd replaces cobra's help command, whose unknown-topic path exits
// the process, with one that returns an error like every other command.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help prints the help of any perfgen command.",
		Example: `  perfgen help new
  perfgen help completion bash`,
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			target, _, err := cmd.Root().Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, c := range target.Commands() {
				if c.IsAvailableCommand() && strings.HasPrefix(c.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(c.Name(), c.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := cmd.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return usagef("unknown help topic %q; run perfgen help to list the commands", strings.Join(args, " "))
			}
			return target.Help()
		},
	}
}

// describeCompletion gives cobra's completion command and its per-shell
// subcommands the examples every perfgen command has.
func describeCompletion(c *cobra.Command) {
	c.Example = `  # Load completions into the current bash session.
  source <(perfgen completion bash)

  # Install them for every new zsh session.
  perfgen completion zsh > "${fpath[1]}/_perfgen"`
	for _, sh := range c.Commands() {
		switch sh.Name() {
		case "bash":
			sh.Example = `  source <(perfgen completion bash)
  perfgen completion bash > /etc/bash_completion.d/perfgen`
		case "zsh":
			sh.Example = `  source <(perfgen completion zsh)
  perfgen completion zsh > "${fpath[1]}/_perfgen"`
		case "fish":
			sh.Example = `  perfgen completion fish | source
  perfgen completion fish > ~/.config/fish/completions/perfgen.fish`
		case "powershell":
			sh.Example = `  perfgen completion powershell | Out-String | Invoke-Expression`
		}
	}
}

// isAre returns n and noun with the verb that agrees: "1 file is",
// "2 files are".
func isAre(n int, noun string) string {
	if n == 1 {
		return generator.Count(n, noun) + " is"
	}
	return generator.Count(n, noun) + " are"
}
