package generator_test

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/perfgen/perfgen/generator"
)

func TestReleaseVersion(t *testing.T) {
	perfgen := func(v string) debug.Module { return debug.Module{Path: generator.PerfgenModule, Version: v} }
	dep := func(v string) *debug.Module { m := perfgen(v); return &m }
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"no build info", nil, ""},
		{"go install @version", &debug.BuildInfo{Main: perfgen("v1.4.0")}, "v1.4.0"},
		{"pseudo-version", &debug.BuildInfo{Main: perfgen("v0.0.0-20261206025400-21141c1a2b3c")}, "v0.0.0-20261206025400-21141c1a2b3c"},
		{"built in a checkout", &debug.BuildInfo{Main: perfgen("(devel)")}, ""},
		{"built in a clean git checkout", &debug.BuildInfo{
			Main:     perfgen("v0.0.0-20261206025400-21141c1a2b3c"),
			Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "21141c1a2b3c"}},
		}, ""},
		{"built with edits", &debug.BuildInfo{Main: perfgen("v0.0.0-20261206025400-21141c1a2b3c+dirty")}, ""},
		{"go tool perfgen in a project", &debug.BuildInfo{
			Main: debug.Module{Path: "example.com/demo", Version: "(devel)"},
			Deps: []*debug.Module{{Path: "golang.org/x/mod", Version: "v0.40.0"}, dep("v1.3.0")},
		}, "v1.3.0"},
		{"replaced by a directory", &debug.BuildInfo{
			Main: debug.Module{Path: "example.com/demo"},
			Deps: []*debug.Module{{Path: generator.PerfgenModule, Version: "v1.3.0", Replace: &debug.Module{Path: "../perfgen"}}},
		}, ""},
		{"another program", &debug.BuildInfo{Main: debug.Module{Path: "example.com/other", Version: "v2.0.0"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, generator.ReleaseVersion(tc.info))
		})
	}
}

func TestValidateRejectsAnUnpinnableVersion(t *testing.T) {
	s := generator.DefaultSpec("demo")
	s.PerfgenVersion = "latest"
	assert.ErrorContains(t, s.Validate(), `invalid perfgen version "latest"`)
	s.PerfgenVersion = generator.ExamplePerfgenVersion
	assert.NoError(t, s.Validate())
}
