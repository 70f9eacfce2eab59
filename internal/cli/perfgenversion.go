package cli

import (
	"runtime/debug"

	"github.com/perfgen/perfgen/generator"
)

// pinnableVersion returns the version of this perfgen that generated
// projects can pin in their go.mod: a release or pseudo-version a module
// proxy serves, or "" for a development build, whose projects then run the
// perfgen on PATH from their go:generate hooks.
func pinnableVersion() string {
	info, _ := debug.ReadBuildInfo()
	return generator.ReleaseVersion(info)
}
