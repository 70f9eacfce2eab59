package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/internal/protobuild"
)

// protoOptions holds the flags of `perfgen proto`.
type protoOptions struct {
	check bool
	// grpc writes gRPC stubs; false is protobuild.Options.HTTPOnly.
	grpc bool
	// openapi is where the OpenAPI document goes; "" picks the default
	// (openAPIPath).
	openapi string
}

// newProtoCmd builds `perfgen proto`.
func newProtoCmd(env *Env) *cobra.Command {
	opts := &protoOptions{}
	cmd := &cobra.Command{
		Use:   "proto [DIR]",
		Short: "Generate Go code from .proto files, without protoc",
		Long: `Proto compiles every .proto file under DIR and writes its Go code beside
it: messages in NAME.pb.go, exactly as protoc-gen-go writes them, gRPC client
and server stubs in NAME_grpc.pb.go for files that declare services, and in
NAME_http.pb.go the HTTP/JSON handlers of methods with google.api.http options
and the JSON codec of the messages they carry (docs/api.md), with the JSON
scanner and HTTP helpers they share written once per Go package, in
http_runtime.pb.go, and the OpenAPI document of those bindings in openapi.yaml. Neither protoc nor any plugin is
needed.

With --grpc=false, for a service that serves HTTP/JSON alone, no gRPC stubs
are written and nothing generated imports gRPC: NAME_http.pb.go declares the
Strict<Service>Server interface its handlers call. Every method then needs a
google.api.http option, and none may stream.

The OpenAPI document goes to the --openapi file; by default, when DIR is the
api/proto of a project perfgen generated, to the project's api/openapi.yaml,
and elsewhere to DIR/openapi.yaml.

DIR defaults to the project's api/proto inside a project perfgen generated
(found from any directory in it by its .perfgen.yaml, as perfgen sync finds
it), and to the current directory elsewhere.

DIR is the import root, like protoc's -I: a file's path under DIR is how other
files import it, and it is the path registered in the Go protobuf registry,
so keep DIR the same for every run. The well-known types
(google/protobuf/timestamp.proto and the others protoc ships) and
google/api/annotations.proto are always available. Every file needs a go_package option; generated files go beside
the .proto, as protoc's paths=source_relative puts them.

Directories whose names start with "." or "_", and testdata, are skipped, as
the go command skips them. Files whose content would not change are not
touched; the others are replaced atomically. Compile errors are printed as
file.proto:line:col: message, with paths relative to the current directory.

Go code that no .proto makes any more is deleted: a NAME.pb.go,
NAME_grpc.pb.go, NAME_http.pb.go or http_runtime.pb.go under DIR goes when its
header says "Code generated ... DO NOT EDIT." and names, on its "source:" line,
a .proto beside it (as a path under DIR; NAME.proto for NAME's files), and that
file no longer exists or no longer makes it (the
stubs of a .proto that lost its services, or of every .proto with
--grpc=false). Anything else, such as a file you
wrote or code generated under another import root, is left alone. A
directory left empty is removed.

In a generated project, "go generate ./..." runs perfgen proto through the
//go:generate line in api/proto/NAME/v1/doc.go.`,
		Example: `  # Regenerate after editing a .proto (from the project root).
  go generate ./...

  # The same, directly: api/proto is the import root.
  perfgen proto api/proto

  # In CI: fail when the committed Go code is stale.
  perfgen proto --check api/proto

  # An HTTP-only service: bindings and messages, no gRPC code.
  perfgen proto --grpc=false api/proto`,
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
			dir, err := protoDir(args)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("grpc") {
				if opts.grpc, err = projectServesGRPC(dir); err != nil {
					return err
				}
			}
			return runProto(cmd.Context(), env, dir, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.check, "check", false, "write nothing; fail if any generated file is missing, differs, or is made by no .proto any more")
	cmd.Flags().BoolVar(&opts.grpc, "grpc", true, "write gRPC stubs (NAME_grpc.pb.go); false generates for an HTTP-only service, with no gRPC import (default: false inside a project whose .perfgen.yaml says transport: http)")
	cmd.Flags().StringVar(&opts.openapi, "openapi", "", "write the OpenAPI document to `FILE` (default: a project's api/openapi.yaml, or DIR/openapi.yaml)")
	return cmd
}

// protoDir returns the import root perfgen proto compiles: DIR when given;
// inside a perfgen project (found upward from the current directory by its
// .perfgen.yaml, as sync finds it) the project's api/proto; else the
// current directory.
func protoDir(args []string) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	root, ok, err := findProjectRoot(".")
	if err != nil || !ok {
		return ".", err
	}
	dir := filepath.Join(root, filepath.FromSlash(generator.ProtoRoot))
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return ".", nil // a project without gRPC or HTTP bindings has no .proto files
	}
	return dir, nil
}

