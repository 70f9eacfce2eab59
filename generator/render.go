package generator

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	origin   string
	// source is what renders with t, for the lock to record.
	source Source
	// formatted caches formatGo by rendered source: most Go files render
	// the same for many option combinations, and a check renders them all.
	formatted *sync.Map
	// protoCode caches the Go code of the rendered .proto files by their
	// paths and content, which few options change.
	protoCode *sync.Map
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
//
// When fsys is layered (an Overlay), its layers are parsed in order, the
// built-ins first, so a later layer's {{define}} replaces an earlier layer's
// {{block}}. Within a layer, files named _*.tmpl (shared blocks) are parsed
// after the others, so they override blocks those files declare.
func Parse(fsys fs.FS, manifest []Entry) (*Templates, error) {
	sources, walkErr := templateSources(fsys)
	files, err := parseTemplates(sources)
	if err != nil {
		return nil, err
	}
	if walkErr != nil {
		return nil, walkErr
	}
	paths := template.New("").Option("missingkey=error").Funcs(funcMap())
	for _, e := range manifest {
		if files.Lookup(e.Template) == nil {
			return nil, fmt.Errorf("manifest entry for %s: template %s does not exist", e.Path, e.Template)
		}
		if _, err := paths.New(e.Template).Parse(e.Path); err != nil {
			return nil, pathError(e, templateError(e.Template, err))
		}
	}
	return &Templates{files: files, paths: paths, manifest: manifest, origin: OriginBuiltin, formatted: new(sync.Map), protoCode: new(sync.Map)}, nil
}

// A templateSource is a template file to parse: its path and the layer
// it is read from.
type templateSource struct {
	layer fs.FS
	path  string
}

// templateSources returns the template files of fsys in parse order (see
// Parse). An error walking a layer ends the list there, and is returned
// with it.
func templateSources(fsys fs.FS) ([]templateSource, error) {
	layers := []fs.FS{fsys}
	if l, ok := fsys.(layered); ok {
		layers = l.Layers()
	}
	var out []templateSource
	for i, layer := range layers {
		names, err := templateNames(layer)
		if err != nil {
			return out, err
		}
		for _, p := range names {
			if !shadowed(layers[i+1:], p) {
				out = append(out, templateSource{layer, p})
			}
		}
	}
	return out, nil
}

// parseTemplates parses sources into one template set, with the result of
// parsing them into it one after another, in order, but on every CPU.
//
// Each worker parses every n-th file, in order, into a set of its own, so
// that the function map is copied into a set once per worker, not once per
// file. Then the templates each file defined (their trees' ParseName) are
// added to the one set in the files' order, which decides, as parsing in
// that order would, which {{define}} replaces which {{block}}. A tree that a
// later file of the same worker replaced in the worker's set is missing
// then, which changes nothing: that later file replaces it in the one set
// too. The first error in the files' order is returned.
func parseTemplates(sources []templateSource) (*template.Template, error) {
	funcs := funcMap()
	newSet := func() *template.Template { return template.New("").Option("missingkey=error").Funcs(funcs) }
	workers := max(1, min(runtime.GOMAXPROCS(0), len(sources)))
	sets := make([]*template.Template, workers)
	errs := make([]error, len(sources))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			sets[w] = newSet()
			for i := w; i < len(sources); i += workers {
				errs[i] = parseTemplate(sets[w], sources[i])
			}
		})
	}
	wg.Wait()
	byFile := make(map[string][]*template.Template)
	for _, set := range sets {
		for _, t := range set.Templates() {
			byFile[t.Tree.ParseName] = append(byFile[t.Tree.ParseName], t)
		}
	}
	files := newSet()
	for i, src := range sources {
		if errs[i] != nil {
			return nil, errs[i]
		}
		for _, t := range byFile[src.path] {
			if _, err := files.AddParseTree(t.Name(), t.Tree); err != nil {
				return nil, templateError(src.path, err)
			}
		}
	}
	return files, nil
}

