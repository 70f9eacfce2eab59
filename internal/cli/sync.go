package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/perfgen/perfgen/internal/projectsync"
	"github.com/perfgen/perfgen/internal/templatedir"
)

// newSyncCmd builds `perfgen sync`.
func newSyncCmd(env *Env) *cobra.Command {
	var opts struct {
		dir        string
		templates  string
		dryRun     bool
		allowDirty bool
	}
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Re-render a project from its .perfgen.yaml, keeping your edits",
		Long: `Sync re-renders the project in the current directory (or --dir) from its
.perfgen.yaml, after you edit the answers or upgrade perfgen, and applies the
change:
  - files you never edited are updated, and new files are added;
  - files that no longer belong are removed if you never edited them, and
    kept (and listed) if you did;
  - files you edited are merged three ways against what perfgen generated
    last time, with git merge-file. A conflict is written with standard
    <<<<<<< markers, listed, and sync exits 1; nothing is lost.

.perfgen.lock tells edited files from unedited ones. The version perfgen
generated last is recovered by re-rendering the answers the lock records, or,
after a perfgen upgrade, from the commit at refs/perfgen/base that sync keeps
in the project's git repository. See docs/sync.md.

In a git working tree sync refuses to change files while there are
uncommitted changes (other than to .perfgen.yaml) unless --allow-dirty is
given, so its changes can be reviewed and undone with git; a sync with
nothing to change succeeds on a dirty tree. --dry-run prints the diff and changes nothing.

A generated project's generate.go runs it: go generate .`,
		Example: `  # Add gRPC to an HTTP-only service.
  sed -i 's/^transport: http$/transport: both/' .perfgen.yaml
  perfgen sync --dry-run
  perfgen sync

  # The same through go generate.
  go generate .`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := opts.templates
			if !cmd.Flags().Changed("templates") {
				dir = env.Getenv(templatedir.EnvVar)
			}
			t, _, err := loadTemplates(env, dir)
			if err != nil {
				return err
			}
			_, err = projectsync.Sync(cmd.Context(), projectsync.Options{
				Root:       opts.dir,
				Templates:  t,
				DryRun:     opts.dryRun,
				AllowDirty: opts.allowDirty,
				Perfgen:    pinnableVersion(),
				Out:        env.Stdout,
				FS:         env.FS,
			})
			if errors.Is(err, projectsync.ErrConflicts) {
				return fmt.Errorf("sync: %w", err)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.dir, "dir", "C", ".", "project directory")
	f.StringVar(&opts.templates, "templates", "", "custom template `DIR` the project was generated with (default $"+templatedir.EnvVar+")")
	f.BoolVar(&opts.dryRun, "dry-run", false, "print the diff and change nothing")
	f.BoolVar(&opts.allowDirty, "allow-dirty", false, "run even if the git working tree has uncommitted changes")
	_ = cmd.MarkFlagDirname("dir")
	_ = cmd.MarkFlagDirname("templates")
	return cmd
}
