package generator

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"text/template"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/templates"
)

func parseMap(t *testing.T, files map[string]string, manifest []Entry) (*Templates, error) {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	return Parse(fsys, manifest)
}

func TestRenderIsDeterministic(t *testing.T) {
	spec := DefaultSpec("demo")
	a, err := Render(templates.FS, spec)
	require.NoError(t, err)
	b, err := Render(templates.FS, spec)
	require.NoError(t, err)
	require.Equal(t, len(a), len(b))
	for i := range a {
		assert.Equal(t, a[i].Path, b[i].Path)
		assert.True(t, bytes.Equal(a[i].Content, b[i].Content), a[i].Path)
	}
	for i := 1; i < len(a); i++ {
		assert.Less(t, a[i-1].Path, a[i].Path, "files are sorted")
	}
}

func TestRenderOmitsVersionAndTime(t *testing.T) {
	files, err := Render(templates.FS, DefaultSpec("demo"))
	require.NoError(t, err)
	for _, f := range files {
		for _, banned := range []string{"perfgen version", "Generated on", "generated at"} {
			assert.NotContains(t, string(f.Content), banned, f.Path)
		}
	}
	f, ok := files.Lookup(AnswersFile)
	require.True(t, ok)
	back, err := ReadAnswers(AnswersFile, bytes.NewReader(f.Content), Spec{})
	require.NoError(t, err)
	assert.Equal(t, DefaultSpec("demo").Normalize(), back, ".perfgen.yaml reads back as the answers")
}

func TestRenderFollowsConditions(t *testing.T) {
	spec := DefaultSpec("demo")
	spec.Transport = TransportGRPC
	files, err := Render(templates.FS, spec)
	require.NoError(t, err)
	_, ok := files.Lookup("internal/items/http.go")
	assert.False(t, ok, "an HTTP-less project has no HTTP handlers")
	_, ok = files.Lookup("cmd/demo/main.go")
	assert.True(t, ok)
}

func TestRenderRejectsInvalidSpec(t *testing.T) {
	spec := DefaultSpec("demo")
	spec.Name = "Demo"
	_, err := Render(templates.FS, spec)
	assert.ErrorContains(t, err, `invalid service name "Demo"`)
}

func TestTemplateErrorsNameTemplateAndLine(t *testing.T) {
	_, err := parseMap(t, map[string]string{"x/a.txt.tmpl": "line one\n{{ .Name | nosuchfunc }}\n"},
		[]Entry{{"x/a.txt.tmpl", "a.txt", Always, modeFile}})
	assert.EqualError(t, err, `x/a.txt.tmpl:2: function "nosuchfunc" not defined`)
	var te *TemplateError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, TemplateError{Template: "x/a.txt.tmpl", Line: 2}, TemplateError{Template: te.Template, Line: te.Line})

	ts, err := parseMap(t, map[string]string{"x/a.txt.tmpl": "ok\n{{ .NoSuchField }}\n"},
		[]Entry{{"x/a.txt.tmpl", "a.txt", Always, modeFile}})
	require.NoError(t, err)
	_, err = ts.Render(DefaultSpec("demo"))
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "x/a.txt.tmpl", te.Template)
	assert.Equal(t, 2, te.Line)
	assert.Equal(t, `x/a.txt.tmpl:2: executing "x/a.txt.tmpl" at <.NoSuchField>: can't evaluate field NoSuchField in type *generator.Data`, err.Error())
	var exec template.ExecError
	assert.ErrorAs(t, err, &exec, "the text/template error stays in the chain")
}

func TestTemplateErrorInABlockNamesTheFileThatDefinesIt(t *testing.T) {
	ts, err := parseMap(t, map[string]string{
		"x/a.txt.tmpl":   "{{ template \"greeting\" . }}\n",
		"x/_shared.tmpl": "{{ define \"greeting\" }}\nhello\n{{ .Nope }}\n{{ end }}",
	}, []Entry{{"x/a.txt.tmpl", "a.txt", Always, modeFile}})
	require.NoError(t, err)
	_, err = ts.Render(DefaultSpec("demo"))
	var te *TemplateError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "x/_shared.tmpl", te.Template)
	assert.Equal(t, 3, te.Line)
}

func TestTemplateErrorsWithoutALine(t *testing.T) {
	for name, tc := range map[string]struct {
		template string
		path     string
		want     string
	}{
		"path leaves the root":  {"x", "../a.txt", `x/a.tmpl: output path "../a.txt" is outside the project root`},
		"path does not execute": {"x", "{{ .Nope }}", `x/a.tmpl: output path "{{ .Nope }}": executing "x/a.tmpl" at <.Nope>: can't evaluate field Nope in type *generator.Data`},
		"path does not parse":   {"x", "{{ .Name ", `x/a.tmpl: output path "{{ .Name ": unclosed action`},
	} {
		t.Run(name, func(t *testing.T) {
			ts, err := parseMap(t, map[string]string{"x/a.tmpl": tc.template}, []Entry{{"x/a.tmpl", tc.path, Always, modeFile}})
			if err == nil {
				_, err = ts.Render(DefaultSpec("demo"))
			}
			var te *TemplateError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, "x/a.tmpl", te.Template)
			assert.Zero(t, te.Line)
			assert.EqualError(t, err, tc.want)
		})
	}
}

