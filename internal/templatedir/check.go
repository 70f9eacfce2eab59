package templatedir

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/perfgen/perfgen/generator"
)

// A Problem is one thing wrong with a custom template directory, located at
// a file and, when known, a line.
type Problem struct {
	File string
	Line int
	Msg  string
}

// Error is String: a Problem is also the error that reports it.
func (p Problem) Error() string { return p.String() }

// String formats p as file:line: message, the form editors jump to.
func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// Combinations returns every combination of options a check renders; see
// generator.Combinations.
func Combinations() []generator.Spec { return generator.Combinations() }

// describe names the options of s, for a problem found with them.
func describe(s generator.Spec) string {
	cache := "off"
	if s.Cache {
		cache = "on"
	}
	deploy := "none"
	if len(s.Deploy) > 0 {
		parts := make([]string, len(s.Deploy))
		for i, d := range s.Deploy {
			parts[i] = string(d)
		}
		deploy = strings.Join(parts, ",")
	}
	return fmt.Sprintf("transport %s, store %s, cache %s, upstream %t, deploy %s", s.Transport, s.Store, cache, s.Normalize().Upstream, deploy)
}

// Check parses every template of d on its own, then lays d over the
// built-ins and renders the result for every option combination. It returns
// every problem found, each once, in file order; none means the directory
// renders every project perfgen can generate.
func Check(builtinFS fs.FS, builtin []generator.Entry, d *Dir) []Problem {
	if err := d.CheckVersion(); err != nil {
		return []Problem{{File: filepath.Join(d.Path, VersionFile), Msg: err.Error()}}
	}
	var problems []Problem
	manifest, err := d.Manifest(builtin)
	if err != nil {
		return problemsOf(d, err)
	}
	// Parse each file alone first, so one broken file does not hide the
	// next.
	names, err := templateFiles(d.FS)
	if err != nil {
		return []Problem{{File: d.Path, Msg: err.Error()}}
	}
	for _, p := range names {
		src, err := fs.ReadFile(d.FS, p)
		if err != nil {
			problems = append(problems, Problem{File: filepath.Join(d.Path, p), Msg: err.Error()})
			continue
		}
		if err := generator.ParseTemplate(p, src); err != nil {
			problems = append(problems, problemOf(d, err))
		}
	}
	if len(problems) > 0 {
		return problems
	}
	t, err := generator.Parse(generator.NewOverlay(builtinFS, d.FS), manifest)
	if err != nil {
		return []Problem{problemOf(d, err)}
	}
	seen := map[string]bool{}
	for _, spec := range Combinations() {
		_, errs := t.RenderAll(spec)
		for _, err := range errs {
			p := problemOf(d, err)
			if seen[p.String()] {
				continue
			}
			seen[p.String()] = true
			p.Msg += " (with " + describe(spec) + ")"
			problems = append(problems, p)
		}
	}
	slices.SortStableFunc(problems, func(a, b Problem) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	return problems
}

// templateFiles lists the *.tmpl files of fsys.
func templateFiles(fsys fs.FS) ([]string, error) {
	var out []string
	err := fs.WalkDir(fsys, ".", func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, ".tmpl") {
			out = append(out, p)
		}
		return err
	})
	return out, err
}

// problemOf turns an error from loading or rendering d's templates into
// the Problem it names: a *generator.TemplateError is placed at its template
// (by its path on disk when d has the file, as a built-in otherwise) and
// line; a Problem is itself; anything else is a problem of the directory.
func problemOf(d *Dir, err error) Problem {
	var p Problem
	if errors.As(err, &p) {
		return p
	}
	var te *generator.TemplateError
	if !errors.As(err, &te) {
		return Problem{File: d.Path, Msg: err.Error()}
	}
	file := "built-in " + te.Template
	if d.Has(te.Template) {
		file = filepath.Join(d.Path, filepath.FromSlash(te.Template))
	}
	msg := te.Err.Error()
	// A Go syntax error goes on to list the rendered source, which is too
	// long here: check prints the problem, the source is one render away.
	var se *generator.SyntaxError
	if errors.As(te.Err, &se) {
		msg = se.Summary()
	}
	return Problem{File: file, Line: te.Line, Msg: msg}
}

// problemsOf is problemOf for each error errors.Join joined into err.
func problemsOf(d *Dir, err error) []Problem {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []Problem
		for _, e := range joined.Unwrap() {
			out = append(out, problemsOf(d, e)...)
		}
		return out
	}
	return []Problem{problemOf(d, err)}
}

// Locate rewrites an error from loading or rendering d's templates to read
// file:line: message, with the file as it is on disk. Other errors are
// returned as they are.
func (d *Dir) Locate(err error) error {
	var te *generator.TemplateError
	if !errors.As(err, &te) {
		return err
	}
	return problemOf(d, te)
}