// projectServesGRPC reports whether the perfgen project around dir serves
// gRPC, as its .perfgen.yaml says; outside a project it is true. It picks
// --grpc's default, so perfgen proto run by hand in an HTTP-only project
// writes what its go:generate line does.
func projectServesGRPC(dir string) (bool, error) {
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return true, nil // runProto reports what is wrong with dir
	}
	root, ok, err := findProjectRoot(dir)
	if err != nil || !ok {
		return true, err
	}
	name := filepath.Join(root, generator.AnswersFile)
	f, err := os.Open(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	spec, err := generator.ReadAnswers(name, f, generator.DefaultSpec(""))
	if err != nil {
		return false, fmt.Errorf("%w; fix it, or pass --grpc to say whether to write gRPC stubs", err)
	}
	return spec.Transport != generator.TransportHTTP, nil
}

func runProto(ctx context.Context, env *Env, dir string, opts *protoOptions) error {
	sources, generated, err := scanProtoDir(dir)
	if err != nil {
		return err
	}
	files, err := protoFiles(dir, sources, protobuild.Options{HTTPOnly: !opts.grpc})
	if err != nil {
		return err
	}
	// The OpenAPI document has a plan of its own: its directory need not
	// be under dir.
	openapi, err := openAPIPath(dir, opts.openapi)
	if err != nil {
		return err
	}
	var docFiles generator.Files
	if i := slices.IndexFunc(files, func(f generator.File) bool { return f.Path == protobuild.OpenAPIFile }); i >= 0 {
		doc := files[i]
		files = slices.Delete(files, i, i+1)
		doc.Path = filepath.Base(openapi)
		docFiles = generator.Files{doc}
	}
	plan, err := generator.PlanWrite(dir, files, true)
	if err != nil {
		return err
	}
	docPlan, err := generator.PlanWrite(filepath.Dir(openapi), docFiles, true)
	if err != nil {
		return err
	}
	orphans, err := orphanedProtoCode(dir, sources, generated, files)
	if err != nil {
		return err
	}
	if err := plan.Delete(orphans...); err != nil {
		return err
	}
	if opts.check {
		stale := 0
		for i, a := range slices.Concat(plan.Actions, docPlan.Actions) {
			name := filepath.Join(dir, filepath.FromSlash(a.File.Path))
			if i >= len(plan.Actions) {
				name = openapi
			}
			switch a.Op {
			case generator.Create, generator.Replace:
				fmt.Fprintf(env.Stderr, "stale: %s\n", name)
			case generator.Delete:
				fmt.Fprintf(env.Stderr, "stale: %s (no .proto makes it any more)\n", name)
			default:
				continue
			}
			stale++
		}
		if stale > 0 {
			return fmt.Errorf("%s out of date; run perfgen proto %s to regenerate them", isAre(stale, "generated file"), dir)
		}
		fmt.Fprintf(env.Stdout, "%s up to date\n", generator.Count(len(files)+len(docFiles), "generated file"))
		return nil
	}
	if err := (generator.Writer{FS: env.FS}).Apply(ctx, plan); err != nil {
		return err
	}
	if err := (generator.Writer{FS: env.FS}).Apply(ctx, docPlan); err != nil {
		return err
	}
	printProtoPlan(env.Stdout, dir, plan, docPlan, openapi, len(sources))
	if plan.Count(generator.Delete) > 0 && env.Getenv("GOFILE") != "" {
		// go generate lists every package's files before it runs the first
		// generator and stops when one it has not read yet is gone
		// (https://go.dev/issue/36068). The deletions are right and the
		// next run is clean; say so before go generate's error does.
		fmt.Fprintln(env.Stdout, "note: go generate may now stop with \"no such file or directory\" for a file deleted above, as it lists files before running generators; run it again")
	}
	return nil
}

// protoFiles compiles sources, whose keys are paths relative to the import
// root dir, into the files to write under dir. Error positions are made
// relative to the current directory, so editors can jump to them.
func protoFiles(dir string, sources map[string][]byte, opts protobuild.Options) (generator.Files, error) {
	return generator.GenerateProtoCode(sources, opts, func(p string) string { return filepath.Join(dir, filepath.FromSlash(p)) })
}

