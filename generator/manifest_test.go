package generator

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/templates"
)

// TestManifestCoversEveryTemplate fails on a template no entry uses and on an
// entry whose template is missing. Templates that only hold {{define}}
// blocks for others live in files named _*.tmpl and need no entry.
func TestManifestCoversEveryTemplate(t *testing.T) {
	used := map[string]bool{}
	for _, e := range Manifest {
		_, err := fs.Stat(templates.FS, e.Template)
		assert.NoError(t, err, "manifest entry %s -> %s: template missing", e.Template, e.Path)
		assert.False(t, used[e.Template], "template %s has two manifest entries", e.Template)
		used[e.Template] = true
		assert.NotEmpty(t, e.When.Name, "entry %s has no condition", e.Template)
		assert.NotZero(t, e.Mode, "entry %s has no mode", e.Template)
	}
	err := fs.WalkDir(templates.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".tmpl") {
			return err
		}
		if strings.HasPrefix(d.Name(), "_") {
			return nil
		}
		assert.True(t, used[p], "template %s is used by no manifest entry", p)
		return nil
	})
	require.NoError(t, err)
}

// TestTemplatesOpenWithPurposeComment keeps every template self-describing.
func TestTemplatesOpenWithPurposeComment(t *testing.T) {
	err := fs.WalkDir(templates.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".tmpl") {
			return err
		}
		src, err := fs.ReadFile(templates.FS, p)
		if err != nil {
			return err
		}
		assert.True(t, strings.HasPrefix(string(src), "{{/*"), "template %s does not open with a {{/* purpose */}} comment", p)
		return nil
	})
	require.NoError(t, err)
}

func TestConditionsAreNamedUniquely(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Conditions {
		assert.False(t, seen[c.Name], "condition %s twice", c.Name)
		seen[c.Name] = true
	}
	for _, e := range Manifest {
		for _, part := range strings.Split(e.When.Name, "+") {
			assert.True(t, seen[part], "entry %s uses unlisted condition %s", e.Template, part)
		}
	}
}

func TestAPIConditionHoldsWithEitherAPI(t *testing.T) {
	for _, tt := range []struct {
		http, grpc, want bool
	}{
		{http: true, want: true},
		{grpc: true, want: true},
		{http: true, grpc: true, want: true},
		{want: false},
	} {
		assert.Equal(t, tt.want, IfAPI.Holds(&Data{HTTP: tt.http, GRPC: tt.grpc}), "http %t, grpc %t", tt.http, tt.grpc)
	}
	c, err := ParseCondition("api+cache")
	require.NoError(t, err)
	assert.True(t, c.Holds(&Data{GRPC: true, Cache: true}))
}
