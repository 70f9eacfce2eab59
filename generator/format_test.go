package generator

import (
	"fmt"
	"go/parser"
	"go/token"
	"path"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/templates"
)

// TestFormatShortcutMatchesGoimports checks that formatGo's shortcut (print
// the tree when goimports would change no import) gives goimports' bytes:
// for sources made to take each way, and for every Go file the built-in
// templates render in any option combination.
func TestFormatShortcutMatchesGoimports(t *testing.T) {
	sources := map[string]string{
		"sorted":               "package a\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\n\t\"example.com/x\"\n)\n\nvar _ = fmt.Sprint(os.Args, x.X)\n",
		"unsorted":             "package a\n\nimport (\n\t\"os\"\n\t\"fmt\"\n)\n\nvar _ = fmt.Sprint(os.Args)\n",
		"mixed groups":         "package a\n\nimport (\n\t\"example.com/x\"\n\t\"fmt\"\n)\n\nvar _ = fmt.Sprint(x.X)\n",
		"two decls":            "package a\n\nimport \"fmt\"\nimport \"os\"\n\nvar _ = fmt.Sprint(os.Args)\n",
		"comment":              "package a\n\nimport (\n\t\"fmt\" // print\n\t\"os\"\n)\n\nvar _ = fmt.Sprint(os.Args)\n",
		"numbers":              "package a\n\nimport \"fmt\"\n\nvar _ = fmt.Sprint(0X1F, 1E3, 0xbeef)\n",
		"blank before )":       "package a\n\nimport (\n\t\"fmt\"\n\n)\n\nvar _ = fmt.Sprint()\n",
		"dropped import":       "package a\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\t\"strings\"\n)\n\nvar _ = fmt.Sprint(os.Args)\n",
		"no imports":           "package a\n\nvar  x=1\n",
		"drop last of group":   "package a\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\n\t\"example.com/x\"\n)\n\nvar _ = fmt.Sprint(os.Args)\n",
		"drop first of group":  "package a\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/x\"\n\t\"example.com/y\"\n)\n\nvar _ = fmt.Sprint(y.Y)\n",
		"drop every import":    "package a\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nvar x = 1\n",
		"drop the only import": "package a\n\nimport \"fmt\"\n\n// X is x.\nvar X = 1\n",
		"drop beside comment":  "package a\n\nimport (\n\t\"fmt\"\n\t// os is for args.\n\t\"os\"\n\t\"strings\" // unused\n)\n\nvar _ = fmt.Sprint(os.Args)\n",
		"drop a group":         "package a\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/x\"\n\n\t\"example.com/z\"\n)\n\nvar _ = fmt.Sprint(z.Z)\n",
		"named and blank":      "package a\n\nimport (\n\t_ \"embed\"\n\tstdfmt \"fmt\"\n)\n\nvar _ = stdfmt.Sprint()\n",
		"unsorted runs":        "package a\n\nimport (\n\t\"os\"\n\t\"fmt\"\n\n\t\"example.com/z\"\n\t\"example.com/x\"\n\t\"github.com/y\"\n)\n\nvar _ = fmt.Sprint(os.Args, x.X, y.Y, z.Z)\n",
		"unsorted named":       "package a\n\nimport (\n\tzz \"example.com/b\"\n\t\"example.com/a/longer/path\"\n\taa \"example.com/c\"\n\t_ \"example.com/aa\"\n)\n\nvar _ = zz.X + path.Y + aa.Z\n",
		"unsorted after drop":  "package a\n\nimport (\n\t\"strings\"\n\t\"os\"\n\t\"fmt\"\n\t\"bytes\"\n)\n\nvar _ = fmt.Sprint(os.Args, bytes.MinRead)\n",
		"unsorted, groups mix": "package a\n\nimport (\n\t\"example.com/x\"\n\t\"os\"\n\t\"fmt\"\n)\n\nvar _ = fmt.Sprint(os.Args, x.X)\n",
		"unsorted, comment":    "package a\n\n/* c */ import (\n\t\"os\"\n\t\"fmt\"\n)\n\nvar _ = fmt.Sprint(os.Args)\n",
		"drop a group's last":  "package a\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\n\t\"example.com/x\"\n)\n\nvar _ = fmt.Sprint(os.Args)\n\nfunc f() {}\n",
		"blanks before )":      "package a\n\nimport (\n\t\"fmt\"\n\n\n)\n\n// F is f.\nfunc F() { fmt.Println() }\n",
		"unsorted single line": "package a\n\nimport (\"os\"; \"fmt\")\n\nvar _ = fmt.Sprint(os.Args)\n",
	}
	for name, src := range sources {
		want, err := formatGoWith(name, []byte(src), false)
		require.NoError(t, err, name)
		got, err := formatGoWith(name, []byte(src), true)
		require.NoError(t, err, name)
		assert.Equal(t, string(want), string(got), name)
	}

	if testing.Short() {
		t.Skip("rendering every option combination")
	}
	n := forEachRenderedGoFile(t, func(f *pending, spec Spec, _ *Data) {
		want, err := formatGoWith(f.entry.Template, f.file.Content, false)
		require.NoError(t, err)
		got, err := formatGoWith(f.entry.Template, f.file.Content, true)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "%s with %+v", f.file.Path, spec)
	})
	t.Logf("%d distinct rendered Go files", n)
}

