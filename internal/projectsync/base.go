package projectsync

import (
	"context"
	"fmt"

	"github.com/perfgen/perfgen/generator"
)

// baseSource recovers the base of edited files: what perfgen generated for
// them last time.
type baseSource struct {
	root      string
	repo      *repo
	lock      *generator.Lock
	templates *generator.Templates

	rendered     generator.Files
	renderedDone bool
	git          map[string][]byte
	gitDone      bool
	notes        []string
}

// lookup returns the base of the file at p, whose lock hash is want ("" when
// the lock does not list it). Without a base it returns an empty one and
// notes it: the merge then shows every difference as a conflict.
func (b *baseSource) lookup(ctx context.Context, p, want string) []byte {
	if want != "" {
		// 1. Re-render the previous answers: exact as long as the
		// templates have not changed since, and needs no git.
		if !b.renderedDone {
			b.renderedDone = true
			if files, err := b.templates.Render(b.lock.Answers); err == nil {
				b.rendered = files
			}
		}
		if f, ok := b.rendered.Lookup(p); ok && generator.Hash(f.Content) == want {
			return f.Content
		}
	}
	// 2. The base commit in git: survives template and perfgen upgrades.
	if b.repo != nil {
		if !b.gitDone {
			b.gitDone = true
			files, err := b.repo.baseFiles(ctx, b.root)
			if err != nil {
				b.notes = append(b.notes, fmt.Sprintf("could not read %s: %v", b.repo.ref(), err))
			}
			b.git = files
		}
		if content, ok := b.git[p]; ok && (want == "" || generator.Hash(content) == want) {
			return content
		}
	}
	b.notes = append(b.notes, fmt.Sprintf("%s: the version perfgen generated last could not be recovered (templates changed and no %s in git), so it was merged against an empty base",
		p, BaseRef))
	return []byte{}
}