func TestTemplateErrorFromText(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want TemplateError
		text string
	}{
		{"template: a/b.tmpl:12:5: executing \"a/b.tmpl\" at <.X>: boom", TemplateError{Template: "a/b.tmpl", Line: 12}, `executing "a/b.tmpl" at <.X>: boom`},
		{"template: a/b.tmpl:3: unexpected EOF", TemplateError{Template: "a/b.tmpl", Line: 3}, "unexpected EOF"},
		{`template: no template "c.tmpl" associated with template ""`, TemplateError{Template: "c.tmpl"}, `no template "c.tmpl" associated with template ""`},
		{"something else", TemplateError{Template: "c.tmpl"}, "something else"},
	} {
		orig := errors.New(tc.msg)
		got := templateError("c.tmpl", orig)
		assert.Equal(t, tc.want.Template, got.Template, tc.msg)
		assert.Equal(t, tc.want.Line, got.Line, tc.msg)
		assert.EqualError(t, got.Err, tc.text)
		assert.ErrorIs(t, got, orig)
	}
}

func TestGoSyntaxErrorShowsNumberedSource(t *testing.T) {
	ts, err := parseMap(t, map[string]string{"x/main.go.tmpl": "package main\n\nfunc main() {\n\tx := \n}\n"},
		[]Entry{{"x/main.go.tmpl", "main.go", Always, modeFile}})
	require.NoError(t, err)
	_, err = ts.Render(DefaultSpec("demo"))
	require.Error(t, err)
	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, "x/main.go.tmpl: rendered Go does not parse: line 5:1:"), msg)
	var te *TemplateError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "x/main.go.tmpl", te.Template)
	assert.Zero(t, te.Line, "the line is the rendered source's, kept in the SyntaxError")
	var se *SyntaxError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 5, se.Line)
	assert.Equal(t, "rendered Go does not parse: line 5:1: expected operand, found '}'", se.Summary())
	assert.Contains(t, msg, "    4 | \tx := ")
	assert.Contains(t, msg, "    1 | package main")
}

func TestGoOutputDropsUnusedImportsAndFormats(t *testing.T) {
	src := `package demo

import (
	"os"
	"fmt"
	"strings"
	pgx "github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

func  Hello( ) string { return fmt.Sprint(strings.ToUpper("x"), prometheus.BuildFQName("a","b","c")) }
`
	ts, err := parseMap(t, map[string]string{"x/a.go.tmpl": src}, []Entry{{"x/a.go.tmpl", "a.go", Always, modeFile}})
	require.NoError(t, err)
	files, err := ts.Render(DefaultSpec("demo"))
	require.NoError(t, err)
	want := `package demo

import (
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

func Hello() string { return fmt.Sprint(strings.ToUpper("x"), prometheus.BuildFQName("a", "b", "c")) }
`
	f, ok := files.Lookup("a.go")
	require.True(t, ok)
	assert.Equal(t, want, string(f.Content))
}

func TestOutputPathsStayInsideTheRoot(t *testing.T) {
	for _, bad := range []string{"../escape.txt", "/etc/passwd", "a/../../b", "", "dir/", `a\b`} {
		ts, err := parseMap(t, map[string]string{"x/a.tmpl": "x"}, []Entry{{"x/a.tmpl", bad, Always, modeFile}})
		require.NoError(t, err)
		_, err = ts.Render(DefaultSpec("demo"))
		assert.Error(t, err, "path %q", bad)
	}
}

func TestTwoTemplatesCannotWriteOneFile(t *testing.T) {
	ts, err := parseMap(t, map[string]string{"x/a.tmpl": "a", "x/b.tmpl": "b"}, []Entry{
		{"x/a.tmpl", "same.txt", Always, modeFile},
		{"x/b.tmpl", "same.txt", Always, modeFile},
	})
	require.NoError(t, err)
	_, err = ts.Render(DefaultSpec("demo"))
	assert.EqualError(t, err, "templates x/a.tmpl and x/b.tmpl both write same.txt")
}

func TestMissingTemplateForEntry(t *testing.T) {
	_, err := parseMap(t, map[string]string{"x/a.tmpl": "a"}, []Entry{{"x/missing.tmpl", "m.txt", Always, modeFile}})
	assert.EqualError(t, err, "manifest entry for m.txt: template x/missing.tmpl does not exist")
}

func TestGoNames(t *testing.T) {
	assert.Equal(t, "ordersapi", goPackage("orders-api"))
	assert.Equal(t, "OrdersApi", goExported("orders-api"))
	assert.Equal(t, "Demo", goExported("demo"))
}

