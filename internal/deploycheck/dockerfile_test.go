package deploycheck

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
)

// dockerfile is a Dockerfile parsed into BuildKit's typed instructions.
type dockerfile struct {
	stages []instructions.Stage
}

// parseDockerfile parses src as BuildKit does, failing on any lint warning
// BuildKit's own checks raise.
func parseDockerfile(t *testing.T, src []byte) dockerfile {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(src))
	require.NoError(t, err)
	for _, w := range res.Warnings {
		t.Errorf("parser warning: %s", w.Short)
	}
	lint := linter.New(&linter.Config{
		ExperimentalAll: true,
		Warn: func(rule, _, _, msg string, loc []parser.Range) {
			t.Errorf("buildkit lint %s at line %v: %s", rule, loc, msg)
		},
	})
	stages, _, err := instructions.Parse(res.AST, lint)
	require.NoError(t, err)
	require.NotEmpty(t, stages)
	return dockerfile{stages: stages}
}

// imageTag splits an image reference into name and tag ("" when untagged).
func imageTag(ref string) (name, tag string) {
	ref, _, _ = strings.Cut(ref, "@")
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}

func TestDockerfile(t *testing.T) {
	distinct(t, matrix(t), onlyIf(generator.DeployDocker, "Dockerfile", ".dockerignore"), checkDockerfile)
}

func checkDockerfile(t *testing.T, p project) {
	data, err := generator.NewData(p.spec)
	require.NoError(t, err)
	name := p.spec.Name
	df := parseDockerfile(t, p.file(t, "Dockerfile"))

	stageNames := map[string]bool{}
	for _, st := range df.stages {
		if st.Name != "" {
			stageNames[st.Name] = true
		}
	}
	for i, st := range df.stages {
		if stageNames[st.BaseName] {
			continue
		}
		base, tag := imageTag(st.BaseName)
		if base == "scratch" {
			continue
		}
		assert.NotEmpty(t, tag, "stage %d: FROM %s has no tag", i, st.BaseName)
		assert.NotEqual(t, "latest", tag, "stage %d: FROM %s floats on latest", i, st.BaseName)
	}
	build, final := df.stages[0], df.stages[len(df.stages)-1]
	require.Greater(t, len(df.stages), 1, "the Dockerfile must be multi-stage")
	assert.Equal(t, "golang:"+strings.Join(strings.SplitN(generator.GoVersion, ".", 3)[:2], "."), build.BaseName,
		"the build stage must use the project's Go major.minor")
	finalBase, _ := imageTag(final.BaseName)
	assert.True(t, finalBase == "scratch" || strings.HasPrefix(finalBase, "gcr.io/distroless/static"),
		"final stage %s is not distroless static or scratch", final.BaseName)

	var (
		user        string
		entrypoint  *instructions.EntrypointCommand
		health      *instructions.HealthCheckCommand
		exposed     []string
		env         = map[string]string{}
		sawGoBuild  bool
		copiedBuild bool
	)
	for si, st := range df.stages {
		isFinal := si == len(df.stages)-1
		for _, c := range st.Commands {
			switch c := c.(type) {
			case *instructions.AddCommand:
				t.Errorf("line %v: ADD; use COPY, which never fetches URLs or unpacks archives", c.Location())
			case *instructions.WorkdirCommand:
				assert.True(t, path.IsAbs(c.Path), "WORKDIR %s is not absolute", c.Path)
			case *instructions.CmdCommand:
				assert.False(t, c.PrependShell, "CMD must be exec form (JSON)")
			case *instructions.EntrypointCommand:
				assert.False(t, c.PrependShell, "ENTRYPOINT must be exec form (JSON): signals must reach the binary")
				if isFinal {
					entrypoint = c
				}
			case *instructions.CopyCommand:
				if isFinal && c.From == build.Name {
					copiedBuild = true
				}
			case *instructions.RunCommand:
				assert.False(t, isFinal, "the final stage has no shell to RUN with")
				if strings.Contains(strings.Join(c.CmdLine, " "), "go build") {
					sawGoBuild = true
					checkGoBuild(t, c, name)
				}
			}
			if !isFinal {
				continue
			}
			switch c := c.(type) {
			case *instructions.UserCommand:
				user = c.User
			case *instructions.HealthCheckCommand:
				health = c
			case *instructions.ExposeCommand:
				exposed = append(exposed, c.Ports...)
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					env[kv.Key] = kv.Value
				}
			}
		}
	}
	assert.True(t, sawGoBuild, "no RUN go build in the build stage")
	assert.True(t, copiedBuild, "the final stage does not COPY --from the build stage")

	uid, gid, ok := strings.Cut(user, ":")
	require.True(t, ok, "USER %q: want numeric uid:gid", user)
	for _, id := range []string{uid, gid} {
		n, err := strconv.Atoi(id)
		require.NoError(t, err, "USER %q must be numeric so runAsNonRoot can verify it", user)
		assert.NotZero(t, n, "USER %q is root", user)
	}
	assert.Equal(t, fmt.Sprintf("%d:%d", data.Deployment.RunAsID, data.Deployment.RunAsID), user)

	require.NotNil(t, entrypoint, "final stage has no ENTRYPOINT")
	assert.Equal(t, []string{"/" + name}, entrypoint.CmdLine)

	require.NotNil(t, health, "final stage has no HEALTHCHECK")
	assert.Equal(t, []string{"CMD", "/" + name, "healthcheck"}, health.Health.Test,
		"HEALTHCHECK must run the binary's own healthcheck, exec form")

	var wantPorts []string
	for _, port := range data.Deployment.Ports {
		wantPorts = append(wantPorts, strconv.Itoa(port.Port))
	}
	assert.ElementsMatch(t, wantPorts, exposed)
	if p.spec.Transport != generator.TransportGRPC {
		assert.Contains(t, exposed, "8080")
	}
	if p.spec.Transport != generator.TransportHTTP {
		assert.Contains(t, exposed, "9090")
	}
	assert.Equal(t, ":9100", env[data.EnvPrefix+"ADMIN_ADDR"], "the admin port must listen beyond loopback in a container")

	checkDockerignore(t, p)
}

