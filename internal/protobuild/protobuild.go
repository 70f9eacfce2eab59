// Package protobuild compiles .proto sources in memory and generates their Go
// code, with no protoc and no plugin binaries.
//
// Sources are parsed and linked by github.com/bufbuild/protocompile, which
// also supplies the standard imports (google/protobuf/timestamp.proto and the
// other well-known types). Message code comes from the generator inside
// protoc-gen-go, run through google.golang.org/protobuf/compiler/protogen, so
// it is the code protoc-gen-go writes for the same descriptors. gRPC client
// and server stubs come from perfgen's own generator over protogen (grpc.go).
//
// Output follows protoc's paths=source_relative layout: the Go files of
// api/items.proto are api/items.pb.go and api/items_grpc.pb.go, relative to
// the same import root as the sources. The package is pure: it reads only the
// sources it is given and uses no file system, process, environment or clock,
// so the same sources always give byte-identical files.
package protobuild

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// A File is one generated Go file.
type File struct {
	// Path is slash separated and relative to the import root of the
	// sources: the .proto file's directory, beside it.
	Path string
	// Content is the formatted Go source.
	Content []byte
}

// Options adjust generation. The zero value is what `perfgen proto` uses.
type Options struct {
	// CompilerVersion is reported to protoc-gen-go's generator as the
	// version of the compiler that produced the descriptors, and it appears
	// in the "protoc" line of each .pb.go header. Nil writes
	// "protoc (unknown)", as buf does: no protoc was involved, and the
	// output must not depend on whatever protoc the machine has. Tests that
	// compare with protoc's output set it to that protoc's version, so the
	// files match byte for byte.
	CompilerVersion *pluginpb.Version
	// HTTPOnly generates for a service that serves its API over HTTP/JSON
	// alone: no NAME_grpc.pb.go, and NAME_http.pb.go declares the
	// Strict<Service>Server interface its handlers call and maps errors
	// without gRPC's status package, so nothing generated imports gRPC.
	// Every method must then have a google.api.http binding and none may
	// stream: without gRPC nothing would serve them.
	HTTPOnly bool
}

// Generate compiles sources with the zero Options. See Options.Generate.
func Generate(sources map[string][]byte) ([]File, error) {
	return Options{}.Generate(sources)
}

// Generate compiles sources and returns the Go files generated for them,
// sorted by path. Keys of sources are slash-separated paths relative to the
// import root, as import statements name them ("items/v1/items.proto");
// imports resolve among sources first and then among the standard imports
// protoc ships. Every source gets its message code; a source that declares
// services also gets gRPC stubs, unless o.HTTPOnly.
//
// Compile errors are returned as a *CompileError listing every problem as
// file.proto:line:col: message.
func (o Options) Generate(sources map[string][]byte) ([]File, error) {
	if len(sources) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(sources))
	srcs := make(map[string]string, len(sources))
	for name, src := range sources {
		if err := checkSourcePath(name); err != nil {
			return nil, err
		}
		names = append(names, name)
		srcs[name] = string(src)
	}
	slices.Sort(names)

	files, err := compile(names, srcs)
	if err != nil {
		return nil, err
	}
	if err := checkGoPackages(files); err != nil {
		return nil, err
	}
	req := &pluginpb.CodeGeneratorRequest{
		FileToGenerate:  names,
		Parameter:       stringPtr("paths=source_relative"),
		ProtoFile:       descriptorClosure(files),
		CompilerVersion: o.CompilerVersion,
	}
	return generate(req, o.HTTPOnly)
}

