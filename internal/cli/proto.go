package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/internal/protobuild"
)

// protoOptions holds the flags of `perfgen proto`.
type protoOptions struct {
	check bool
}

// newProtoCmd builds `perfgen proto`.
func newProtoCmd(env *Env) *cobra.Command {
	opts := &protoOptions{}
	cmd := &cobra.Command{
		Use:   "proto [DIR]",
		Short: "Generate Go code from .proto files, without protoc",
		Long: `Proto compiles every .proto file under DIR (default: the current directory)
and writes its Go code beside it: messages in NAME.pb.go, exactly as
protoc-gen-go writes them, and gRPC client and server stubs in NAME_grpc.pb.go
for files that declare services. Neither protoc nor any plugin is needed.

DIR is the import root, like protoc's -I: a file's path under DIR is how other
files import it, and it is the path registered in the Go protobuf registry,
so keep DIR the same for every run. The well-known types
(google/protobuf/timestamp.proto and the others protoc ships) are always
available. Every file needs a go_package option; generated files go beside
the .proto, as protoc's paths=source_relative puts them.

Directories whose names start with "." or "_", and testdata, are skipped, as
the go command skips them. Files whose content would not change are not
touched; the others are replaced atomically. Compile errors are printed as
file.proto:line:col: message, with paths relative to the current directory.

In a generated project, "go generate ./..." runs perfgen proto through the
//go:generate line in api/proto/NAME/v1/doc.go.`,
		Example: `  # Regenerate after editing a .proto (from the project root).
  go generate ./...

  # The same, directly: api/proto is the import root.
  perfgen proto api/proto

  # In CI: fail when the committed Go code is stale.
  perfgen proto --check api/proto`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("%s takes at most one directory, got %q", cmd.CommandPath(), args)
			}
			return nil
		},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runProto(cmd.Context(), env, dir, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.check, "check", false, "write nothing; fail if any generated file is missing or differs")
	return cmd
}

func runProto(ctx context.Context, env *Env, dir string, opts *protoOptions) error {
	sources, err := readProtoSources(dir)
	if err != nil {
		return err
	}
	files, err := protoFiles(dir, sources)
	if err != nil {
		return err
	}
	plan, err := generator.PlanWrite(dir, files, true)
	if err != nil {
		return err
	}
	changed := append(plan.Paths(generator.Create), plan.Paths(generator.Replace)...)
	if opts.check {
		for _, p := range changed {
			fmt.Fprintf(env.Stderr, "stale: %s\n", filepath.Join(dir, filepath.FromSlash(p)))
		}
		if len(changed) > 0 {
			return fmt.Errorf("%d generated files are out of date; run perfgen proto %s to regenerate them", len(changed), dir)
		}
		fmt.Fprintf(env.Stdout, "%d generated files up to date\n", len(files))
		return nil
	}
	if err := (generator.Writer{FS: env.FS}).Apply(ctx, plan); err != nil {
		return err
	}
	printProtoPlan(env.Stdout, dir, plan, len(sources))
	return nil
}

// protoFiles compiles sources, whose keys are paths relative to the import
// root dir, into the files to write under dir. Error positions are made
// relative to the current directory, so editors can jump to them.
func protoFiles(dir string, sources map[string][]byte) (generator.Files, error) {
	out, err := protobuild.Generate(sources)
	var ce *protobuild.CompileError
	if errors.As(err, &ce) {
		for i, d := range ce.Diagnostics {
			ce.Diagnostics[i].File = filepath.Join(dir, filepath.FromSlash(d.File))
		}
		return nil, ce
	}
	if err != nil {
		return nil, err
	}
	files := make(generator.Files, len(out))
	for i, f := range out {
		files[i] = generator.File{Path: f.Path, Content: f.Content, Mode: 0o644}
	}
	return files, nil
}

// readProtoSources reads every .proto file under dir, keyed by its slash
// path relative to dir.
func readProtoSources(dir string) (map[string][]byte, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, usagef("proto directory: %w", err)
	}
	if !info.IsDir() {
		return nil, usagef("%s is not a directory; give the directory that holds the .proto files", dir)
	}
	sources := map[string][]byte{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if filepath.Ext(p) != ".proto" || !d.Type().IsRegular() {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		sources[filepath.ToSlash(rel)] = src
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read .proto files: %w", err)
	}
	if len(sources) == 0 {
		return nil, usagef("no .proto files under %s; give the directory that holds them (the import root)", dir)
	}
	return sources, nil
}

// skipDir reports whether the go command would skip a directory called
// name: hidden, underscored, or testdata.
func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata"
}

// printProtoPlan reports each file written and a one-line summary.
func printProtoPlan(w io.Writer, dir string, plan *generator.Plan, sources int) {
	for _, a := range plan.Actions {
		verb := map[generator.Op]string{generator.Create: "created", generator.Replace: "updated"}[a.Op]
		if verb != "" {
			fmt.Fprintf(w, "%s %s\n", verb, filepath.Join(dir, filepath.FromSlash(a.File.Path)))
		}
	}
	fmt.Fprintf(w, "%d .proto files: %d generated files created, %d updated, %d unchanged\n", sources,
		plan.Count(generator.Create), plan.Count(generator.Replace), plan.Count(generator.Keep))
}
