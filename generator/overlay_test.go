package generator

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOverlayMergesDirectoriesAndPrefersTheTopLayer(t *testing.T) {
	bottom := fstest.MapFS{
		"service/a.tmpl": {Data: []byte("bottom a")},
		"service/b.tmpl": {Data: []byte("bottom b")},
	}
	top := fstest.MapFS{
		"service/b.tmpl": {Data: []byte("top b")},
		"service/c.tmpl": {Data: []byte("top c")},
		"_x.tmpl":        {Data: []byte("x")},
	}
	o := NewOverlay(bottom, top)
	for name, want := range map[string]string{"service/a.tmpl": "bottom a", "service/b.tmpl": "top b", "service/c.tmpl": "top c"} {
		got, err := fs.ReadFile(o, name)
		require.NoError(t, err)
		assert.Equal(t, want, string(got))
	}
	_, err := fs.ReadFile(o, "service/missing.tmpl")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = o.Open("../escape")
	assert.ErrorIs(t, err, fs.ErrInvalid)

	var walked []string
	require.NoError(t, fs.WalkDir(o, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			walked = append(walked, p)
		}
		return err
	}))
	assert.Equal(t, []string{"_x.tmpl", "service/a.tmpl", "service/b.tmpl", "service/c.tmpl"}, walked)
}

func TestParseOrderLetsTheTopLayerOverrideBlocks(t *testing.T) {
	bottom := fstest.MapFS{
		"a.tmpl":        {Data: []byte(`[{{block "x" .}}bottom{{end}}]`)},
		"_shared.tmpl":  {Data: []byte(`{{define "y"}}bottom y{{end}}`)},
		"z/later.tmpl":  {Data: []byte(`{{template "y" .}}`)},
		"z/_again.tmpl": {Data: []byte(`{{define "x"}}bottom shared x{{end}}`)},
	}
	top := fstest.MapFS{
		// Sorts before a.tmpl, and still wins: layers parse in order.
		"_override.tmpl": {Data: []byte(`{{define "x"}}top{{end}}{{define "y"}}top y{{end}}`)},
	}
	m := []Entry{{"a.tmpl", "a.txt", Always, modeFile}, {"z/later.tmpl", "later.txt", Always, modeFile}}

	ts, err := Parse(bottom, m)
	require.NoError(t, err)
	files, err := ts.Render(DefaultSpec("demo"))
	require.NoError(t, err)
	a, _ := files.Lookup("a.txt")
	assert.Equal(t, "[bottom shared x]", string(a.Content), "within a layer, _*.tmpl files parse last")

	ts, err = Parse(NewOverlay(bottom, top), m)
	require.NoError(t, err)
	files, err = ts.Render(DefaultSpec("demo"))
	require.NoError(t, err)
	a, _ = files.Lookup("a.txt")
	later, _ := files.Lookup("later.txt")
	assert.Equal(t, "[top]", string(a.Content))
	assert.Equal(t, "top y", string(later.Content))
	assert.Equal(t, []string{"x", "y"}, ts.Blocks())
}

func TestCheckInsideRefusesLinksOutOfTheRoot(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, "real"), 0o755))
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "out")))
	require.NoError(t, os.Symlink("real", filepath.Join(root, "in")))

	assert.NoError(t, CheckInside(root, "real/a.go"))
	assert.NoError(t, CheckInside(root, "new/dir/a.go"))
	assert.NoError(t, CheckInside(root, "in/a.go"), "a link that stays inside is fine")
	assert.ErrorContains(t, CheckInside(root, "out/a.go"), "is a symbolic link to "+outside+", outside the project root")
	assert.ErrorContains(t, CheckInside(root, "../a.go"), "leaves the project root")

	_, err := PlanWrite(root, Files{{Path: "out/a.go", Content: []byte("x"), Mode: modeFile}}, true)
	assert.ErrorContains(t, err, "outside the project root")
}

func TestParseConditionJoinsNames(t *testing.T) {
	c, err := ParseCondition("http+cache")
	require.NoError(t, err)
	assert.Equal(t, "http+cache", c.Name)
	assert.True(t, c.Holds(&Data{HTTP: true, Cache: true}))
	assert.False(t, c.Holds(&Data{HTTP: true}))
	_, err = ParseCondition("http+kafka")
	assert.ErrorContains(t, err, `unknown condition "kafka"; use one of always, http, grpc`)
}