// openAPIPath returns where the OpenAPI document of the .proto files under
// dir goes: flag when set; the project's generator.OpenAPIPath when dir is
// the import root of a project perfgen generated; else dir/openapi.yaml.
func openAPIPath(dir, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	root, ok, err := findProjectRoot(dir)
	if err != nil {
		return "", err
	}
	if ok {
		protoRoot := filepath.Join(root, filepath.FromSlash(generator.ProtoRoot))
		if same, err := sameDir(protoRoot, dir); err != nil {
			return "", err
		} else if same {
			// Named from dir, as the user named it: ../openapi.yaml.
			rel, err := filepath.Rel(filepath.FromSlash(generator.ProtoRoot), filepath.FromSlash(generator.OpenAPIPath))
			if err != nil {
				return "", err
			}
			return filepath.Join(dir, rel), nil
		}
	}
	return filepath.Join(dir, protobuild.OpenAPIFile), nil
}

// sameDir reports whether a and b name the same directory.
func sameDir(a, b string) (bool, error) {
	ia, err := os.Stat(a)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ib, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(ia, ib), nil
}

// scanProtoDir reads every .proto file under dir, keyed by its slash path
// relative to dir, and lists the .pb.go files beside them (slash paths
// relative to dir), which orphanedProtoCode examines once the .proto files
// are compiled.
func scanProtoDir(dir string) (sources map[string][]byte, generated []string, err error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, nil, usagef("proto directory: %w", err)
	}
	if !info.IsDir() {
		return nil, nil, usagef("%s is not a directory; give the directory that holds the .proto files", dir)
	}
	sources = map[string][]byte{}
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
		isProto, isGo := filepath.Ext(p) == ".proto", strings.HasSuffix(d.Name(), ".pb.go")
		if (!isProto && !isGo) || !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if isGo {
			generated = append(generated, rel)
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sources[rel] = src
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read .proto files: %w", err)
	}
	if len(sources) == 0 {
		return nil, nil, usagef("no .proto files under %s; give the directory that holds them (the import root)", dir)
	}
	return sources, generated, nil
}

// orphanedProtoCode returns those of the generated files under dir (slash
// paths relative to it, as scanProtoDir lists them) that no .proto produces
// any more: files that perfgen proto, or protoc with paths=source_relative and
// dir as its import root, wrote for a .proto beside them that no longer
// exists, or gRPC stubs of a .proto that no longer declares a service. A file
// qualifies only if it carries the standard "Code generated ... DO NOT EDIT."
// header, and its "source:" header line names a .proto in its own directory
// relative to dir that is one of those the file's name could come from
// (x.proto for x.pb.go or x_grpc.pb.go); and then only if that .proto is
// compiled without producing the file (written holds what this run writes),
// or is neither compiled nor present at all. Hand-written files, code other
// tools generated, and code compiled under another import root fail one of
// these tests and are kept.
func orphanedProtoCode(dir string, sources map[string][]byte, generated []string, written generator.Files) ([]string, error) {
	writes := make(map[string]bool, len(written))
	for _, f := range written {
		writes[f.Path] = true
	}
	var orphans []string
	for _, rel := range generated {
		if writes[rel] {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return nil, fmt.Errorf("look for generated code of removed .proto files: %w", err)
		}
		source, ok := protobuild.GeneratedFrom(src)
		if !ok || !slices.Contains(protobuild.OutputPaths(source), rel) {
			continue
		}
		if _, compiled := sources[source]; compiled {
			if !writes[rel] {
				// The .proto is still compiled but no longer makes this
				// file: the stubs of services it no longer declares.
				orphans = append(orphans, rel)
			}
			continue
		}
		// Something at the .proto's path that was not compiled (a symbolic
		// link, a directory) means the .proto is not simply gone.
		if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(source))); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		orphans = append(orphans, rel)
	}
	return orphans, nil
}

// skipDir reports whether the go command would skip a directory called
// name: hidden, underscored, or testdata.
func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata"
}

// printProtoPlan reports each file written, the Go code's under dir and
// the OpenAPI document at openapi, and a one-line summary.
func printProtoPlan(w io.Writer, dir string, plan, docPlan *generator.Plan, openapi string, sources int) {
	verbs := map[generator.Op]string{generator.Create: "created", generator.Replace: "updated", generator.Delete: "deleted"}
	for _, a := range plan.Actions {
		if verb := verbs[a.Op]; verb != "" {
			fmt.Fprintf(w, "%s %s\n", verb, filepath.Join(dir, filepath.FromSlash(a.File.Path)))
		}
	}
	for _, a := range docPlan.Actions {
		if verb := verbs[a.Op]; verb != "" {
			fmt.Fprintf(w, "%s %s\n", verb, openapi)
		}
	}
	count := func(op generator.Op) int { return plan.Count(op) + docPlan.Count(op) }
	fmt.Fprintf(w, "%s: %s created, %d updated, %d deleted, %d unchanged\n", generator.Count(sources, ".proto file"), generator.Count(count(generator.Create), "generated file"),
		count(generator.Replace), count(generator.Delete), count(generator.Keep))
}
