package generator

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
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
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, template, src, parser.ParseComments)
	if err != nil {
		return nil, syntaxError(template, src, err)
	}
	type unused struct{ name, path string }
	var drop []unused
	for _, spec := range f.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			return nil, &TemplateError{Template: template, Err: fmt.Errorf("rendered Go has a malformed import %s", spec.Path.Value)}
		}
		if !usesImport(f, spec, p) {
			drop = append(drop, unused{name(spec), p})
		}
	}
	for _, u := range drop {
		astutil.DeleteNamedImport(fset, f, u.name, u.path)
	}
	var buf bytes.Buffer
	if err := format.Node(&buf, fset, f); err != nil {
		return nil, &TemplateError{Template: template, Err: fmt.Errorf("format rendered Go: %w", err)}
	}
	out, err := imports.Process(template, buf.Bytes(), &imports.Options{
		Comments:   true,
		TabIndent:  true,
		TabWidth:   8,
		FormatOnly: true,
	})
	if err != nil {
		return nil, syntaxError(template, buf.Bytes(), err)
	}
	return out, nil
}

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

// usesImport reports whether f refers to the package spec imports.
func usesImport(f *ast.File, spec *ast.ImportSpec, p string) bool {
	n := importName(p)
	if spec.Name != nil {
		n = spec.Name.Name
	}
	if n == "_" || n == "." {
		return true
	}
	used := false
	ast.Inspect(f, func(node ast.Node) bool {
		sel, ok := node.(*ast.SelectorExpr)
		if !ok {
			return !used
		}
		if id, ok := sel.X.(*ast.Ident); ok && id.Name == n {
			used = true
		}
		return !used
	})
	return used
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
