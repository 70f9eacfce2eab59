package projectsync

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/templates"
)

// TestSyncMovesThePinnedPerfgenToTheSyncingVersion generates a project that
// pins perfgen v1.0.0, lets go mod tidy add its indirect requirements, and
// syncs it with perfgen v1.1.0: go.mod then pins v1.1.0 and keeps what tidy
// added, with no conflict. A sync by a development build (no version of its
// own) keeps the pin.
func TestSyncMovesThePinnedPerfgenToTheSyncingVersion(t *testing.T) {
	ts, err := generator.Parse(templates.FS, generator.Manifest)
	require.NoError(t, err)
	spec := httpSpec()
	spec.PerfgenVersion = "v1.0.0"
	root := newProject(t, ts, spec)
	tidied := read(t, root, "go.mod") + "\nrequire golang.org/x/text v0.30.0 // indirect\n"
	write(t, root, "go.mod", tidied)
	require.Contains(t, tidied, "\tgithub.com/perfgen/perfgen v1.0.0\n")

	var out bytes.Buffer
	res, err := Sync(context.Background(), Options{Root: root, Templates: ts, Out: &out})
	require.NoError(t, err, out.String())
	assert.Empty(t, res.Conflicts())
	assert.Equal(t, tidied, read(t, root, "go.mod"), "a development build changed the pinned version")

	res, err = Sync(context.Background(), Options{Root: root, Templates: ts, Out: &out, Perfgen: "v1.1.0"})
	require.NoError(t, err, out.String())
	assert.Empty(t, res.Conflicts())
	assert.NotContains(t, out.String(), "could not be recovered")
	assert.Equal(t, strings.Replace(tidied, "perfgen v1.0.0", "perfgen v1.1.0", 1), read(t, root, "go.mod"))
}