// parseTemplate reads src and parses it into set.
func parseTemplate(set *template.Template, src templateSource) error {
	text, err := fs.ReadFile(src.layer, src.path)
	if err != nil {
		return err
	}
	if _, err := set.New(src.path).Parse(string(text)); err != nil {
		return templateError(src.path, err)
	}
	return nil
}

// layered is an fs.FS made of layers, later ones overriding earlier ones
// file by file. Parse parses the layers in order.
type layered interface {
	Layers() []fs.FS
}

// shadowed reports whether a file at p exists in any of layers.
func shadowed(layers []fs.FS, p string) bool {
	for _, l := range layers {
		if _, err := fs.Stat(l, p); err == nil {
			return true
		}
	}
	return false
}

// templateNames returns the *.tmpl files of fsys in parse order: lexical,
// except that shared-block files (_*.tmpl) come last.
func templateNames(fsys fs.FS) ([]string, error) {
	var regular, shared []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".tmpl") {
			return nil
		}
		if strings.HasPrefix(d.Name(), "_") {
			shared = append(shared, p)
		} else {
			regular = append(regular, p)
		}
		return nil
	})
	return append(regular, shared...), err
}

// Manifest returns the manifest t renders.
func (t *Templates) Manifest() []Entry { return t.manifest }

// Origin names where t's templates come from; the lock file records it so
// that sync can refuse to re-render a custom-template project with the
// built-ins.
const (
	OriginBuiltin = "built-in"
	OriginCustom  = "custom"
)

