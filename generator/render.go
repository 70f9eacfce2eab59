package generator

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"

	"github.com/perfgen/perfgen/internal/protobuild"
)

// A File is one rendered file of a project.
type File struct {
	// Path is relative to the project root and slash separated.
	Path string
	// Content is the file's bytes.
	Content []byte
	// Mode is the file's permission bits.
	Mode fs.FileMode
}

// Files is a rendered project, sorted by path.
type Files []File

// Lookup returns the file at path p.
func (fs Files) Lookup(p string) (File, bool) {
	i, ok := slices.BinarySearchFunc(fs, p, func(f File, p string) int { return strings.Compare(f.Path, p) })
	if !ok {
		return File{}, false
	}
	return fs[i], true
}

// Templates is a parsed template set with the manifest that maps it to files.
// Parse it once and render it for any number of specs.
type Templates struct {
	files    *template.Template
	paths    *template.Template
	manifest []Entry
}

// Render validates spec and renders the project it describes from the
// templates in fsys, using the built-in Manifest. It is a pure function: it
// reads nothing but fsys, and the same inputs give the same Files.
func Render(fsys fs.FS, spec Spec) (Files, error) {
	t, err := Parse(fsys, Manifest)
	if err != nil {
		return nil, err
	}
	return t.Render(spec)
}

// Parse parses every *.tmpl file in fsys, and the output path of every
// manifest entry, into one template set. Templates share one namespace, so a
// {{define}} in one file can be used, or overridden, from another.
func Parse(fsys fs.FS, manifest []Entry) (*Templates, error) {
	files := template.New("").Option("missingkey=error").Funcs(funcMap())
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".tmpl") {
			return nil
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if _, err := files.New(p).Parse(string(src)); err != nil {
			return templateError(err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	paths := template.New("").Option("missingkey=error").Funcs(funcMap())
	for _, e := range manifest {
		if files.Lookup(e.Template) == nil {
			return nil, fmt.Errorf("manifest entry for %s: template %s does not exist", e.Path, e.Template)
		}
		if _, err := paths.New(e.Template).Parse(e.Path); err != nil {
			return nil, fmt.Errorf("manifest entry for %s: output path %q: %w", e.Template, e.Path, err)
		}
	}
	return &Templates{files: files, paths: paths, manifest: manifest}, nil
}

// Render validates spec and renders the files of the project it describes.
// Rendered .proto files are compiled in memory, and their generated Go code
// is part of the result.
func (t *Templates) Render(spec Spec) (Files, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	data, err := NewData(spec)
	if err != nil {
		return nil, err
	}
	var out Files
	seen := make(map[string]string)
	for _, e := range t.manifest {
		if !e.When.Holds(data) {
			continue
		}
		p, err := execute(t.paths, e.Template, data)
		if err != nil {
			return nil, fmt.Errorf("output path of %s: %w", e.Template, err)
		}
		rel := string(p)
		if err := checkOutputPath(rel); err != nil {
			return nil, fmt.Errorf("template %s: %w", e.Template, err)
		}
		if prev, dup := seen[rel]; dup {
			return nil, fmt.Errorf("templates %s and %s both write %s", prev, e.Template, rel)
		}
		seen[rel] = e.Template
		content, err := execute(t.files, e.Template, data)
		if err != nil {
			return nil, err
		}
		if path.Ext(rel) == ".go" {
			if content, err = formatGo(e.Template, content); err != nil {
				return nil, err
			}
		}
		out = append(out, File{Path: rel, Content: content, Mode: e.Mode})
	}
	generated, err := compileProtos(out)
	if err != nil {
		return nil, err
	}
	for _, f := range generated {
		if prev, dup := seen[f.Path]; dup {
			return nil, fmt.Errorf("template %s writes %s, which is generated from a .proto file", prev, f.Path)
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// compileProtos compiles the rendered .proto files and returns the Go files
// generated from them, beside each .proto. It calls what `perfgen proto`
// calls, with the same import root the project's //go:generate line gives
// it, so regenerating an untouched project changes nothing.
func compileProtos(files Files) (Files, error) {
	sources := map[string][]byte{}
	for _, f := range files {
		if path.Ext(f.Path) != ".proto" {
			continue
		}
		rel, ok := strings.CutPrefix(f.Path, ProtoRoot+"/")
		if !ok {
			return nil, fmt.Errorf("rendered %s is outside %s, the import root .proto files are compiled from; move it there", f.Path, ProtoRoot)
		}
		sources[rel] = f.Content
	}
	if len(sources) == 0 {
		return nil, nil
	}
	generated, err := protobuild.Generate(sources)
	var ce *protobuild.CompileError
	if errors.As(err, &ce) {
		for i, d := range ce.Diagnostics {
			ce.Diagnostics[i].File = ProtoRoot + "/" + d.File
		}
		return nil, fmt.Errorf("rendered .proto files do not compile:\n%w", ce)
	}
	if err != nil {
		return nil, fmt.Errorf("generate Go code from the rendered .proto files: %w", err)
	}
	out := make(Files, len(generated))
	for i, f := range generated {
		out[i] = File{Path: ProtoRoot + "/" + f.Path, Content: f.Content, Mode: modeFile}
	}
	return out, nil
}

// checkOutputPath refuses a rendered path that could land outside the
// project root or that names no file.
func checkOutputPath(p string) error {
	switch {
	case p == "" || strings.HasSuffix(p, "/"):
		return fmt.Errorf("output path %q names no file", p)
	case strings.Contains(p, `\`):
		return fmt.Errorf("output path %q contains a backslash; use forward slashes", p)
	case !fs.ValidPath(p) || path.IsAbs(p):
		return fmt.Errorf("output path %q is outside the project root", p)
	}
	return nil
}

func execute(t *template.Template, name string, data *Data) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, templateError(err)
	}
	return buf.Bytes(), nil
}

// templateError rewrites text/template's "template: name:line: msg" as
// "template name:line: msg", so the template's path reads as a location.
func templateError(err error) error {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "template: "); ok {
		return fmt.Errorf("template %s", rest)
	}
	return err
}

// funcMap is sprig's hermetic functions (no clock, randomness or environment)
// plus perfgen's own.
func funcMap() template.FuncMap {
	m := sprig.HermeticTxtFuncMap()
	m["goPackage"] = goPackage
	m["goExported"] = goExported
	return m
}

// goPackage turns a service name into a Go package name: "orders-api" ->
// "ordersapi".
func goPackage(name string) string { return strings.ReplaceAll(name, "-", "") }

// goExported turns a service name into an exported Go identifier:
// "orders-api" -> "OrdersApi".
func goExported(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]))
		b.WriteString(part[1:])
	}
	return b.String()
}
