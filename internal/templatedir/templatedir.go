// Package templatedir keeps custom template directories: it exports the
// built-in templates for editing, lays a custom directory over the built-ins,
// checks it against every option combination, and diffs it against the
// built-ins of the running perfgen.
//
// A custom directory has the layout of the built-ins (service/, deploy/,
// bench/, files named <name>.tmpl), a data-version file naming the
// template-data version it was written for, and optionally a manifest.yaml
// whose entries replace built-in entries (same template) or add files.
package templatedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/perfgen/perfgen/generator"
)

// File names a custom template directory reserves.
const (
	// ManifestFile holds manifest entries that replace or add to the
	// built-in manifest.
	ManifestFile = "manifest.yaml"
	// VersionFile holds the template-data version the templates were
	// written for.
	VersionFile = "data-version"
	// EnvVar names a custom template directory when --templates is not
	// given.
	EnvVar = "PERFGEN_TEMPLATES"
)

// A Dir is an opened custom template directory.
type Dir struct {
	// Path is the directory as the user named it; errors and reports use it.
	Path string
	// FS reads the directory. It refuses symbolic links that leave it.
	FS fs.FS
}

// Open opens the custom template directory path. It refuses a directory
// holding a symbolic link that leads outside it, so a template directory
// cannot read, or name as a template, a file elsewhere on the machine.
func Open(path string) (*Dir, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("template directory %s: %w; export one with perfgen templates export %s", path, unwrapPath(err), path)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("template directory %s is not a directory", path)
	}
	if err := checkLinks(path); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("template directory %s: %w", path, err)
	}
	return &Dir{Path: path, FS: root.FS()}, nil
}

// unwrapPath drops the *PathError wrapper whose path the message repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkLinks refuses symbolic links under dir that resolve outside it.
func checkLinks(dir string) error {
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("template directory %s: %w", dir, err)
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		target, err := filepath.EvalSymlinks(p)
		if err != nil {
			return fmt.Errorf("template directory %s: %s is a broken symbolic link; remove it", dir, p)
		}
		if rel, err := filepath.Rel(realDir, target); err != nil || !filepath.IsLocal(rel) {
			return fmt.Errorf("template directory %s: %s is a symbolic link to %s, outside the directory; copy the file in instead", dir, p, target)
		}
		return nil
	})
}

// Version reads the template-data version the directory declares.
func (d *Dir) Version() (int, error) {
	b, err := fs.ReadFile(d.FS, VersionFile)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("template directory %s declares no template-data version; write %d to %s (perfgen templates export writes it)",
			d.Path, generator.DataVersion, filepath.Join(d.Path, VersionFile))
	}
	if err != nil {
		return 0, err
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%s: %q is not a template-data version; write a positive number such as %d",
			filepath.Join(d.Path, VersionFile), strings.TrimSpace(string(b)), generator.DataVersion)
	}
	return v, nil
}

// CheckVersion reports whether the directory was written for this perfgen's
// template data, and if not, what changed since.
func (d *Dir) CheckVersion() error {
	v, err := d.Version()
	if err != nil {
		return err
	}
	if err := generator.CheckDataVersion(v); err != nil {
		return fmt.Errorf("template directory %s: %w in %s", d.Path, err, filepath.Join(d.Path, VersionFile))
	}
	return nil
}

// Manifest returns the built-in manifest with the directory's manifest
// entries applied: an entry for a template the built-ins have replaces the
// built-in entry, any other entry adds a file.
func (d *Dir) Manifest(builtin []generator.Entry) ([]generator.Entry, error) {
	src, err := fs.ReadFile(d.FS, ManifestFile)
	if errors.Is(err, fs.ErrNotExist) {
		return builtin, nil
	}
	if err != nil {
		return nil, err
	}
	custom, err := ParseManifest(filepath.Join(d.Path, ManifestFile), src)
	if err != nil {
		return nil, err
	}
	return MergeManifest(builtin, custom), nil
}

// MergeManifest applies custom entries to base: an entry for a template base
// has replaces base's entry in place, any other is appended.
func MergeManifest(base, custom []generator.Entry) []generator.Entry {
	out := slices.Clone(base)
	for _, c := range custom {
		i := slices.IndexFunc(out, func(e generator.Entry) bool { return e.Template == c.Template })
		if i >= 0 {
			out[i] = c
		} else {
			out = append(out, c)
		}
	}
	return out
}