// Blocks returns the names of the named templates ({{block}} or {{define}})
// in t, sorted: the sections a custom _*.tmpl file can override.
func (t *Templates) Blocks() []string {
	var out []string
	for _, tt := range t.files.Templates() {
		if name := tt.Name(); name != "" && !strings.HasSuffix(name, ".tmpl") {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Origin returns OriginBuiltin or OriginCustom.
func (t *Templates) Origin() string { return t.origin }

// WithOrigin returns t marked as coming from origin (OriginBuiltin or
// OriginCustom).
func (t *Templates) WithOrigin(origin string) *Templates {
	c := *t
	c.origin = origin
	return &c
}

// A Source says what renders a project: the lock file records it, so that
// perfgen sync can render the same files again as the base of a merge.
type Source struct {
	// Perfgen is the perfgen version that renders: a module version a
	// proxy serves, or DevelPerfgen for a development build. Empty, the
	// lock records the version the project pins (Spec.PerfgenVersion),
	// which is how tests render with a fixed version.
	Perfgen string
	// TemplatesSum is the checksum of a custom template directory's tree
	// (golang.org/x/mod/sumdb/dirhash's h1: hash), "" for the built-ins.
	TemplatesSum string
	// TemplatesRev is the git commit a custom template directory was
	// committed at, when it is in a git repository and has no uncommitted
	// changes.
	TemplatesRev string
}

// DevelPerfgen stands in for the version of a development build of perfgen
// (`go build` in a checkout), which no proxy serves: a lock that records it
// can be re-rendered only by the built-ins of a perfgen with the same
// templates, which the lock's hashes confirm file by file.
const DevelPerfgen = "(devel)"

// Source returns what renders with t, as WithSource set it.
func (t *Templates) Source() Source { return t.source }

// WithSource returns t recording s as what renders with it.
func (t *Templates) WithSource(s Source) *Templates {
	c := *t
	c.source = s
	return &c
}

// Render validates spec and renders the files of the project it describes,
// and the project's lock file (LockFile) that records them.
func (t *Templates) Render(spec Spec) (Files, error) {
	v, err := spec.Valid()
	if err != nil {
		return nil, err
	}
	return t.RenderValid(v)
}

// RenderValid is Render for answers already validated.
func (t *Templates) RenderValid(spec Valid) (Files, error) {
	files, errs := t.render(spec)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return files, nil
}

// RenderAll is Render that does not stop at the first broken template: it
// returns every error, one per template, so a check can list them all.
func (t *Templates) RenderAll(spec Spec) (Files, []error) {
	v, err := spec.Valid()
	if err != nil {
		return nil, []error{err}
	}
	return t.render(v)
}

// render is the rendering pipeline, one named step per line. The steps up
// to formatGo work file by file: a file that fails one is left out of the
// next and keeps its error, so every broken template is reported, each once,
// in manifest order. The steps after them work on the project as a whole.
//
// The Go code of the .proto files is generated while the Go files are
// formatted: the two are most of a render's work, neither needs the other,
// and together they keep every CPU busy. Its result is used only when every
// file rendered.
func (t *Templates) render(spec Valid) (Files, []error) {
	if !spec.ok {
		return nil, []error{errNotValidated}
	}
	data, err := NewData(spec.Spec())
	if err != nil {
		return nil, []error{err}
	}
	files := t.selectFiles(data)
	t.executeTemplates(files)
	protoCode := t.startProtoCode(files, data)
	t.formatGo(files)
	out, errs := rendered(files)
	generated, err := protoCode()
	if len(errs) > 0 {
		return nil, errs
	}
	if err != nil {
		return nil, []error{err}
	}
	if out, err = addProtoCode(out, generated); err != nil {
		return nil, []error{err}
	}
	out.Sort()
	if out, err = t.addLock(out, data); err != nil {
		return nil, []error{err}
	}
	return out, nil
}

// A pending file is one manifest entry on its way through render: the file
// so far, or the error that stopped it, and the data it renders with (the
// project's, or for a per-resource entry the project's with Resource set).
type pending struct {
	entry Entry
	data  *Data
	file  File
	err   error
}

// selectFiles returns a pending file for each manifest entry whose condition
// holds, at its output path, and for a per-resource entry one for each
// resource it holds for: the path is rendered and checked to stay inside
// the project, to name no file another entry writes, and not to be the lock
// file.
func (t *Templates) selectFiles(data *Data) []*pending {
	var out []*pending
	seen := make(map[string]string)
	for _, e := range t.manifest {
		for _, d := range entryData(e, data) {
			if !e.When.Holds(d) {
				continue
			}
			f := &pending{entry: e, data: d, file: File{Mode: e.Mode}}
			out = append(out, f)
			p, err := execute(t.paths, e.Template, d)
			if err != nil {
				f.err = pathError(e, err)
				continue
			}
			rel := string(p)
			if err := checkOutputPath(rel); err != nil {
				f.err = &TemplateError{Template: e.Template, Err: err}
				continue
			}
			if rel == LockFile {
				f.err = &TemplateError{Template: e.Template, Err: fmt.Errorf("output path %s is reserved for perfgen's lock file", rel)}
				continue
			}
			if prev, dup := seen[rel]; dup {
				f.err = fmt.Errorf("templates %s and %s both write %s", prev, e.Template, rel)
				continue
			}
			seen[rel] = e.Template
			f.file.Path = rel
		}
	}
	return out
}

// entryData returns the data e renders with: data itself, or for a
// per-resource entry a copy of it for each resource.
func entryData(e Entry, data *Data) []*Data {
	if !e.When.Each {
		return []*Data{data}
	}
	out := make([]*Data, len(data.Resources))
	for i, r := range data.Resources {
		d := *data
		d.Resource = r
		out[i] = &d
	}
	return out
}

// executeTemplates renders the content of every pending file. A parsed
// template set may execute on many goroutines, and templates only read the
// data they render, so the files are spread over the CPUs.
func (t *Templates) executeTemplates(files []*pending) {
	inParallel(len(files), func(i int) {
		if f := files[i]; f.err == nil {
			f.file.Content, f.err = execute(t.files, f.entry.Template, f.data)
		}
	})
}

// formatGo formats every pending .go file, dropping unused imports (see
// formatGo in format.go). Formatting is most of a render's work and each
// file is formatted on its own, so the files are spread over the CPUs, the
// longest first, so that the CPUs finish together rather than one of them
// starting a long file last.
func (t *Templates) formatGo(files []*pending) {
	var goFiles []*pending
	for _, f := range files {
		if f.err == nil && path.Ext(f.file.Path) == ".go" {
			goFiles = append(goFiles, f)
		}
	}
	slices.SortStableFunc(goFiles, func(a, b *pending) int { return cmp.Compare(len(b.file.Content), len(a.file.Content)) })
	inParallel(len(goFiles), func(i int) {
		f := goFiles[i]
		f.file.Content, f.err = t.formatGoCached(f.entry.Template, f.file.Content)
	})
}

// inParallel calls work for every index below n, spread over the CPUs. Each
// call must write only what belongs to its index, so that the outcome does
// not depend on the order the calls finish in.
func inParallel(n int, work func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				work(int(i))
			}
		})
	}
	wg.Wait()
}