func BenchmarkRender(b *testing.B) {
	spec := DefaultSpec("demo")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(templates.FS, spec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderParsed(b *testing.B) {
	ts, err := Parse(templates.FS, Manifest)
	if err != nil {
		b.Fatal(err)
	}
	spec := DefaultSpec("demo")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ts.Render(spec); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRenderValidRefusesAnUnvalidatedSpec(t *testing.T) {
	ts, err := Parse(templates.FS, Manifest)
	require.NoError(t, err)
	_, err = ts.RenderValid(Valid{})
	require.ErrorIs(t, err, errNotValidated)

	bad := DefaultSpec("demo")
	bad.Store = "bogus"
	_, err = bad.Valid()
	require.Error(t, err)

	v, err := DefaultSpec("demo").Valid()
	require.NoError(t, err)
	viaValid, err := ts.RenderValid(v)
	require.NoError(t, err)
	viaSpec, err := ts.Render(DefaultSpec("demo"))
	require.NoError(t, err)
	assert.Equal(t, viaSpec, viaValid)
}

// TestRendersShareNoContent checks that the caches a parsed template set
// keeps (formatted Go, Go code from .proto files) hand out copies: editing
// one rendering's files leaves the next rendering as a fresh parse gives it.
func TestRendersShareNoContent(t *testing.T) {
	ts, err := Parse(templates.FS, Manifest)
	require.NoError(t, err)
	first, err := ts.Render(DefaultSpec("demo"))
	require.NoError(t, err)
	for _, f := range first {
		for i := range f.Content {
			f.Content[i] = 'x'
		}
	}
	second, err := ts.Render(DefaultSpec("demo"))
	require.NoError(t, err)
	fresh, err := Render(templates.FS, DefaultSpec("demo"))
	require.NoError(t, err)
	assert.Equal(t, fresh, second)
}

// TestParseOnEveryCPUMatchesParsingInOrder checks that Parse, which parses
// files on several goroutines, builds the template set that parsing the
// files one after another, in order, into one set builds: the same
// templates, each with the definition that won, whatever the number of
// workers and however the files that define a name fall among them.
func TestParseOnEveryCPUMatchesParsingInOrder(t *testing.T) {
	fsys := fstest.MapFS{}
	// Files a.tmpl ... l.tmpl, then _m.tmpl ... _o.tmpl, in parse order;
	// each defines or declares some of x, y, z, or leaves them empty.
	bodies := []string{
		`a{{block "x" .}}a-x{{end}}{{block "y" .}}a-y{{end}}`,
		`b{{define "x"}}b-x{{end}}`,
		`c{{define "y"}}{{end}}`,
		`d{{template "x" .}}`,
		`e{{define "z"}}   {{end}}`,
		`f{{define "x"}}f-x{{end}}{{define "z"}}f-z{{end}}`,
		`g{{define "y"}}g-y{{end}}`,
		`h{{define "x"}}{{end}}`,
		`i{{block "z" .}}i-z{{end}}`,
		`j`,
		`k{{define "y"}}k-y{{end}}`,
		`l{{template "y" .}}{{template "z" .}}`,
		`{{define "x"}}m-x{{end}}`,
		`{{define "z"}}{{end}}`,
		`{{define "y"}}o-y{{end}}`,
	}
	for i, body := range bodies {
		name := string(rune('a'+i)) + ".tmpl"
		if i >= 12 {
			name = "_" + name
		}
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	sources, err := templateSources(fsys)
	require.NoError(t, err)
	require.Len(t, sources, len(bodies))

	want := template.New("").Option("missingkey=error").Funcs(funcMap())
	for _, s := range sources {
		src, err := fs.ReadFile(fsys, s.path)
		require.NoError(t, err)
		_, err = want.New(s.path).Parse(string(src))
		require.NoError(t, err)
	}
	execAll := func(set *template.Template) map[string]string {
		out := map[string]string{}
		for _, tt := range set.Templates() {
			var buf bytes.Buffer
			require.NoError(t, set.ExecuteTemplate(&buf, tt.Name(), nil))
			out[tt.Name()] = buf.String()
		}
		return out
	}

	for procs := 1; procs <= 5; procs++ {
		t.Run(fmt.Sprint(procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			got, err := parseTemplates(sources)
			require.NoError(t, err)
			assert.Equal(t, execAll(want), execAll(got))
		})
	}

	t.Run("first error in order", func(t *testing.T) {
		broken := fstest.MapFS{
			"a.tmpl": {Data: []byte("fine")},
			"b.tmpl": {Data: []byte("{{ nosuchfunc }}")},
			"c.tmpl": {Data: []byte("{{ if }}")},
			"d.tmpl": {Data: []byte("{{ end }}")},
		}
		sources, err := templateSources(broken)
		require.NoError(t, err)
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
		for procs := 1; procs <= 4; procs++ {
			runtime.GOMAXPROCS(procs)
			_, err := parseTemplates(sources)
			assert.EqualError(t, err, `b.tmpl:1: function "nosuchfunc" not defined`, "GOMAXPROCS %d", procs)
		}
	})
}
