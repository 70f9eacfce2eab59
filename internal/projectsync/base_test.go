package projectsync

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
)

// withMain returns tmplV1 with main.tmpl's footer line changed to footer.
func withMain(footer string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for k, v := range tmplV1 {
		fsys[k] = v
	}
	fsys["main.tmpl"] = &fstest.MapFile{Data: []byte(strings.Replace(string(tmplV1["main.tmpl"].Data), "footer", footer, 1))}
	return fsys
}

// TestSyncRendersTheBaseWithTheBuiltinsTheLockNames syncs a project the
// built-ins rendered, outside git, with a custom template directory that
// changes a line the user did not edit: the base comes from the built-ins,
// not from the custom templates, so the merge is clean.
func TestSyncRendersTheBaseWithTheBuiltinsTheLockNames(t *testing.T) {
	builtin := parse(t, tmplV1)
	root := newProject(t, builtin, httpSpec())
	write(t, root, "main.txt", strings.Replace(read(t, root, "main.txt"), "header\n", "header, edited\n", 1))

	custom := parse(t, withMain("team footer")).WithOrigin(generator.OriginCustom)
	var out bytes.Buffer
	res, err := Sync(context.Background(), Options{Root: root, Templates: custom, Builtin: builtin, Out: &out})
	require.NoError(t, err, out.String())
	assert.Equal(t, generator.Merge, kinds(res)["main.txt"])
	assert.Equal(t, "header, edited\none\ntwo\nthree\nfour\nfive\nsix\nteam footer\n", read(t, root, "main.txt"))
	assert.NotContains(t, out.String(), "empty base")

	// Without the built-ins the custom templates are the only candidate, and
	// sync says the base could not be recovered.
	root = newProject(t, builtin, httpSpec())
	write(t, root, "main.txt", strings.Replace(read(t, root, "main.txt"), "header\n", "header, edited\n", 1))
	out.Reset()
	res, err = Sync(context.Background(), Options{Root: root, Templates: custom, Out: &out})
	require.ErrorIs(t, err, ErrConflicts)
	assert.Equal(t, generator.Conflict, kinds(res)["main.txt"])
	assert.Contains(t, out.String(), "main.txt: the version perfgen generated last could not be recovered (tried this perfgen's built-in templates)")
}

// TestSyncNamesTheCustomDirectoryItRendersTheBaseFrom syncs a project a
// custom directory rendered after the directory changed in another file:
// the file still renders as it did, each checked against the lock,
// and sync says that is where their base came from.
func TestSyncNamesTheCustomDirectoryItRendersTheBaseFrom(t *testing.T) {
	src := generator.Source{Perfgen: generator.DevelPerfgen, TemplatesSum: "h1:one"}
	v1 := parse(t, tmplV1).WithOrigin(generator.OriginCustom).WithSource(src)
	root := newProject(t, v1, httpSpec())
	write(t, root, "main.txt", strings.Replace(read(t, root, "main.txt"), "header\n", "header, edited\n", 1))
	setAnswers(t, root, func() generator.Spec { s := httpSpec(); s.Transport = generator.TransportBoth; return s }())

	src.TemplatesSum = "h1:two"
	changed := withMain("footer")
	changed["grpc.tmpl"] = &fstest.MapFile{Data: []byte("the team's grpc server for {{.Name}}\n")}
	v2 := parse(t, changed).WithOrigin(generator.OriginCustom).WithSource(src)
	var out bytes.Buffer
	res, err := Sync(context.Background(), Options{Root: root, Templates: v2, TemplateDir: "tmpl", Out: &out})
	require.NoError(t, err, out.String())
	assert.Equal(t, generator.Merge, kinds(res)["main.txt"])
	assert.Equal(t, "header, edited\none\ntwo\nthree\nfour\nfive\nsix\ngrpc on\nfooter\n", read(t, root, "main.txt"))
	assert.Contains(t, out.String(), "note: the base of main.txt came from the template directory tmpl as it is now (it changed since; each file checked against .perfgen.lock)")
	lock := read(t, root, generator.LockFile)
	assert.Contains(t, lock, "\nperfgen: (devel)\n")
	assert.Contains(t, lock, "\ntemplates_sum: h1:two\n")
}

func TestLockAnswersAreTheWritersOwn(t *testing.T) {
	lock := []byte("data_version: 1\nperfgen: v0.1.0\ntemplates: built-in\nanswers:\n  name: demo\n  retired_answer: true\nfiles: []\n")
	got, err := lockAnswers(lock)
	require.NoError(t, err)
	assert.Equal(t, "name: demo\nretired_answer: true\n", string(got), "an older perfgen gets its answers as it wrote them")

	_, err = lockAnswers([]byte("data_version: 1\n"))
	assert.ErrorContains(t, err, "no answers")
}

func TestFetchable(t *testing.T) {
	for v, want := range map[string]bool{
		"v1.2.3":                             true,
		"v0.0.1-checkout-3f7f351498fb":       true,
		"v0.0.0-20260101000000-abcdefabcdef": true,
		"":                                   false,
		generator.DevelPerfgen:               false,
		"v1.2.3+dirty":                       false,
		"1.2.3":                              false,
	} {
		assert.Equal(t, want, fetchable(v), v)
	}
}

func TestGoEnvDropsModFlagsAndTheTemplateDirectory(t *testing.T) {
	t.Setenv("GOFLAGS", "-mod=mod -modcacherw")
	t.Setenv("PERFGEN_TEMPLATES", "/tmp/t")
	env := strings.Join(goEnv(), "\n") + "\n"
	assert.Contains(t, env, "\nGOFLAGS=-modcacherw\n")
	assert.NotContains(t, env, "PERFGEN_TEMPLATES")
}
