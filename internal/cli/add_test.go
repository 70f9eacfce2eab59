package cli

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
)

// newShop writes a default project called shop in a temporary directory,
// makes it the working directory and returns its path.
func newShop(t *testing.T) string {
	t.Helper()
	t.Chdir(t.TempDir())
	env := newTestEnv(t)
	require.Equal(t, exitOK, env.run("new", "shop", "--yes", "--no-tidy", "--no-git", "--deploy", "none"), "stderr: %s", env.stderr)
	dir, err := filepath.Abs("shop")
	require.NoError(t, err)
	t.Chdir(dir)
	return dir
}

func TestAddResourceAsksForTheFields(t *testing.T) {
	dir := newShop(t)
	p := &fakePrompter{t: t, script: []reply{
		{message: "Field name", input: []string{"Customer", "id", "customer"}},
		{message: "Type of customer", choice: "string"},
		{message: "May clients leave customer out", confirm: false},
		{message: "Field name", input: []string{"customer", "placed_at"}},
		{message: "Type of placed_at", choice: "timestamp"},
		{message: "May clients leave placed_at out", confirm: true},
		{message: "Field name", input: []string{""}},
	}}
	env := interactiveEnv(t, p)
	require.Equal(t, exitOK, env.run("add", "resource", "orders"), "stderr: %s", env.stderr)
	p.done()
	assert.Len(t, p.rejected, 3, "an uppercase name, a reserved name and a field given twice are asked again")
	assert.Contains(t, env.stdout.String(), "To add this resource again without prompts:\n  perfgen add resource orders --field customer:string --field placed_at:timestamp:optional\n")
	spec := readAnswers(t, dir)
	require.Len(t, spec.Resources, 1)
	assert.Equal(t, []generator.ResourceField{
		{Name: "customer", Type: generator.FieldString},
		{Name: "placed_at", Type: generator.FieldTimestamp, Optional: true},
	}, spec.Resources[0].Fields)
	assert.FileExists(t, filepath.Join(dir, "internal", "orders", "order.go"))
}

func TestAddResourceRefusesANameBeforeAsking(t *testing.T) {
	newShop(t)
	p := &fakePrompter{t: t}
	env := interactiveEnv(t, p)
	assert.Equal(t, exitUsage, env.run("add", "resource", "items"))
	assert.Contains(t, env.stderr.String(), `resource "items" exists already`)
}

func TestAddToAnswersKeepsTheFile(t *testing.T) {
	src := []byte("# my answers\nname: shop # the binary\nmodule: example.com/shop\nresources:\n  - name: orders\n    fields:\n      - name: customer\n        type: string\n")
	out, err := addToAnswers(src, generator.Resource{Name: "boxes", Singular: "box", Fields: []generator.ResourceField{{Name: "label", Type: generator.FieldString, Optional: true}}})
	require.NoError(t, err)
	assert.Equal(t, "# my answers\nname: shop # the binary\nmodule: example.com/shop\nresources:\n  - name: orders\n    fields:\n      - name: customer\n        type: string\n"+
		"  - name: boxes\n    singular: box\n    fields:\n      - name: label\n        type: string\n        optional: true\n", string(out))

	_, err = addToAnswers([]byte("resources: 3\n"), generator.Resource{Name: "boxes"})
	assert.ErrorContains(t, err, "resources is not a list")
}
