package generator

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/scanner"
	"go/token"
	"path"
	"strconv"
	"strings"

	"golang.org/x/tools/go/ast/astutil"
	"golang.org/x/tools/imports"
)

// formatGo drops the imports a rendered Go file does not use and formats it
// as goimports would. Templates may therefore import everything any variant
// of a file needs, with no conditional import blocks. Imports are only
// removed, never added: adding would search the host's packages and make the
// output depend on the machine.
func formatGo(template string, src []byte) ([]byte, error) {
	return formatGoWith(template, src, true)
}

// formatGoWith is formatGo; without shortcut it always runs goimports, which
// the test of the shortcut compares against.
func formatGoWith(template string, src []byte, shortcut bool) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, template, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, syntaxError(template, src, err)
	}
	refs := references(f)
	type unused struct{ name, path string }
	var drop []unused
	for _, spec := range f.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			return nil, &TemplateError{Template: template, Err: fmt.Errorf("rendered Go has a malformed import %s", spec.Path.Value)}
		}
		if !refs.uses(spec, p) {
			drop = append(drop, unused{name(spec), p})
		}
	}
	for _, u := range drop {
		astutil.DeleteNamedImport(fset, f, u.name, u.path)
	}
	// When goimports would change no more in a file's imports than
	// importsInGoimportsOrder does, all it does besides is lay the file out
	// as gofmt does: print the tree, one pass instead of goimports' three.
	if shortcut && refs.numbersInGofmtForm && importsInGoimportsOrder(fset, f) {
		return printGo(template, fset, f, len(src))
	}
	if len(drop) > 0 {
		if src, err = printGo(template, fset, f, len(src)); err != nil {
			return nil, err
		}
	}
	out, err := imports.Process(template, src, &imports.Options{
		Comments:   true,
		TabIndent:  true,
		TabWidth:   8,
		FormatOnly: true,
	})
	if err != nil {
		return nil, syntaxError(template, src, err)
	}
	return out, nil
}

// printGo prints f as gofmt does. size is the length of the source f was
// parsed from, which the output is about as long as.
func printGo(template string, fset *token.FileSet, f *ast.File, size int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(size + size/8)
	if err := goPrinter.Fprint(&buf, fset, f); err != nil {
		return nil, &TemplateError{Template: template, Err: fmt.Errorf("format rendered Go: %w", err)}
	}
	return buf.Bytes(), nil
}

// importsInGoimportsOrder puts the imports of f in the order goimports
// would, and reports whether that is all goimports would change in them: one
// import declaration, first, with no comments on its lines and no import
// "C", whose runs of consecutive lines are each in one goimports group
// (standard library, then the rest), without duplicates. A run out of order
// is sorted, and blank lines before the closing parenthesis (which dropping
// an unused import can leave) are removed, as gofmt does both
// (ast.SortImports), and so goimports: within one group it sorts as gofmt
// does. It errs on the side of no, which costs only time, and changes f only
// when it reports yes.
func importsInGoimportsOrder(fset *token.FileSet, f *ast.File) bool {
	var decl *ast.GenDecl
	for i, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.IMPORT {
			continue
		}
		if i != 0 || decl != nil {
			return false
		}
		decl = g
	}
	if decl == nil {
		return true
	}
	if len(decl.Specs) == 0 {
		return false
	}
	tok := fset.File(f.FileStart)
	first, last := tok.Line(decl.Pos()), tok.Line(decl.End())
	for _, c := range f.Comments {
		if tok.Line(c.End()) >= first && tok.Line(c.Pos()) <= last {
			return false
		}
	}
	seen := map[string]bool{}
	tidy := true
	var prev *ast.ImportSpec
	for _, s := range decl.Specs {
		spec := s.(*ast.ImportSpec)
		p, err := strconv.Unquote(spec.Path.Value)
		if err != nil || p == "C" || seen[p] {
			return false
		}
		seen[p] = true
		if prev != nil && tok.Line(spec.Pos()) <= 1+tok.Line(prev.End()) {
			// The same run: one group, sorted by path.
			prevPath, _ := strconv.Unquote(prev.Path.Value)
			if importGroup(prevPath) != importGroup(p) {
				return false
			}
			tidy = tidy && prevPath < p
		}
		prev = spec
	}
	if decl.Rparen.IsValid() && tok.Line(decl.Rparen) > tok.Line(prev.End())+1 {
		tidy = false
	}
	if !tidy {
		ast.SortImports(fset, f)
	}
	return true
}

// fileRefs is what formatGo needs to know of a file's body, gathered in one
// walk of its syntax tree.
type fileRefs struct {
	// qualifiers are the identifiers x of the file's x.name selectors:
	// every package name the file refers to, and other names besides.
	qualifiers map[string]bool
	// numbersInGofmtForm is false when a number literal has a capital
	// letter (0X10, 1E3), which gofmt would rewrite in lower case;
	// goPrinter leaves literals as they are.
	numbersInGofmtForm bool
}

// references walks f once for its fileRefs.
func references(f *ast.File) fileRefs {
	refs := fileRefs{qualifiers: map[string]bool{}, numbersInGofmtForm: true}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok {
				refs.qualifiers[id.Name] = true
			}
		case *ast.BasicLit:
			if n.Kind != token.STRING && n.Kind != token.CHAR && strings.ContainsAny(n.Value, "ABCDEFOPX") {
				refs.numbersInGofmtForm = false
			}
		}
		return true
	})
	return refs
}

// uses reports whether the file refers to the package spec imports, whose
// path is p.
func (r fileRefs) uses(spec *ast.ImportSpec, p string) bool {
	n := importName(p)
	if spec.Name != nil {
		n = spec.Name.Name
	}
	return n == "_" || n == "." || r.qualifiers[n]
}

// importGroup is goimports' group of an import path (with no local
// prefix): 0 for the standard library, 1 for paths whose first element has a
// dot, 2 for appengine.
func importGroup(p string) int {
	first, _, _ := strings.Cut(p, "/")
	switch {
	case strings.HasPrefix(p, "appengine"):
		return 2
	case strings.Contains(first, "."):
		return 1
	}
	return 0
}

// goPrinter prints as gofmt does.
var goPrinter = printer.Config{Mode: printer.UseSpaces | printer.TabIndent, Tabwidth: 8}

func name(spec *ast.ImportSpec) string {
	if spec.Name == nil {
		return ""
	}
	return spec.Name.Name
}

// importName guesses the package name of an unnamed import from its path, as
// goimports does: the last element, without a major-version suffix or a
// "go-" prefix. Templates name imports whose package name differs.
func importName(p string) string {
	base := path.Base(p)
	if strings.HasPrefix(base, "v") {
		if _, err := strconv.Atoi(base[1:]); err == nil && len(base) > 1 {
			base = path.Base(path.Dir(p))
		}
	}
	base = strings.TrimPrefix(base, "go-")
	if i := strings.IndexAny(base, ".-"); i >= 0 {
		base = base[:i]
	}
	return base
}

// syntaxError reports a Go syntax error in rendered output with the template
// that produced it and the rendered source, numbered, so the line the error
// names can be found.
func syntaxError(template string, src []byte, err error) error {
	se := &SyntaxError{Msg: err.Error(), Source: src}
	if list, ok := err.(scanner.ErrorList); ok && len(list) > 0 {
		se.Line, se.Column, se.Msg = list[0].Pos.Line, list[0].Pos.Column, list[0].Msg
	}
	return &TemplateError{Template: template, Err: se}
}