// rendered returns the pending files, or the error of each that failed.
func rendered(files []*pending) (Files, []error) {
	var out Files
	var errs []error
	for _, f := range files {
		if f.err != nil {
			errs = append(errs, f.err)
		} else {
			out = append(out, f.file)
		}
	}
	return out, errs
}

// formatGoCached is formatGo, remembered per template and rendered source.
func (t *Templates) formatGoCached(name string, src []byte) ([]byte, error) {
	key := name + "\x00" + string(src)
	if out, ok := t.formatted.Load(key); ok {
		// A copy, so a caller that edits one file's content cannot
		// change another's.
		return bytes.Clone(out.([]byte)), nil
	}
	out, err := formatGo(name, src)
	if err != nil {
		return nil, err
	}
	t.formatted.Store(key, bytes.Clone(out))
	return out, nil
}

// startProtoCode starts generating the Go code of the rendered .proto files
// among files, and the OpenAPI document, and returns a function that waits
// for them. It calls what `perfgen proto` calls, with the same import root
// and options the project's //go:generate line gives it (no gRPC code
// without a gRPC server), so regenerating an untouched project changes
// nothing.
func (t *Templates) startProtoCode(files []*pending, data *Data) (wait func() (Files, error)) {
	sources := map[string][]byte{}
	for _, f := range files {
		if f.err != nil || path.Ext(f.file.Path) != ".proto" {
			continue
		}
		rel, ok := strings.CutPrefix(f.file.Path, ProtoRoot+"/")
		if !ok {
			err := fmt.Errorf("rendered %s is outside %s, the import root .proto files are compiled from; move it there", f.file.Path, ProtoRoot)
			return func() (Files, error) { return nil, err }
		}
		sources[rel] = f.file.Content
	}
	var generated Files
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		generated, err = t.generateProtoCodeCached(sources, protobuild.Options{HTTPOnly: !data.GRPC})
		var ce *protobuild.CompileError
		if errors.As(err, &ce) {
			err = fmt.Errorf("rendered .proto files do not compile:\n%w", ce)
		} else if err != nil {
			err = fmt.Errorf("generate Go code from the rendered .proto files: %w", err)
		}
	}()
	return func() (Files, error) {
		<-done
		return generated, err
	}
}

// addProtoCode adds generated, the Go code of the rendered .proto files, to
// files: beside each .proto, and the OpenAPI document at OpenAPIPath.
func addProtoCode(files, generated Files) (Files, error) {
	if len(generated) == 0 {
		return files, nil
	}
	rendered := make(map[string]bool, len(files))
	for _, f := range files {
		rendered[f.Path] = true
	}
	for _, g := range generated {
		if g.Path == protobuild.OpenAPIFile {
			g.Path = OpenAPIPath
		} else {
			g.Path = ProtoRoot + "/" + g.Path
		}
		if rendered[g.Path] {
			return nil, fmt.Errorf("a template writes %s, which is generated from a .proto file; remove it from the manifest", g.Path)
		}
		files = append(files, g)
	}
	return files, nil
}

