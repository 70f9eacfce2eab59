package templatedir

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/templates"
)

// builtinFS is a small stand-in for the built-ins: one file with a block,
// and one plain file.
var builtinFS = fstest.MapFS{
	"service/a.txt.tmpl": {Data: []byte(`{{/* a */ -}}
a {{.Name}}
{{block "extra" .}}default extra{{end}}
`)},
	"service/b.txt.tmpl": {Data: []byte("{{/* b */ -}}\nb {{.Module}}\n")},
}

var builtinManifest = []generator.Entry{
	{Template: "service/a.txt.tmpl", Path: "a.txt", When: generator.Always, Mode: 0o644},
	{Template: "service/b.txt.tmpl", Path: "b.txt", When: generator.Always, Mode: 0o644},
}

// writeDir writes files into a new custom template directory.
func writeDir(t *testing.T, files map[string]string) *Dir {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	d, err := Open(dir)
	require.NoError(t, err)
	return d
}

func render(t *testing.T, d *Dir) map[string]string {
	t.Helper()
	ts, err := d.Load(builtinFS, builtinManifest)
	require.NoError(t, err)
	files, err := ts.Render(generator.DefaultSpec("demo"))
	require.NoError(t, err)
	out := map[string]string{}
	for _, f := range files {
		out[f.Path] = string(f.Content)
	}
	return out
}

func TestOverlayReplacesFilesAndBlocks(t *testing.T) {
	d := writeDir(t, map[string]string{
		VersionFile:          dataVersion + "\n",
		"service/b.txt.tmpl": "{{/* b */ -}}\ncustom b\n",
		// Lexically before service/, but shared-block files parse last.
		"_overrides.tmpl": `{{define "extra"}}custom extra for {{.Name}}{{end}}`,
	})
	got := render(t, d)
	assert.Equal(t, "a demo\ncustom extra for demo\n", got["a.txt"])
	assert.Equal(t, "custom b\n", got["b.txt"])
	assert.Contains(t, got[generator.LockFile], "templates: custom\n")
}

func TestOverlayKeepsBlockOverrideOverCopiedFile(t *testing.T) {
	// A copied file re-declares the block; the override still wins.
	d := writeDir(t, map[string]string{
		VersionFile:          dataVersion + "\n",
		"service/a.txt.tmpl": "{{/* a */ -}}\ncopied {{block \"extra\" .}}default{{end}}\n",
		"service/_x.tmpl":    `{{define "extra"}}override{{end}}`,
	})
	assert.Equal(t, "copied override\n", render(t, d)["a.txt"])
}

func TestManifestAddsReplacesAndDisables(t *testing.T) {
	d := writeDir(t, map[string]string{
		VersionFile:          dataVersion,
		"team/c.txt.tmpl":    "c for {{.Name}}\n",
		"service/a.txt.tmpl": "a\n",
		ManifestFile: `- template: team/c.txt.tmpl
  path: docs/{{.Name}}.txt
  when: http+cache
  mode: "0600"
- template: service/b.txt.tmpl
  path: b.txt
  when: never
`,
	})
	got := render(t, d)
	assert.Equal(t, "c for demo\n", got["docs/demo.txt"])
	assert.NotContains(t, got, "b.txt")
	assert.Equal(t, "a\n", got["a.txt"])
}

