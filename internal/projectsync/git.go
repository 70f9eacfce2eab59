package projectsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/perfgen/perfgen/generator"
)

// BaseRef is the git ref that holds, as a commit, the files perfgen
// generated last for a project at the top of its repository. A project in a
// subdirectory of a repository uses BaseRef + "s/<dir>".
//
// A ref keeps the commit (and its tree and blobs) reachable, so git gc never
// collects it, and writing it touches neither the index nor HEAD nor the
// working tree. Each new base commit has the previous one as its parent, so
// `git log refs/perfgen/base` shows the project's generated history.
const BaseRef = "refs/perfgen/base"

// repo is the git repository a project lives in.
type repo struct {
	// top is the repository's top-level directory.
	top string
	// prefix is the project's directory relative to top, slash separated
	// and ending in "/", or "" at the top.
	prefix string
}

// ref returns the base ref of the project.
func (r *repo) ref() string {
	if r.prefix == "" {
		return BaseRef
	}
	return BaseRef + "s/" + strings.TrimSuffix(r.prefix, "/")
}

// errNoGit reports that git is not installed.
var errNoGit = errors.New("git is not on PATH")

// findRepo returns the repository dir is in, or nil when dir is in none,
// the repository ignores dir, or git is not installed. A project its
// repository does not track is not the repository's business: perfgen
// records no base in it (such as ./demo in a clone of perfgen).
func findRepo(ctx context.Context, dir string) (*repo, error) {
	r, ignored := enclosingRepo(ctx, dir)
	if ignored {
		return nil, nil
	}
	return r, nil
}

// EnclosingRepo returns the top-level directory of the git working tree dir
// is in, and whether that repository ignores dir. top is "" when dir is in
// no working tree or git is not installed.
func EnclosingRepo(ctx context.Context, dir string) (top string, ignored bool) {
	r, ignored := enclosingRepo(ctx, dir)
	if r == nil {
		return "", false
	}
	return r.top, ignored
}

func enclosingRepo(ctx context.Context, dir string) (r *repo, ignored bool) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, false
	}
	out, err := runGit(ctx, dir, nil, nil, "rev-parse", "--is-inside-work-tree", "--show-toplevel", "--show-prefix")
	if err != nil {
		// Not a repository (or a bare one): sync works without git.
		return nil, false
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) < 2 || lines[0] != "true" {
		return nil, false
	}
	r = &repo{top: lines[1]}
	if len(lines) > 2 {
		r.prefix = lines[2]
	}
	// check-ignore exits 0 when the path is ignored, 1 when it is not.
	_, err = runGit(ctx, dir, nil, nil, "check-ignore", "-q", ".")
	return r, err == nil
}

// runGit runs git in dir with extra environment variables and stdin, and
// returns its standard output. The error carries git's standard error.
func runGit(ctx context.Context, dir string, env []string, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, errNoGit
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return stdout.Bytes(), fmt.Errorf("git %s: %s", args[0], msg)
	}
	return stdout.Bytes(), nil
}