// goBuildCommand reads the build stage's go build: the environment it sets
// and the go command's arguments, with the target platform as given.
func goBuildCommand(t *testing.T, run *instructions.RunCommand, goos, goarch string) (env, args []string) {
	t.Helper()
	require.Len(t, run.CmdLine, 1, "go build must be a shell-form RUN")
	lex := shell.NewLex('\\')
	words, err := lex.ProcessWords(run.CmdLine[0], shell.EnvsFromSlice([]string{"TARGETOS=" + goos, "TARGETARCH=" + goarch}))
	require.NoError(t, err)
	assign := regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`)
	i := 0
	for ; i < len(words) && assign.MatchString(words[i]); i++ {
		env = append(env, words[i])
	}
	require.Greater(t, len(words), i+1, "RUN %q", run.CmdLine[0])
	require.Equal(t, []string{"go", "build"}, words[i:i+2], "RUN %q: want VAR=value ... go build ...", run.CmdLine[0])
	return env, words[i+1:]
}

func checkGoBuild(t *testing.T, run *instructions.RunCommand, name string) {
	env, args := goBuildCommand(t, run, "linux", "amd64")
	assert.Contains(t, env, "CGO_ENABLED=0")
	assert.Contains(t, args, "-trimpath")
	assert.Contains(t, args, "-ldflags=-s -w")
	assert.Equal(t, "./cmd/"+name, args[len(args)-1])

	// Mount flags are only read once expanded; they use no variables.
	require.NoError(t, run.Expand(func(word string) (string, error) { return word, nil }))
	var cached []string
	for _, m := range instructions.GetMounts(run) {
		if m.Type == instructions.MountTypeCache {
			cached = append(cached, m.Target)
		}
	}
	assert.ElementsMatch(t, []string{"/go/pkg/mod", "/root/.cache/go-build"}, cached,
		"go build needs BuildKit cache mounts for modules and the build cache")
}

// checkDockerignore reads .dockerignore as BuildKit does and checks the
// context keeps what go build needs and drops the rest.
func checkDockerignore(t *testing.T, p project) {
	patterns, err := ignorefile.ReadAll(bytes.NewReader(p.file(t, ".dockerignore")))
	require.NoError(t, err)
	m, err := patternmatcher.New(patterns)
	require.NoError(t, err)
	keep := []string{"go.mod", "go.sum"}
	drop := []string{".git/HEAD", "deploy/k8s/base/deployment.yaml", "Dockerfile", "bin/" + p.spec.Name}
	for _, f := range p.files {
		if strings.HasSuffix(f.Path, ".go") && !strings.HasSuffix(f.Path, "_test.go") {
			keep = append(keep, f.Path)
		}
	}
	for _, f := range slices.Compact(slices.Sorted(slices.Values(keep))) {
		ex, err := m.MatchesOrParentMatches(f)
		require.NoError(t, err)
		assert.False(t, ex, ".dockerignore drops %s, which go build needs", f)
	}
	for _, f := range drop {
		ex, err := m.MatchesOrParentMatches(f)
		require.NoError(t, err)
		assert.True(t, ex, ".dockerignore keeps %s in the build context", f)
	}
}
