package projectsync

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/internal/templatedir"
)

// baseSource recovers the base of edited files: what perfgen generated for
// them last time. It tries candidates in order and takes the first whose
// file has the hash the lock records, so a candidate is only ever as good as
// exact: from the cheapest (rendering in process) to the dearest (building
// the perfgen that rendered the project last).
type baseSource struct {
	candidates []*candidate
	// tmp holds checked-out template directories and other perfgens'
	// renderings; made on first use, removed by close.
	tmp   string
	notes []string
}

// A candidate is one way to recover the base.
type candidate struct {
	// what names it in notes.
	what string
	// unlisted: the candidate is trusted for files the lock does not list
	// (the git base commit, which is exactly what perfgen wrote).
	unlisted bool
	// quiet: using it is the everyday case and needs no note.
	quiet bool
	load  func(ctx context.Context) (map[string][]byte, error)

	loaded bool
	files  map[string][]byte
	used   []string
}

// newBaseSource lists the candidates for the project at root, in order:
//
//  1. the previous answers rendered in process by the previous templates:
//     this perfgen's built-ins when the lock says the built-ins rendered it
//     (whatever templates render it now), or the custom directory when its
//     checksum is the one the lock records, or the directory as it was at
//     the git commit the lock records;
//  2. the base commit at BaseRef in the project's git repository;
//  3. the perfgen version the lock records (else the one go.mod pins),
//     when it is not this one: fetched through the Go module cache and run.
func newBaseSource(root string, r *repo, lock *generator.Lock, lockData []byte, pinned string, opts *Options) *baseSource {
	b := &baseSource{}
	if lock == nil {
		if r != nil {
			b.candidates = append(b.candidates, b.gitCandidate(root, r))
		}
		return b
	}
	now := opts.Templates.Source()
	render := func(t *generator.Templates) func(context.Context) (map[string][]byte, error) {
		return func(context.Context) (map[string][]byte, error) {
			files, err := t.Render(lock.Answers)
			if err != nil {
				return nil, err
			}
			m := make(map[string][]byte, len(files))
			for _, f := range files {
				m[f.Path] = f.Content
			}
			return m, nil
		}
	}
	// customDir returns the custom template directory as it was last time,
	// for an older perfgen to render with; nil when it is unknown.
	var customDir func(ctx context.Context) (string, error)
	switch {
	case lock.Templates != generator.OriginCustom:
		builtin := opts.Builtin
		if builtin == nil {
			builtin = opts.Templates
		}
		b.candidates = append(b.candidates, &candidate{what: "this perfgen's built-in templates", quiet: true, load: render(builtin)})
	case lock.TemplatesSum == "" || lock.TemplatesSum == now.TemplatesSum:
		b.candidates = append(b.candidates, &candidate{what: "the template directory " + opts.TemplateDir, quiet: true, load: render(opts.Templates)})
		// Another perfgen runs in a directory of its own.
		customDir = func(context.Context) (string, error) { return filepath.Abs(opts.TemplateDir) }
	default:
		if lock.TemplatesRev != "" && opts.LoadTemplates != nil {
			var dir string
			var derr error
			checkedOut := false
			customDir = func(ctx context.Context) (string, error) {
				if !checkedOut {
					checkedOut = true
					dir, derr = b.checkout(ctx, opts.TemplateDir, lock.TemplatesRev, lock.TemplatesSum)
				}
				return dir, derr
			}
			b.candidates = append(b.candidates, &candidate{
				what: fmt.Sprintf("the template directory %s as commit %s had it", opts.TemplateDir, shortRev(lock.TemplatesRev)),
				load: func(ctx context.Context) (map[string][]byte, error) {
					dir, err := customDir(ctx)
					if err != nil {
						return nil, err
					}
					t, err := opts.LoadTemplates(dir)
					if err != nil {
						return nil, err
					}
					return render(t)(ctx)
				},
			})
		}
		// Files whose templates did not change still render the same.
		b.candidates = append(b.candidates, &candidate{
			what: fmt.Sprintf("the template directory %s as it is now (it changed since; each file checked against %s)", opts.TemplateDir, generator.LockFile),
			load: render(opts.Templates),
		})
	}
	if r != nil {
		b.candidates = append(b.candidates, b.gitCandidate(root, r))
	}
	version := lock.Perfgen
	if version == "" {
		version = pinned
	}
	if fetchable(version) && version != now.Perfgen && (lock.Templates != generator.OriginCustom || customDir != nil) {
		answers, aerr := lockAnswers(lockData)
		b.candidates = append(b.candidates, &candidate{
			what: fmt.Sprintf("perfgen %s (%s@%s through the Go module cache)", version, generator.PerfgenModule, version),
			load: func(ctx context.Context) (map[string][]byte, error) {
				if aerr != nil {
					return nil, aerr
				}
				dir := ""
				if customDir != nil {
					var err error
					if dir, err = customDir(ctx); err != nil {
						return nil, err
					}
				}
				tmp, err := b.tempDir()
				if err != nil {
					return nil, err
				}
				work, err := os.MkdirTemp(tmp, "perfgen-")
				if err != nil {
					return nil, err
				}
				return renderWithModule(ctx, version, answers, dir, work)
			},
		})
	}
	return b
}

