package protobuild

import (
	"bytes"
	_ "embed"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"google.golang.org/protobuf/compiler/protogen"
)

// The runtime of the HTTP/JSON code, copied into each generated file (see
// package genrt for why it is a copy and not an import).
var (
	//go:embed genrt/json.go
	jsonRuntime []byte
	//go:embed genrt/http.go
	httpRuntime []byte
)

// runtimeCopy writes the declarations of a genrt source file into g, each
// top-level name prefixed with prefix ("jsonDecoder" becomes
// prefix+"JSONDecoder"), and each package it uses qualified as g imports it.
type runtimeCopy struct {
	g      *protogen.GeneratedFile
	prefix string
}

// name returns the generated name of the runtime's top-level name.
func (c runtimeCopy) name(name string) string {
	for _, word := range []string{"json", "http"} {
		if rest, ok := strings.CutPrefix(name, word); ok {
			return c.prefix + strings.ToUpper(word) + rest
		}
	}
	panic("genrt declares " + name + ", which does not start with json or http")
}

// runtimeNames lists the top-level names every genrt file declares, so a
// copy of one file can refer to the other's.
var runtimeNames = func() []string {
	var names []string
	for _, src := range [][]byte{jsonRuntime, httpRuntime} {
		f, err := parser.ParseFile(token.NewFileSet(), "", src, 0)
		if err != nil {
			panic("genrt does not parse: " + err.Error())
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					names = append(names, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						names = append(names, s.Name.Name)
					case *ast.ValueSpec:
						for _, n := range s.Names {
							names = append(names, n.Name)
						}
					}
				}
			}
		}
	}
	// Longest first, so that no name is replaced inside a longer one.
	slices.SortFunc(names, func(a, b string) int { return len(b) - len(a) })
	return names
}()

// write copies src's declarations, comments included.
func (c runtimeCopy) write(src []byte) error {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "genrt.go", src, parser.ParseComments)
	if err != nil {
		return fmt.Errorf("parse the HTTP runtime: %w", err)
	}
	// Each import is qualified by the name g gives it.
	var qualify []*regexp.Regexp
	var qualified []string
	for _, imp := range f.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			return err
		}
		local := path[strings.LastIndex(path, "/")+1:]
		ident := c.g.QualifiedGoIdent(protogen.GoIdent{GoName: "X", GoImportPath: protogen.GoImportPath(path)})
		qualify = append(qualify, regexp.MustCompile(`(^|[^.\w])`+regexp.QuoteMeta(local)+`\.`))
		qualified = append(qualified, "${1}"+strings.TrimSuffix(ident, "X"))
	}
	var renames []*regexp.Regexp
	var renamed []string
	for _, n := range runtimeNames {
		renames = append(renames, regexp.MustCompile(`(^|[^.\w])`+regexp.QuoteMeta(n)+`\b`))
		renamed = append(renamed, "${1}"+c.name(n))
	}
	for _, d := range f.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			continue
		}
		var buf bytes.Buffer
		if err := printer.Fprint(&buf, fset, &printer.CommentedNode{Node: d, Comments: f.Comments}); err != nil {
			return err
		}
		text := buf.String()
		for i, re := range qualify {
			text = re.ReplaceAllString(text, qualified[i])
		}
		for i, re := range renames {
			text = re.ReplaceAllString(text, renamed[i])
		}
		c.g.P()
		c.g.P(text)
	}
	return nil
}

// lowerCamel turns a file or service name into an unexported Go
// identifier: "items_v2" and "items-v2" become "itemsV2".
func lowerCamel(s string) string {
	var b strings.Builder
	upper := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if b.Len() == 0 {
				b.WriteRune(unicode.ToLower(r))
			} else if upper {
				b.WriteRune(unicode.ToUpper(r))
			} else {
				b.WriteRune(r)
			}
			upper = false
		default:
			upper = true
		}
	}
	out := b.String()
	if out == "" || unicode.IsDigit(rune(out[0])) {
		out = "file" + strings.ToUpper(out[:min(1, len(out))]) + out[min(1, len(out)):]
	}
	return out
}
