package templatedir

import (
	"fmt"
	"io/fs"
	"strings"

	"github.com/perfgen/perfgen/generator"
)

// Export returns the files of a custom template directory that starts as a
// copy of the built-ins: every template, the manifest, and the data version.
func Export(builtinFS fs.FS, builtin []generator.Entry) (generator.Files, error) {
	var out generator.Files
	err := fs.WalkDir(builtinFS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".tmpl") {
			return err
		}
		src, err := fs.ReadFile(builtinFS, p)
		if err != nil {
			return err
		}
		out = append(out, generator.File{Path: p, Content: src, Mode: 0o644})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read built-in templates: %w", err)
	}
	manifest, err := MarshalManifest(builtin)
	if err != nil {
		return nil, err
	}
	out = append(out,
		generator.File{Path: ManifestFile, Content: manifest, Mode: 0o644},
		generator.File{Path: VersionFile, Content: fmt.Appendf(nil, "%d\n", generator.DataVersion), Mode: 0o644},
	)
	out.Sort()
	return out, nil
}