func (b *baseSource) gitCandidate(root string, r *repo) *candidate {
	return &candidate{what: "the base commit at " + r.ref(), unlisted: true, load: func(ctx context.Context) (map[string][]byte, error) {
		return r.baseFiles(ctx, root)
	}}
}

// lookup returns the base of the file at p, whose lock hash is want ("" when
// the lock does not list it). Without a base it returns an empty one and
// notes it: the merge then shows every difference as a conflict.
func (b *baseSource) lookup(ctx context.Context, p, want string) []byte {
	var tried []string
	for _, c := range b.candidates {
		if want == "" && !c.unlisted {
			continue
		}
		if !c.loaded {
			c.loaded = true
			files, err := c.load(ctx)
			if err != nil {
				b.notes = append(b.notes, fmt.Sprintf("could not recover the base from %s: %v", c.what, err))
			}
			c.files = files
		}
		tried = append(tried, c.what)
		if content, ok := c.files[p]; ok && (want == "" || generator.Hash(content) == want) {
			c.used = append(c.used, p)
			return content
		}
	}
	if len(tried) == 0 {
		tried = append(tried, "no lock entry and no "+BaseRef+" in git")
	}
	b.notes = append(b.notes, fmt.Sprintf("%s: the version perfgen generated last could not be recovered (tried %s), so it was merged against an empty base",
		p, strings.Join(tried, "; ")))
	return []byte{}
}

// report returns the notes, with one naming each base that is not the
// everyday one and the files it gave.
func (b *baseSource) report() []string {
	notes := b.notes
	for _, c := range b.candidates {
		if len(c.used) > 0 && !c.quiet {
			notes = append(notes, fmt.Sprintf("the base of %s came from %s", summarize(c.used), c.what))
		}
	}
	return notes
}

// tempDir returns b's temporary directory, making it on first use.
func (b *baseSource) tempDir() (string, error) {
	if b.tmp == "" {
		tmp, err := os.MkdirTemp("", "perfgen-sync-")
		if err != nil {
			return "", err
		}
		b.tmp = tmp
	}
	return b.tmp, nil
}

// close removes b's temporary directory.
func (b *baseSource) close() {
	if b.tmp != "" {
		_ = os.RemoveAll(b.tmp)
	}
}

// checkout writes the template directory dir as commit rev had it to a
// temporary directory, and checks that its checksum is sum.
func (b *baseSource) checkout(ctx context.Context, dir, rev, sum string) (string, error) {
	tmp, err := b.tempDir()
	if err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(tmp, "templates-")
	if err != nil {
		return "", err
	}
	out, err := checkoutTemplates(ctx, dir, rev, work)
	if err != nil {
		return "", err
	}
	d, err := templatedir.Open(out)
	if err != nil {
		return "", err
	}
	got, err := d.Sum()
	if err != nil {
		return "", err
	}
	if got != sum {
		return "", fmt.Errorf("commit %s of %s has checksum %s, not %s", shortRev(rev), dir, got, sum)
	}
	return out, nil
}

func shortRev(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
