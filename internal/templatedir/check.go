package templatedir

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/perfgen/perfgen/generator"
)

// A Problem is one thing wrong with a custom template directory, located at
// a file and, when known, a line.
type Problem struct {
	File string
	Line int
	Msg  string
}

// String formats p as file:line: message, the form editors jump to.
func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// Combinations returns one spec for every combination of options a project
// can choose: transports x stores x cache x upstream x every subset of
// deploy outputs.
func Combinations() []generator.Spec {
	var out []generator.Spec
	for _, tr := range generator.Transports {
		for _, st := range generator.Stores {
			for _, cache := range []bool{false, true} {
				for _, upstream := range []bool{false, true} {
					if upstream && tr == generator.TransportGRPC {
						continue // the same project as without: upstream needs HTTP
					}
					for mask := 0; mask < 1<<len(generator.Deploys); mask++ {
						s := generator.DefaultSpec("demo")
						s.Transport, s.Store, s.Cache, s.Upstream, s.Deploy = tr, st, cache, upstream, nil
						for i, d := range generator.Deploys {
							if mask&(1<<i) != 0 {
								s.Deploy = append(s.Deploy, d)
							}
						}
						out = append(out, s)
					}
				}
			}
		}
	}
	return out
}

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
		for _, line := range strings.Split(err.Error(), "\n") {
			problems = append(problems, locate(d, line))
		}
		return problems
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
		if _, err := template.New(p).Funcs(generator.FuncMap()).Parse(string(src)); err != nil {
			problems = append(problems, locate(d, err.Error()))
		}
	}
	if len(problems) > 0 {
		return problems
	}
	t, err := generator.Parse(generator.NewOverlay(builtinFS, d.FS), manifest)
	if err != nil {
		return []Problem{locate(d, err.Error())}
	}
	seen := map[string]bool{}
	for _, spec := range Combinations() {
		_, errs := t.RenderAll(spec)
		for _, err := range errs {
			// The first line locates the problem; a Go syntax error goes
			// on to list the rendered source, which is too long here.
			msg, _, _ := strings.Cut(err.Error(), "\n")
			if seen[msg] {
				continue
			}
			seen[msg] = true
			p := locate(d, msg)
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

// templateLocation matches the location text/template and the generator
// put in front of a message: "template: a/b.tmpl:12:5: msg" or
// "template a/b.tmpl:12: msg" or "template a/b.tmpl: msg".
var templateLocation = regexp.MustCompile(`^(?:.*?: )?template:? ([^:\s]+\.tmpl)(?::(\d+))?(?::\d+)?: (.*)$`)

// locate turns an error message into a Problem, naming a template of d by
// its path on disk and a built-in one as such.
func locate(d *Dir, msg string) Problem {
	m := templateLocation.FindStringSubmatch(msg)
	if m == nil {
		if file, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(file, d.Path) {
			return Problem{File: file, Msg: rest}
		}
		return Problem{File: d.Path, Msg: msg}
	}
	line, _ := strconv.Atoi(m[2])
	file := "built-in " + m[1]
	if _, err := fs.Stat(d.FS, m[1]); err == nil {
		file = filepath.Join(d.Path, filepath.FromSlash(m[1]))
	}
	return Problem{File: file, Line: line, Msg: m[3]}
}

// Locate rewrites an error from loading or rendering d's templates so each
// of its lines reads file:line: message, with the file as it is on disk.
func (d *Dir) Locate(err error) error {
	lines := strings.Split(err.Error(), "\n")
	var out []string
	for _, line := range lines {
		if m := templateLocation.FindStringSubmatch(line); m != nil {
			out = append(out, locate(d, line).String())
		} else if len(out) == 0 {
			out = append(out, line)
		}
		// The numbered rendered source after a Go syntax error is left
		// out: check prints the problem, the source is one render away.
	}
	return errors.New(strings.Join(out, "\n"))
}
