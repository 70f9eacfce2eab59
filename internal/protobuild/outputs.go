package protobuild

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"strings"
)

// OutputPaths returns the paths of the Go files Generate may write for the
// source at the slash path source, beside it: NAME.pb.go always,
// NAME_grpc.pb.go when the file declares services, NAME_http.pb.go when it
// has HTTP bindings or messages they carry, and RuntimeFile when it is the
// first source of a package with HTTP code. protoc-gen-go and
// protoc-gen-go-grpc name their files the same way under
// paths=source_relative.
func OutputPaths(source string) []string {
	stem := strings.TrimSuffix(source, ".proto")
	return []string{stem + ".pb.go", stem + "_grpc.pb.go", stem + "_http.pb.go", path.Join(path.Dir(source), RuntimeFile)}
}

// GeneratedFrom reports the .proto that the Go file src was generated
// from: the path on its "// source: PATH" header line, relative to the import
// root it was compiled under. ok is false unless src carries the standard
// "// Code generated ... DO NOT EDIT." line (https://go.dev/s/generatedcode)
// and a source line that names a clean relative .proto path, both before the
// package clause, as protoc-gen-go, protoc-gen-go-grpc and Generate write
// them. A file a person wrote, or one this cannot read as Go, is never
// taken for generated code.
func GeneratedFrom(src []byte) (source string, ok bool) {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.PackageClauseOnly|parser.ParseComments)
	if err != nil || !ast.IsGenerated(f) {
		return "", false
	}
	for _, group := range f.Comments {
		if group.Pos() >= f.Package {
			break
		}
		for _, c := range group.List {
			name, found := strings.CutPrefix(c.Text, "// source: ")
			if found && path.Ext(name) == ".proto" && fs.ValidPath(name) && !strings.Contains(name, `\`) {
				return name, true
			}
		}
	}
	return "", false
}