// generateProtoCodeCached is GenerateProtoCode for the rendered .proto
// files, remembered by their paths and content and the options.
func (t *Templates) generateProtoCodeCached(sources map[string][]byte, opts protobuild.Options) (Files, error) {
	names := slices.Sorted(maps.Keys(sources))
	var key strings.Builder
	fmt.Fprintf(&key, "%t\x00", opts.HTTPOnly)
	for _, n := range names {
		fmt.Fprintf(&key, "%s\x00%d\x00%s", n, len(sources[n]), sources[n])
	}
	if cached, ok := t.protoCode.Load(key.String()); ok {
		return cloneFiles(cached.(Files)), nil
	}
	generated, err := GenerateProtoCode(sources, opts, func(p string) string { return ProtoRoot + "/" + p })
	if err != nil {
		return nil, err
	}
	t.protoCode.Store(key.String(), cloneFiles(generated))
	return generated, nil
}

// cloneFiles copies files and their content, so a caller that edits one
// rendering's files cannot change another's.
func cloneFiles(files Files) Files {
	out := slices.Clone(files)
	for i := range out {
		out[i].Content = bytes.Clone(out[i].Content)
	}
	return out
}

// GenerateProtoCode compiles sources, keyed by slash path relative to their
// import root, and returns the Go files generated from them, at slash paths
// relative to the same root (beside each .proto). A compile error is a
// *protobuild.CompileError whose diagnostics name each file as name returns
// it, so each caller can name a file as its user sees it. Render and
// `perfgen proto` both call it, so they write the same code.
func GenerateProtoCode(sources map[string][]byte, opts protobuild.Options, name func(string) string) (Files, error) {
	if len(sources) == 0 {
		return nil, nil
	}
	generated, err := opts.Generate(sources)
	var ce *protobuild.CompileError
	if errors.As(err, &ce) {
		for i, d := range ce.Diagnostics {
			ce.Diagnostics[i].File = name(d.File)
		}
		return nil, ce
	}
	if err != nil {
		return nil, err
	}
	out := make(Files, len(generated))
	for i, f := range generated {
		out[i] = File{Path: f.Path, Content: f.Content, Mode: modeFile}
	}
	return out, nil
}

// Sort sorts fs by path, the order Lookup needs.
func (fs Files) Sort() {
	slices.SortFunc(fs, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
}

// addLock adds the lock file that records files, which must be sorted, and
// the answers they were rendered from.
func (t *Templates) addLock(files Files, data *Data) (Files, error) {
	origin := t.origin
	if origin == "" {
		origin = OriginBuiltin
	}
	l := NewLock(data.Spec, origin, files)
	l.Perfgen = cmp.Or(t.source.Perfgen, data.Spec.PerfgenVersion)
	l.TemplatesSum, l.TemplatesRev = t.source.TemplatesSum, t.source.TemplatesRev
	lock, err := l.Marshal()
	if err != nil {
		return nil, err
	}
	files = append(files, File{Path: LockFile, Content: lock, Mode: modeFile})
	files.Sort()
	return files, nil
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
		return nil, templateError(name, err)
	}
	return buf.Bytes(), nil
}

// pathError reports a broken output path of e. The line text/template gives
// is the path's, not the template file's, so it is dropped.
func pathError(e Entry, err error) *TemplateError {
	var te *TemplateError
	if errors.As(err, &te) {
		err = te.Err
	}
	return &TemplateError{Template: e.Template, Err: fmt.Errorf("output path %q: %w", e.Path, err)}
}

// ParseTemplate parses the template file name, whose content is src, on its
// own, with the functions every template can call. It returns a
// *TemplateError if src does not parse.
func ParseTemplate(name string, src []byte) error {
	if _, err := template.New(name).Funcs(funcMap()).Parse(string(src)); err != nil {
		return templateError(name, err)
	}
	return nil
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