// dirty returns the paths git reports as changed or untracked under the
// project, except the answers file: editing it is how a user asks for a sync.
func (r *repo) dirty(ctx context.Context, dir string) ([]string, error) {
	out, err := runGit(ctx, dir, nil, nil, "status", "--porcelain", "-z", "--untracked-files=all", "--", ".")
	if err != nil {
		return nil, err
	}
	var paths []string
	entries := strings.Split(string(out), "\x00")
	for i := 0; i < len(entries); i++ {
		e := entries[i]
		if len(e) < 4 {
			continue
		}
		status, p := e[:2], e[3:]
		if status[0] == 'R' || status[0] == 'C' {
			i++ // the next entry is the source of the rename or copy
		}
		if p == r.prefix+generator.AnswersFile || p == generator.AnswersFile {
			continue
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// baseFiles returns the files of the base commit, by project path, or nil
// when the ref does not exist.
func (r *repo) baseFiles(ctx context.Context, dir string) (map[string][]byte, error) {
	ref := r.ref()
	if _, err := runGit(ctx, dir, nil, nil, "rev-parse", "--verify", "--quiet", ref+"^{commit}"); err != nil {
		return nil, nil
	}
	out, err := runGit(ctx, dir, nil, nil, "ls-tree", "-r", "-z", "--full-tree", ref)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for entry := range strings.SplitSeq(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		meta, p, ok := strings.Cut(entry, "\t")
		fields := strings.Fields(meta)
		if !ok || len(fields) != 3 || fields[1] != "blob" {
			continue
		}
		content, err := runGit(ctx, dir, nil, nil, "cat-file", "blob", fields[2])
		if err != nil {
			return nil, err
		}
		files[p] = content
	}
	return files, nil
}

// recordBase stores files as the project's new base commit and points the
// base ref at it. It uses a temporary index, never the user's.
func (r *repo) recordBase(ctx context.Context, dir string, files generator.Files, message string) error {
	tmp, err := os.MkdirTemp("", "perfgen-base-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var index bytes.Buffer
	for _, f := range files {
		blob, err := runGit(ctx, dir, nil, f.Content, "hash-object", "-w", "--stdin")
		if err != nil {
			return err
		}
		mode := "100644"
		if f.Mode&0o111 != 0 {
			mode = "100755"
		}
		fmt.Fprintf(&index, "%s %s\t%s\n", mode, strings.TrimSpace(string(blob)), f.Path)
	}
	env := []string{
		"GIT_INDEX_FILE=" + filepath.Join(tmp, "index"),
		// The base is perfgen's record, not the user's work: it is authored
		// by perfgen, and needs no user.name to be configured.
		"GIT_AUTHOR_NAME=perfgen", "GIT_AUTHOR_EMAIL=perfgen@localhost",
		"GIT_COMMITTER_NAME=perfgen", "GIT_COMMITTER_EMAIL=perfgen@localhost",
	}
	if _, err := runGit(ctx, dir, env, index.Bytes(), "update-index", "--add", "--index-info"); err != nil {
		return err
	}
	tree, err := runGit(ctx, dir, env, nil, "write-tree")
	if err != nil {
		return err
	}
	treeID := strings.TrimSpace(string(tree))
	args := []string{"commit-tree", treeID, "-m", message}
	ref := r.ref()
	old, err := runGit(ctx, dir, nil, nil, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err == nil {
		oldTree, err := runGit(ctx, dir, nil, nil, "rev-parse", ref+"^{tree}")
		if err == nil && strings.TrimSpace(string(oldTree)) == treeID {
			return nil // the base is already these files
		}
		args = append(args, "-p", strings.TrimSpace(string(old)))
	}
	commit, err := runGit(ctx, dir, env, nil, args...)
	if err != nil {
		return err
	}
	_, err = runGit(ctx, dir, nil, nil, "update-ref", "-m", message, ref, strings.TrimSpace(string(commit)))
	return err
}

// mergeFile merges theirs into ours against base with `git merge-file` and
// returns the result and the number of conflicts, written with standard
// markers.
func mergeFile(ctx context.Context, ours, base, theirs []byte) ([]byte, int, error) {
	tmp, err := os.MkdirTemp("", "perfgen-merge-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(tmp)
	names := []string{filepath.Join(tmp, "yours"), filepath.Join(tmp, "base"), filepath.Join(tmp, "perfgen")}
	for i, b := range [][]byte{ours, base, theirs} {
		if err := os.WriteFile(names[i], b, 0o600); err != nil {
			return nil, 0, err
		}
	}
	cmd := exec.CommandContext(ctx, "git", "merge-file", "-p",
		"-L", "yours", "-L", "last generated", "-L", "perfgen sync",
		names[0], names[1], names[2])
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return stdout.Bytes(), 0, nil
	case errors.Is(err, exec.ErrNotFound):
		return nil, 0, fmt.Errorf("merging edited files needs git on PATH: %w", err)
	case errors.As(err, &exit) && exit.ExitCode() > 0 && exit.ExitCode() < 128:
		// merge-file exits with the number of conflicts.
		return stdout.Bytes(), exit.ExitCode(), nil
	default:
		return nil, 0, fmt.Errorf("git merge-file: %s", strings.TrimSpace(stderr.String()+" "+err.Error()))
	}
}
