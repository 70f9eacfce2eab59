package projectsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/module"

	"github.com/perfgen/perfgen/generator"
)

// TemplateRevision returns the git commit the template directory dir is at,
// or "" when dir is in no git repository or has uncommitted changes (the
// commit would not describe the directory then), or git is not installed.
// The lock records it, so sync can recover the directory as it was after it
// changed.
func TemplateRevision(ctx context.Context, dir string) string {
	if _, err := exec.LookPath("git"); err != nil {
		return ""
	}
	if out, err := runGit(ctx, dir, nil, nil, "rev-parse", "--is-inside-work-tree"); err != nil || strings.TrimSpace(string(out)) != "true" {
		return ""
	}
	status, err := runGit(ctx, dir, nil, nil, "status", "--porcelain", "--untracked-files=all", "--", ".")
	if err != nil || len(status) > 0 {
		return ""
	}
	rev, err := runGit(ctx, dir, nil, nil, "rev-parse", "--verify", "HEAD^{commit}")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(rev))
}

// checkoutTemplates writes the template directory dir as commit rev of its
// git repository had it into a new directory under tmp, and returns it.
func checkoutTemplates(ctx context.Context, dir, rev, tmp string) (string, error) {
	// ls-tree lists the tree under the current directory, relative to it.
	out, err := runGit(ctx, dir, nil, nil, "ls-tree", "-r", "-z", rev)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(tmp, "templates")
	for entry := range strings.SplitSeq(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		meta, p, ok := strings.Cut(entry, "\t")
		fields := strings.Fields(meta)
		if !ok || len(fields) != 3 || fields[1] != "blob" || !filepath.IsLocal(p) {
			continue
		}
		content, err := runGit(ctx, dir, nil, nil, "cat-file", "blob", fields[2])
		if err != nil {
			return "", err
		}
		name := filepath.Join(dst, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(name, content, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return "", err
	}
	return dst, nil
}

// fetchable reports whether v is a perfgen version a module proxy can
// serve: not DevelPerfgen, not a "+dirty" build.
func fetchable(v string) bool {
	return v != "" && module.Check(generator.PerfgenModule, v) == nil && module.CanonicalVersion(v) == v
}

// renderWithModule renders answers (in the .perfgen.yaml format) with
// perfgen at version, laid over by the custom template directory
// templates unless it is "", into a directory under tmp, and returns the
// files by path.
//
// The protocol, which every perfgen that records its version in the lock
// supports:
//
//	go mod download -json github.com/perfgen/perfgen@VERSION
//	GOBIN=TMP/bin go install github.com/perfgen/perfgen@VERSION
//	TMP/bin/perfgen new --config TMP/answers.yaml --output TMP/base \
//	    --yes --no-tidy --no-git [--templates DIR]
//
// The module comes through the Go module cache (GOPROXY and GOFLAGS as the
// user set them; GOFLAGS=-mod=... is dropped, go install refuses it), so a
// version the project already pins is usually there without the network,
// and `go install pkg@version` stamps the version into the binary, which
// renders it into go.mod's tool pin as that version did.
func renderWithModule(ctx context.Context, version string, answers []byte, templates, tmp string) (map[string][]byte, error) {
	mod := generator.PerfgenModule + "@" + version
	env := goEnv()
	out, err := runCmd(ctx, tmp, env, "go", "mod", "download", "-json", mod)
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return nil, fmt.Errorf("go mod download %s: %s", mod, info.Error)
	}
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(tmp, "bin")
	if _, err := runCmd(ctx, tmp, append(env, "GOBIN="+bin), "go", "install", mod); err != nil {
		return nil, err
	}
	config := filepath.Join(tmp, "answers.yaml")
	if err := os.WriteFile(config, answers, 0o600); err != nil {
		return nil, err
	}
	outDir := filepath.Join(tmp, "base")
	args := []string{"new", "--config", config, "--output", outDir, "--yes", "--no-tidy", "--no-git"}
	if templates != "" {
		args = append(args, "--templates", templates)
	}
	exe := "perfgen"
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	if _, err := runCmd(ctx, tmp, env, filepath.Join(bin, exe), args...); err != nil {
		return nil, err
	}
	return readTree(outDir)
}

// goEnv is the environment of the go commands that fetch and build another
// perfgen: the user's, without a custom template directory or -mod flags.
func goEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "PERFGEN_TEMPLATES":
			continue
		case "GOFLAGS":
			var keep []string
			for f := range strings.FieldsSeq(v) {
				if !strings.HasPrefix(f, "-mod=") {
					keep = append(keep, f)
				}
			}
			kv = "GOFLAGS=" + strings.Join(keep, " ")
		}
		env = append(env, kv)
	}
	return env
}

// runCmd runs name in dir with env and returns its standard output; the
// error carries its standard error.
func runCmd(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && len(exit.Stderr) > 0 {
			return out, fmt.Errorf("%s %s: %s", filepath.Base(name), args[0], strings.TrimSpace(string(exit.Stderr)))
		}
		return out, fmt.Errorf("%s %s: %w", filepath.Base(name), args[0], err)
	}
	return out, nil
}

// readTree returns the regular files under dir by slash-separated path.
func readTree(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	return files, err
}

// lockAnswers returns the answers node of the lock file data, in the
// .perfgen.yaml format, exactly as the perfgen that wrote it wrote them: an
// older perfgen may not know answers this one added.
func lockAnswers(data []byte) ([]byte, error) {
	var l struct {
		Answers yaml.Node `yaml:"answers"`
	}
	if err := yaml.Unmarshal(data, &l); err != nil {
		return nil, err
	}
	if l.Answers.Kind != yaml.MappingNode {
		return nil, errors.New("the lock file has no answers")
	}
	return yaml.Marshal(&l.Answers)
}
