package cli

import (
	"cmp"
	"context"
	"runtime/debug"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/internal/projectsync"
	"github.com/perfgen/perfgen/internal/templatedir"
)

// pinnableVersion returns the version of this perfgen that generated
// projects can pin in their go.mod: a release or pseudo-version a module
// proxy serves, or "" for a development build, whose projects then run the
// perfgen on PATH from their go:generate hooks.
func pinnableVersion() string {
	info, _ := debug.ReadBuildInfo()
	return generator.ReleaseVersion(info)
}

// withSource returns t recording what renders with it, for the lock: this
// perfgen's version (generator.DevelPerfgen for a development build), and
// the checksum and git commit of the custom template directory d, if any.
func withSource(ctx context.Context, t *generator.Templates, d *templatedir.Dir) (*generator.Templates, error) {
	src := generator.Source{Perfgen: cmp.Or(pinnableVersion(), generator.DevelPerfgen)}
	if d != nil {
		sum, err := d.Sum()
		if err != nil {
			return nil, err
		}
		src.TemplatesSum, src.TemplatesRev = sum, projectsync.TemplateRevision(ctx, d.Path)
	}
	return t.WithSource(src), nil
}