// checkSourcePath refuses a source name that import statements could not
// name, or that would put generated files outside the import root.
func checkSourcePath(name string) error {
	switch {
	case path.Ext(name) != ".proto":
		return fmt.Errorf("source %q is not a .proto file", name)
	case strings.Contains(name, `\`):
		return fmt.Errorf("source %q contains a backslash; use forward slashes", name)
	case !fs.ValidPath(name):
		return fmt.Errorf("source %q is not a clean path relative to the import root", name)
	}
	return nil
}

// compile parses and links names, reporting every error with its position.
func compile(names []string, srcs map[string]string) (linker.Files, error) {
	var diags []Diagnostic
	rep := reporter.NewReporter(
		func(err reporter.ErrorWithPos) error {
			diags = append(diags, diagnostic(err))
			return nil // keep going: report every error at once
		},
		// Warnings, such as an unused import, do not stop generation and
		// are not reported: the output is the same with or without them.
		nil,
	)
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: withGoogleAPIs(srcs),
		}),
		Reporter: rep,
		// protoc hands plugins descriptors with comments; protoc-gen-go copies
		// them into the Go code.
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	files, err := c.Compile(context.Background(), names...)
	if len(diags) > 0 {
		// Files compile concurrently, so errors arrive in any order; report
		// them in source order.
		slices.SortStableFunc(diags, func(a, b Diagnostic) int {
			return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
		})
		return nil, &CompileError{Diagnostics: diags}
	}
	if err != nil {
		// An import that resolves to no file fails before the reporter sees
		// it, but it still carries the import's position.
		var pos reporter.ErrorWithPos
		if errors.As(err, &pos) {
			return nil, &CompileError{Diagnostics: []Diagnostic{diagnostic(pos)}}
		}
		return nil, fmt.Errorf("compile .proto files: %w", err)
	}
	return files, nil
}

// A Diagnostic is one problem in a .proto source.
type Diagnostic struct {
	// File is the source's path relative to the import root.
	File string
	// Line and Col are 1-based; zero when the problem has no position.
	Line, Col int
	// Message describes the problem.
	Message string
}

func (d Diagnostic) String() string {
	if d.Line == 0 {
		return fmt.Sprintf("%s: %s", d.File, d.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s", d.File, d.Line, d.Col, d.Message)
}

func diagnostic(err reporter.ErrorWithPos) Diagnostic {
	pos := err.GetPosition()
	return Diagnostic{File: pos.Filename, Line: pos.Line, Col: pos.Col, Message: err.Unwrap().Error()}
}

// CompileError lists the problems that stopped .proto sources from
// compiling, sorted by file and position.
type CompileError struct {
	Diagnostics []Diagnostic
}

// Error returns one file.proto:line:col: message line per problem.
func (e *CompileError) Error() string {
	lines := make([]string, len(e.Diagnostics))
	for i, d := range e.Diagnostics {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// checkGoPackages requires a go_package option in every source, with a
// message that says how to add one; protogen's own mentions protoc flags
// that `perfgen proto` does not have.
func checkGoPackages(files linker.Files) error {
	var diags []Diagnostic
	for _, f := range files {
		if f.Options().(*descriptorpb.FileOptions).GetGoPackage() != "" {
			continue
		}
		d := Diagnostic{File: f.Path(), Message: `no go_package option; add one naming the Go import path and package, such as option go_package = "example.com/svc/api/items/v1;itemsv1";`}
		if loc := f.SourceLocations().ByPath(protoreflect.SourcePath{packageFieldNumber}); loc.Path != nil {
			d.Line, d.Col = loc.StartLine+1, loc.StartColumn+1
		}
		diags = append(diags, d)
	}
	if len(diags) > 0 {
		return &CompileError{Diagnostics: diags}
	}
	return nil
}

// packageFieldNumber is FileDescriptorProto.package: a missing go_package is
// reported at the package statement, where it usually goes.
const packageFieldNumber = 2

// descriptorClosure returns the descriptors of files and everything they
// import, each after its imports, as CodeGeneratorRequest.proto_file must be.
func descriptorClosure(files linker.Files) []*descriptorpb.FileDescriptorProto {
	var out []*descriptorpb.FileDescriptorProto
	seen := map[string]bool{}
	var visit func(protoreflect.FileDescriptor)
	visit = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			visit(imports.Get(i).FileDescriptor)
		}
		out = append(out, fileDescriptorProto(fd))
	}
	for _, f := range files {
		visit(f)
	}
	return out
}

// fileDescriptorProto returns the descriptor proto of fd. A compiled source
// keeps the one the compiler built, comments included; a standard import is
// converted from its Go descriptor.
func fileDescriptorProto(fd protoreflect.FileDescriptor) *descriptorpb.FileDescriptorProto {
	if r, ok := fd.(linker.Result); ok {
		return r.FileDescriptorProto()
	}
	return protodesc.ToFileDescriptorProto(fd)
}

// generate runs protoc-gen-go's generator and perfgen's gRPC generator over
// req, as protoc would run the two plugins, and perfgen's HTTP generator;
// httpOnly leaves the gRPC one out.
func generate(req *pluginpb.CodeGeneratorRequest, httpOnly bool) ([]File, error) {
	gen, err := protogen.Options{}.New(req)
	if err != nil {
		return nil, fmt.Errorf("prepare Go generation: %w", err)
	}
	for _, f := range gen.Files {
		if !f.Generate {
			continue
		}
		generateMessages(gen, f)
		if !httpOnly {
			generateGRPC(gen, f)
		}
	}
	if err := generateHTTP(gen, httpOnly); err != nil {
		return nil, err
	}
	resp := gen.Response()
	if resp.Error != nil {
		return nil, errors.New(resp.GetError())
	}
	out := make([]File, 0, len(resp.File))
	for _, f := range resp.File {
		out = append(out, File{Path: f.GetName(), Content: []byte(f.GetContent())})
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

func stringPtr(s string) *string { return &s }