// Load lays the directory over the built-in templates and manifest and
// parses the result. It refuses a directory written for another
// template-data version rather than falling back to the built-ins.
func (d *Dir) Load(builtinFS fs.FS, builtin []generator.Entry) (*generator.Templates, error) {
	if err := d.CheckVersion(); err != nil {
		return nil, err
	}
	manifest, err := d.Manifest(builtin)
	if err != nil {
		return nil, err
	}
	t, err := generator.Parse(generator.NewOverlay(builtinFS, d.FS), manifest)
	if err != nil {
		return nil, fmt.Errorf("template directory %s: %w", d.Path, err)
	}
	return t.WithOrigin(generator.OriginCustom), nil
}

// manifestEntry is one entry of a manifest file.
type manifestEntry struct {
	Template string `yaml:"template"`
	Path     string `yaml:"path"`
	When     string `yaml:"when"`
	Mode     string `yaml:"mode"`
}

// ParseManifest decodes a manifest file. Errors name the file and the line
// of the bad entry.
func ParseManifest(name string, src []byte) ([]generator.Entry, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, Problem{File: name, Msg: err.Error()}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	list := doc.Content[0]
	if list.Kind != yaml.SequenceNode {
		return nil, Problem{File: name, Line: list.Line, Msg: "the manifest must be a list of entries (template, path, when, mode)"}
	}
	var out []generator.Entry
	var errs []error
	for _, n := range list.Content {
		var m manifestEntry
		if err := n.Decode(&m); err != nil {
			errs = append(errs, Problem{File: name, Line: n.Line, Msg: err.Error()})
			continue
		}
		e, err := m.entry()
		if err != nil {
			errs = append(errs, Problem{File: name, Line: n.Line, Msg: err.Error()})
			continue
		}
		out = append(out, e)
	}
	return out, errors.Join(errs...)
}

func (m manifestEntry) entry() (generator.Entry, error) {
	switch {
	case m.Template == "":
		return generator.Entry{}, errors.New("entry has no template")
	case !strings.HasSuffix(m.Template, ".tmpl") || !fs.ValidPath(m.Template):
		return generator.Entry{}, fmt.Errorf("template %q must be a slash-separated path inside the directory ending in .tmpl", m.Template)
	case m.Path == "":
		return generator.Entry{}, fmt.Errorf("entry for %s has no path", m.Template)
	}
	when := m.When
	if when == "" {
		when = generator.Always.Name
	}
	cond, err := generator.ParseCondition(when)
	if err != nil {
		return generator.Entry{}, fmt.Errorf("entry for %s: %w", m.Template, err)
	}
	mode := fs.FileMode(0o644)
	if m.Mode != "" {
		v, err := strconv.ParseUint(m.Mode, 8, 32)
		if err != nil || v&^0o777 != 0 || v&0o400 == 0 {
			return generator.Entry{}, fmt.Errorf("entry for %s: mode %q must be octal permission bits readable by the owner, such as 0644 or 0755", m.Template, m.Mode)
		}
		mode = fs.FileMode(v)
	}
	return generator.Entry{Template: m.Template, Path: m.Path, When: cond, Mode: mode}, nil
}

// manifestHeader opens exported manifests.
const manifestHeader = `# perfgen manifest: which template becomes which file, and when.
# Entries here replace the built-in entry for the same template, or add a file.
#   template: template path in this directory (or a built-in one)
#   path:     output path, itself a template over the data ({{.Name}} ...)
#   when:     condition names joined with +: %s
#   mode:     octal permission bits
`

// MarshalManifest encodes entries in the manifest file format.
func MarshalManifest(entries []generator.Entry) ([]byte, error) {
	names := make([]string, len(generator.Conditions))
	for i, c := range generator.Conditions {
		names[i] = c.Name
	}
	list := make([]manifestEntry, len(entries))
	for i, e := range entries {
		list[i] = manifestEntry{Template: e.Template, Path: e.Path, When: e.When.Name, Mode: fmt.Sprintf("%04o", e.Mode.Perm())}
	}
	out, err := yaml.Marshal(list)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append([]byte(fmt.Sprintf(manifestHeader, strings.Join(names, ", "))), out...), nil
}

// Has reports whether the directory has a file at the slash-separated path p.
func (d *Dir) Has(p string) bool {
	_, err := fs.Stat(d.FS, p)
	return err == nil
}
