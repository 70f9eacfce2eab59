package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/perfgen/perfgen/generator"
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
		noTidy     bool
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

.perfgen.lock tells edited files from unedited ones, and records the perfgen
version and templates that rendered the project. The version perfgen
generated last (the base of the merge) is the lock's answers rendered again
by those templates: this perfgen's built-ins, or the custom directory (as the
git commit the lock records had it, if it changed since); else the commit at
refs/perfgen/base that sync keeps in the project's git repository; else, after
a perfgen upgrade, the previous perfgen version, fetched through the Go module
cache (go install github.com/perfgen/perfgen@VERSION) and run. Each is used
only where it matches the lock's hashes. See docs/sync.md.

The project is found as the go command finds its module: it is the current
directory (or --dir), or the nearest directory above it with a .perfgen.yaml.

In a git working tree sync refuses to change files while there are
uncommitted changes (other than to .perfgen.yaml) unless --allow-dirty is
given, so its changes can be reviewed and undone with git; a sync with
nothing to change succeeds on a dirty tree. --dry-run prints the diff and changes nothing.

When the sync changes go.mod (a new transport or store brings new
dependencies), sync then runs go mod tidy in the project, so that it builds;
--no-tidy skips that and prints the command to run.

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
			root, ok, err := findProjectRoot(opts.dir)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("no %s in %s or any directory above it: run perfgen sync inside a project perfgen generated, or name its root with --dir",
					generator.AnswersFile, opts.dir)
			}
			if root != opts.dir {
				fmt.Fprintf(env.Stdout, "syncing the project at %s\n", root)
			}
			base, err := syncOptions(cmd.Context(), env, root, templatesFlag(cmd, env, opts.templates))
			if err != nil {
				return err
			}
			base.DryRun, base.AllowDirty = opts.dryRun, opts.allowDirty
			goMod := filepath.Join(root, "go.mod")
			before, _ := os.ReadFile(goMod) // a missing go.mod counts as changed once written
			_, err = projectsync.Sync(cmd.Context(), base)
			if errors.Is(err, projectsync.ErrConflicts) {
				return fmt.Errorf("sync: %w", err)
			}
			if err != nil || opts.dryRun {
				return err
			}
			// New dependencies in go.mod need go.sum entries before the
			// project builds; go build's own hint (go get the project's
			// own package) points the wrong way. Under go generate, which
			// CI runs offline to check generated code is current, sync
			// leaves the network to the user and says so.
			after, err := os.ReadFile(goMod)
			if err != nil || bytes.Equal(before, after) {
				return nil
			}
			skip := skipReason(opts.noTidy, "--no-tidy")
			if skip == "" && env.Getenv("GOFILE") != "" {
				skip = "under go generate"
			}
			return tidy(cmd.Context(), env, skip, root, "synced")
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.dir, "dir", "C", ".", "project directory, or a directory inside it")
	f.StringVar(&opts.templates, "templates", "", "custom template `DIR` the project was generated with (default $"+templatedir.EnvVar+")")
	f.BoolVar(&opts.dryRun, "dry-run", false, "print the diff and change nothing")
	f.BoolVar(&opts.allowDirty, "allow-dirty", false, "run even if the git working tree has uncommitted changes")
	f.BoolVar(&opts.noTidy, "no-tidy", false, "skip go mod tidy after a sync that changes go.mod")
	_ = cmd.MarkFlagDirname("dir")
	_ = cmd.MarkFlagDirname("templates")
	return cmd
}

// syncOptions returns the options every command that renders into an
// existing project (sync, add) shares: the templates in dir, or the
// built-ins when dir is empty, stamped with their source for the lock, and
// what finds the merge base of edited files (the built-ins, the directory,
// and how to load an earlier version of it).
func syncOptions(ctx context.Context, env *Env, root, dir string) (projectsync.Options, error) {
	t, custom, err := loadTemplates(env, dir)
	if err != nil {
		return projectsync.Options{}, err
	}
	if t, err = withSource(ctx, t, custom); err != nil {
		return projectsync.Options{}, err
	}
	builtin, _, err := loadTemplates(env, "")
	if err != nil {
		return projectsync.Options{}, err
	}
	return projectsync.Options{
		Root:        root,
		Templates:   t,
		Builtin:     builtin,
		TemplateDir: dir,
		LoadTemplates: func(dir string) (*generator.Templates, error) {
			t, _, err := loadTemplates(env, dir)
			return t, err
		},
		Perfgen: pinnableVersion(),
		Out:     env.Stdout,
		FS:      env.FS,
	}, nil
}
