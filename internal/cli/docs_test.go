package cli

import (
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCLIDocExamplesCountTheFiles keeps the file counts in docs/cli.md's
// example runs equal to what perfgen new generates for their answers. When
// it fails after a template change, update the numbers in docs/cli.md.
func TestCLIDocExamplesCountTheFiles(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	require.NoError(t, err)

	t.Chdir(t.TempDir())
	env := newTestEnv(t)
	require.Equal(t, exitOK, env.run("new", "orders", "--module", "github.com/acme/orders", "--yes", "--dry-run"), "stderr: %s", env.stderr)
	m := regexp.MustCompile(`plan for \./orders \(new project\): (\d+) to create`).FindStringSubmatch(env.stdout.String())
	require.NotNil(t, m, env.stdout.String())
	files, _ := strconv.Atoi(m[1])

	created := regexp.MustCompile(`(?m)^    created \./orders: (\d+) files`).FindSubmatch(doc)
	require.NotNil(t, created, "docs/cli.md shows a perfgen new run")
	assert.Equal(t, strconv.Itoa(files), string(created[1]), "the file count of docs/cli.md's perfgen new example")

	// The --force --dry-run example re-plans the same project after go mod
	// tidy changed its go.mod: one file to replace, the others to keep.
	plan := regexp.MustCompile(`(?m)^    plan for \./orders \(existing directory\): 0 to create, 1 to replace, (\d+) to keep$`).FindSubmatch(doc)
	require.NotNil(t, plan, "docs/cli.md shows a --force --dry-run plan")
	assert.Equal(t, strconv.Itoa(files-1), string(plan[1]), "the keep count of docs/cli.md's --dry-run example")
}
