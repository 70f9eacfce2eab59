package generator

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"

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
	assert.EqualError(t, err, `template x/a.txt.tmpl:2: function "nosuchfunc" not defined`)

	ts, err := parseMap(t, map[string]string{"x/a.txt.tmpl": "ok\n{{ .NoSuchField }}\n"},
		[]Entry{{"x/a.txt.tmpl", "a.txt", Always, modeFile}})
	require.NoError(t, err)
	_, err = ts.Render(DefaultSpec("demo"))
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "template x/a.txt.tmpl:2:"), err.Error())
	assert.Contains(t, err.Error(), "NoSuchField")
}

func TestGoSyntaxErrorShowsNumberedSource(t *testing.T) {
	ts, err := parseMap(t, map[string]string{"x/main.go.tmpl": "package main\n\nfunc main() {\n\tx := \n}\n"},
		[]Entry{{"x/main.go.tmpl", "main.go", Always, modeFile}})
	require.NoError(t, err)
	_, err = ts.Render(DefaultSpec("demo"))
	require.Error(t, err)
	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, "template x/main.go.tmpl: rendered Go does not parse: line 5:1:"), msg)
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