func TestParseManifestErrorsNameTheLine(t *testing.T) {
	_, err := ParseManifest("m.yaml", []byte(`- template: a.tmpl
  path: a
- template: b.tmpl
  path: b
  when: http+kafka
- template: c.tmpl
  path: c
  mode: "999"
`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `m.yaml:3: entry for b.tmpl: unknown condition "kafka"`)
	assert.Contains(t, err.Error(), `m.yaml:6: entry for c.tmpl: mode "999" must be octal`)
}

func TestManifestRoundTrip(t *testing.T) {
	src, err := MarshalManifest(generator.Manifest)
	require.NoError(t, err)
	got, err := ParseManifest("manifest.yaml", src)
	require.NoError(t, err)
	require.Len(t, got, len(generator.Manifest))
	for i, e := range generator.Manifest {
		assert.Equal(t, e.Template, got[i].Template)
		assert.Equal(t, e.Path, got[i].Path)
		assert.Equal(t, e.When.Name, got[i].When.Name)
		assert.Equal(t, e.Mode, got[i].Mode)
	}
}

// dataVersion is the template-data version file of a directory written for
// this perfgen.
var dataVersion = strconv.Itoa(generator.DataVersion)

func TestVersionMismatchIsAnErrorNotAFallback(t *testing.T) {
	next := generator.DataVersion + 1
	d := writeDir(t, map[string]string{VersionFile: fmt.Sprintf("%d\n", next), "service/b.txt.tmpl": "x"})
	_, err := d.Load(builtinFS, builtinManifest)
	assert.ErrorContains(t, err, fmt.Sprintf("templates declare template-data version %d, but this perfgen has version %d; upgrade perfgen", next, generator.DataVersion))

	d = writeDir(t, map[string]string{"service/b.txt.tmpl": "x"})
	_, err = d.Load(builtinFS, builtinManifest)
	assert.ErrorContains(t, err, "declares no template-data version; write "+dataVersion+" to")
}

func TestOpenRefusesLinksOutOfTheDirectory(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret.tmpl")
	require.NoError(t, os.WriteFile(outside, []byte("secret"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "x.tmpl")))
	_, err := Open(dir)
	assert.ErrorContains(t, err, "outside the directory")
}

func TestCheckReportsEveryBrokenFileWithItsLine(t *testing.T) {
	d := writeDir(t, map[string]string{
		VersionFile:          dataVersion,
		"service/a.txt.tmpl": "{{/* a */ -}}\nline 2\n{{if .HTTP}}\n",
		"service/b.txt.tmpl": "{{/* b */ -}}\n{{nosuchfunc .Name}}\n",
	})
	var got []string
	for _, p := range Check(builtinFS, builtinManifest, d) {
		got = append(got, p.String())
	}
	require.Len(t, got, 2, "%q", got)
	assert.Equal(t, filepath.Join(d.Path, "service/a.txt.tmpl")+":4: unexpected EOF", got[0])
	assert.Equal(t, filepath.Join(d.Path, "service/b.txt.tmpl")+`:2: function "nosuchfunc" not defined`, got[1])
}

func TestCheckFindsErrorsOnlyOneCombinationHits(t *testing.T) {
	d := writeDir(t, map[string]string{
		VersionFile:          dataVersion,
		"service/b.txt.tmpl": "{{/* b */ -}}\n{{if .Postgres}}\n{{.Database}}\n{{end}}\n",
	})
	problems := Check(builtinFS, builtinManifest, d)
	require.Len(t, problems, 1)
	assert.Equal(t, filepath.Join(d.Path, "service/b.txt.tmpl"), problems[0].File)
	assert.Equal(t, 3, problems[0].Line)
	assert.Contains(t, problems[0].Msg, "can't evaluate field Database")
	assert.Contains(t, problems[0].Msg, "store postgres")
}

func TestCheckPassesTheExportedBuiltins(t *testing.T) {
	files, err := Export(templates.FS, generator.Manifest)
	require.NoError(t, err)
	m := map[string]string{}
	for _, f := range files {
		m[f.Path] = string(f.Content)
	}
	d := writeDir(t, m)
	assert.Empty(t, Check(templates.FS, generator.Manifest, d))

	var diff bytes.Buffer
	differs, err := Diff(&diff, templates.FS, generator.Manifest, d)
	require.NoError(t, err)
	assert.False(t, differs, diff.String())
}

func TestDiffShowsEditsAndAdditions(t *testing.T) {
	d := writeDir(t, map[string]string{
		VersionFile:          dataVersion + "\n",
		"service/b.txt.tmpl": "{{/* b */ -}}\nb {{.Module}} edited\n",
		"_overrides.tmpl":    "x\n",
	})
	var out bytes.Buffer
	differs, err := Diff(&out, builtinFS, builtinManifest, d)
	require.NoError(t, err)
	assert.True(t, differs)
	text := out.String()
	assert.Contains(t, text, "--- /dev/null\n+++ "+filepath.ToSlash(d.Path)+"/_overrides.tmpl\n")
	assert.Contains(t, text, "--- built-in/service/b.txt.tmpl\n")
	assert.Contains(t, text, "-b {{.Module}}\n+b {{.Module}} edited\n")
	assert.Contains(t, text, "# 2 built-in files are not in")
}

func TestFieldsListsNestedData(t *testing.T) {
	var out bytes.Buffer
	Fields(&out)
	for _, want := range []string{".Name ", ".SLO.P95Millis ", ".Ports.Admin ", ".Spec.Deploy "} {
		assert.Contains(t, out.String(), want)
	}
	assert.False(t, strings.Contains(out.String(), "generator."), "types are shown without package paths")
}

func TestCheckLocatesGoSyntaxErrorsAndManifestLines(t *testing.T) {
	d := writeDir(t, map[string]string{
		VersionFile:         dataVersion,
		"service/x.go.tmpl": "package x\n\nfunc f() {\n\ty := \n}\n",
		ManifestFile:        "- template: service/x.go.tmpl\n  path: x.go\n",
	})
	problems := Check(builtinFS, builtinManifest, d)
	require.NotEmpty(t, problems)
	p := problems[0]
	assert.Equal(t, filepath.Join(d.Path, "service/x.go.tmpl"), p.File)
	assert.Zero(t, p.Line)
	assert.True(t, strings.HasPrefix(p.Msg, "rendered Go does not parse: line 5:1: "), p.Msg)
	assert.NotContains(t, p.Msg, "\n", "the rendered source is left out")

	d = writeDir(t, map[string]string{
		VersionFile:  dataVersion,
		ManifestFile: "- template: service/a.txt.tmpl\n  path: a.txt\n- template: service/b.txt.tmpl\n  path: b.txt\n  when: kafka\n- path: c.txt\n",
	})
	problems = Check(builtinFS, builtinManifest, d)
	require.Len(t, problems, 2)
	manifest := filepath.Join(d.Path, ManifestFile)
	assert.Equal(t, manifest, problems[0].File)
	assert.Equal(t, 3, problems[0].Line)
	assert.True(t, strings.HasPrefix(problems[0].Msg, `entry for service/b.txt.tmpl: unknown condition "kafka"`), problems[0].Msg)
	assert.Equal(t, Problem{File: manifest, Line: 6, Msg: "entry has no template"}, problems[1])
}

func TestLocateNamesTheFileOnDiskOrTheBuiltin(t *testing.T) {
	d := writeDir(t, map[string]string{VersionFile: dataVersion, "service/b.txt.tmpl": "b\n{{ .Nope }}\n"})
	_, err := d.Load(builtinFS, builtinManifest)
	require.NoError(t, err)
	mine := d.Locate(fmt.Errorf("render demo: %w", &generator.TemplateError{Template: "service/b.txt.tmpl", Line: 2, Err: errors.New("boom")}))
	assert.EqualError(t, mine, filepath.Join(d.Path, "service/b.txt.tmpl")+":2: boom")
	builtin := d.Locate(&generator.TemplateError{Template: "service/a.txt.tmpl", Line: 1, Err: errors.New("boom")})
	assert.EqualError(t, builtin, "built-in service/a.txt.tmpl:1: boom")
	other := errors.New("not a template")
	assert.Same(t, other, d.Locate(other))
}