// forEachRenderedGoFile calls check with each distinct Go file the built-in
// templates render, unformatted, in any option combination, and returns how
// many there were.
func forEachRenderedGoFile(t *testing.T, check func(f *pending, spec Spec, data *Data)) int {
	t.Helper()
	ts, err := Parse(templates.FS, Manifest)
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, spec := range Combinations() {
		v, err := spec.Valid()
		require.NoError(t, err)
		data, err := NewData(v.Spec())
		require.NoError(t, err)
		files := ts.selectFiles(data)
		ts.executeTemplates(files)
		for _, f := range files {
			require.NoError(t, f.err)
			if path.Ext(f.file.Path) != ".go" || seen[string(f.file.Content)] {
				continue
			}
			seen[string(f.file.Content)] = true
			check(f, spec, data)
		}
	}
	return len(seen)
}

// TestImportsInGoimportsOrderSortsOnlyWhatGoimportsWouldJustSort checks
// which import blocks formatGo's shortcut takes: those goimports would leave
// alone, only sort run by run or only close up before the parenthesis, and
// not those where it would also regroup, merge or move comments.
func TestImportsInGoimportsOrderSortsOnlyWhatGoimportsWouldJustSort(t *testing.T) {
	for src, want := range map[string]bool{
		"package a\n":                   true,
		"package a\n\nimport \"fmt\"\n": true,
		"package a\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\n\t\"example.com/x\"\n)\n":               true,
		"package a\n\nimport (\n\t\"os\"\n\t\"fmt\"\n)\n":                                      true,
		"package a\n\nimport (\n\tb \"example.com/b\"\n\ta \"example.com/a\"\n\n\t\"os\"\n)\n": true,
		"package a\n\nimport (\n\t\"example.com/x\"\n\t\"fmt\"\n)\n":                           false,
		"package a\n\nimport \"os\"\nimport \"fmt\"\n":                                         false,
		"package a\n\nimport (\n\t\"os\" // os\n\t\"fmt\"\n)\n":                                false,
		"package a\n\n/* c */ import (\n\t\"os\"\n\t\"fmt\"\n)\n":                              false,
		"package a\n\nimport (\n\t\"fmt\"\n\t\"fmt\"\n)\n":                                     false,
		"package a\n\nimport (\n\t\"fmt\"\n\n)\n":                                              true,
	} {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "a.go", src, parser.ParseComments|parser.SkipObjectResolution)
		require.NoError(t, err)
		assert.Equal(t, want, importsInGoimportsOrder(fset, f), src)
	}
}

// TestRenderedImportsAreGrouped checks every Go file the built-in templates
// render, in any option combination, for import groups as a Go engineer
// writes them: the standard library, then other modules, then the
// project's own packages, each group alone and separated by a blank line.
// A template's {{- can eat the blank line between two groups, and
// goimports then keeps them merged.
func TestRenderedImportsAreGrouped(t *testing.T) {
	if testing.Short() {
		t.Skip("rendering every option combination")
	}
	forEachRenderedGoFile(t, func(f *pending, spec Spec, data *Data) {
		src, err := formatGoWith(f.entry.Template, f.file.Content, true)
		require.NoError(t, err)
		if problem := importGrouping(t, src, data.Module); problem != "" {
			t.Errorf("%s (template %s, %+v): %s", f.file.Path, f.entry.Template, spec, problem)
		}
	})
}

// importGrouping describes what is wrong with src's import groups, or
// returns "".
func importGrouping(t *testing.T, src []byte, module string) string {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "", src, parser.ImportsOnly)
	require.NoError(t, err)
	kind := func(p string) int {
		switch {
		case p == module || strings.HasPrefix(p, module+"/"):
			return 2
		case strings.Contains(strings.SplitN(p, "/", 2)[0], "."):
			return 1
		}
		return 0
	}
	names := [...]string{"standard library", "other modules", "the project's packages"}
	lastLine, lastKind := 0, -1
	for _, spec := range file.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		require.NoError(t, err)
		line, k := fset.Position(spec.Pos()).Line, kind(p)
		if doc := spec.Doc; doc != nil {
			line = fset.Position(doc.Pos()).Line
		}
		switch {
		case lastKind < 0:
		case k < lastKind:
			return fmt.Sprintf("%s import %q after %s", names[k], p, names[lastKind])
		case k > lastKind && line == lastLine+1:
			return fmt.Sprintf("%s import %q in one group with %s; put a blank line between them", names[k], p, names[lastKind])
		}
		lastLine, lastKind = fset.Position(spec.End()).Line, k
	}
	return ""
}
