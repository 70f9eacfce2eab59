package protobuild

import (
	"bytes"
	_ "embed"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
)

// The runtime of the HTTP/JSON code, copied into each generated package
// (see package genrt for why it is a copy and not an import).
var (
	//go:embed genrt/json.go
	jsonRuntime []byte
	//go:embed genrt/http.go
	httpRuntime []byte
)

// RuntimeFile is the name of the file, beside a Go package's
// NAME_http.pb.go files, that holds the runtime they share: the
// declarations of package genrt that they use, written once per package.
const RuntimeFile = "http_runtime.pb.go"

// runtimeCopy gathers what the NAME_http.pb.go files of one Go package use
// of the runtime, and writes it into the package's RuntimeFile.
type runtimeCopy struct {
	// users are the package's NAME_http.pb.go files; their code says which
	// of the decoder's methods are called.
	users []*protogen.GeneratedFile
	// used holds the runtime names the generated code refers to: the roots
	// of the declarations copied.
	used map[string]bool
}

// name returns name, a top-level name of genrt, and records that the
// package uses it.
func (c *runtimeCopy) name(name string) string {
	if !strings.HasPrefix(name, "json") && !strings.HasPrefix(name, "http") {
		panic("genrt declares " + name + ", which does not start with json or http")
	}
	c.used[name] = true
	return name
}

// A runtimeDecl is one declaration of genrt: a top-level one, or a method.
type runtimeDecl struct {
	// names are the top-level names it declares, or Type.method for a
	// method.
	names []string
	// text is its source, comments included.
	text string
	// uses are the names of the other declarations its text refers to.
	uses []string
	// imports are the paths of the packages its text refers to.
	imports []string
}

// runtimeDecls are the declarations of genrt/json.go and genrt/http.go, in
// source order.
var runtimeDecls = parseRuntime(jsonRuntime, httpRuntime)

// selectorPattern finds x.name selectors, which may be method calls or
// method values.
var selectorPattern = regexp.MustCompile(`\.(\w+)\b`)

func wordPattern(word string) *regexp.Regexp {
	return regexp.MustCompile(`(^|[^.\w])` + regexp.QuoteMeta(word) + `\b`)
}

func parseRuntime(sources ...[]byte) []*runtimeDecl {
	var decls []*runtimeDecl
	byType := map[string]*runtimeDecl{}
	imports := map[string]string{} // local name -> path
	for _, src := range sources {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "genrt.go", src, parser.ParseComments)
		if err != nil {
			panic("genrt does not parse: " + err.Error())
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			imports[path[strings.LastIndex(path, "/")+1:]] = path
		}
		for _, d := range f.Decls {
			var buf bytes.Buffer
			if err := printer.Fprint(&buf, fset, &printer.CommentedNode{Node: d, Comments: f.Comments}); err != nil {
				panic(err)
			}
			switch d := d.(type) {
			case *ast.GenDecl:
				if d.Tok == token.IMPORT {
					continue
				}
				rd := &runtimeDecl{text: buf.String()}
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						rd.names = append(rd.names, s.Name.Name)
						byType[s.Name.Name] = rd
					case *ast.ValueSpec:
						for _, n := range s.Names {
							rd.names = append(rd.names, n.Name)
						}
					}
				}
				decls = append(decls, rd)
			case *ast.FuncDecl:
				if d.Recv == nil {
					decls = append(decls, &runtimeDecl{names: []string{d.Name.Name}, text: buf.String()})
					continue
				}
				recv := d.Recv.List[0].Type
				if star, ok := recv.(*ast.StarExpr); ok {
					recv = star.X
				}
				typ := recv.(*ast.Ident).Name
				if byType[typ] == nil {
					panic("genrt declares a method before its type")
				}
				decls = append(decls, &runtimeDecl{names: []string{typ + "." + d.Name.Name}, text: buf.String(), uses: []string{typ}})
			}
		}
	}
	var names []string
	methods := map[string][]string{} // method name -> Type.method
	for _, d := range decls {
		for _, n := range d.names {
			if typ, m, ok := strings.Cut(n, "."); ok {
				methods[m] = append(methods[m], typ+"."+m)
			} else {
				names = append(names, n)
			}
		}
	}
	for _, d := range decls {
		for _, n := range names {
			if !slices.Contains(d.names, n) && wordPattern(n).MatchString(d.text) {
				d.uses = append(d.uses, n)
			}
		}
		for _, m := range selectorPattern.FindAllStringSubmatch(d.text, -1) {
			for _, full := range methods[m[1]] {
				if !slices.Contains(d.uses, full) && !slices.Contains(d.names, full) {
					d.uses = append(d.uses, full)
				}
			}
		}
		for local, path := range imports {
			if regexp.MustCompile(`(^|[^.\w])` + regexp.QuoteMeta(local) + `\.`).MatchString(d.text) {
				d.imports = append(d.imports, path)
			}
		}
		slices.Sort(d.imports)
	}
	return decls
}

// write copies the runtime declarations the package uses, and those they
// use, into g.
func (c *runtimeCopy) write(g *protogen.GeneratedFile) error {
	needed := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if needed[name] {
			return
		}
		for _, d := range runtimeDecls {
			if slices.Contains(d.names, name) {
				for _, n := range d.names {
					needed[n] = true
				}
				for _, u := range d.uses {
					visit(u)
				}
			}
		}
	}
	for name := range c.used {
		visit(name)
	}
	// The generated code calls the decoder's methods (d.string(), d.object):
	// find them in the package's files. The other types keep every method,
	// since one may be there for an interface (Error).
	var code []byte
	for _, u := range c.users {
		content, err := u.Content()
		if err != nil {
			return err
		}
		code = append(code, content...)
	}
	called := decoderCalls(code)
	for _, d := range runtimeDecls {
		typ, m, ok := strings.Cut(d.names[0], ".")
		if !ok || !needed[typ] {
			continue
		}
		if typ != "jsonDecoder" || called[m] {
			visit(d.names[0])
		}
	}
	for _, d := range runtimeDecls {
		if !needed[d.names[0]] {
			continue
		}
		text := d.text
		for _, path := range d.imports {
			local := path[strings.LastIndex(path, "/")+1:]
			ident := g.QualifiedGoIdent(protogen.GoIdent{GoName: "X", GoImportPath: protogen.GoImportPath(path)})
			if q := strings.TrimSuffix(ident, "X"); q != local+"." {
				text = regexp.MustCompile(`(^|[^.\w])`+regexp.QuoteMeta(local)+`\.`).ReplaceAllString(text, "${1}"+q)
			}
		}
		g.P()
		g.P(text)
	}
	return nil
}

// decoderCalls returns the names m of the selectors d.m in code whose d is a
// whole word: the decoder's methods that generated code calls or takes the
// value of. It finds each m that the pattern \bd\.m\b matches, in one pass.
func decoderCalls(code []byte) map[string]bool {
	called := map[string]bool{}
	for i := 0; ; {
		j := bytes.Index(code[i:], []byte("d."))
		if j < 0 {
			return called
		}
		j += i
		i = j + 1
		if j > 0 && isWordByte(code[j-1]) {
			continue
		}
		end := j + len("d.")
		for end < len(code) && isWordByte(code[end]) {
			end++
		}
		if end > j+len("d.") {
			called[string(code[j+len("d."):end])] = true
		}
	}
}

// isWordByte reports whether c is a word character of regexp's \w and \b.
func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
