package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/version"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"

	"github.com/perfgen/perfgen/generator"
)

// VulnDBVersion pins the copy of golang.org/x/vulndb the scan checks against,
// so a result changes only when this line does. The Makefile installs
// indexdb from the same version; bump both together.
const VulnDBVersion = "v0.0.0-20261105234957-e22db6528018"

// TestSecurityScan runs gosec and govulncheck over every golden project.
// gosec must report nothing of medium severity or above in the code that
// ships (tests are left out, as gosec does by default: they seed math/rand
// and echo requests on purpose); a suppression needs a `#nosec RULE -- why`
// comment on the line, in the template.
// govulncheck runs offline against a vulnerability database built from the
// pinned golang.org/x/vulndb module, under the toolchain the generated go.mod
// declares (GOTOOLCHAIN set to it, whatever the machine's own Go is), and
// must find no vulnerable symbol that the project calls: neither of a
// third-party module nor of the standard library of that toolchain.
func TestSecurityScan(t *testing.T) {
	untimed(t)
	gosec := lookTool(t, "gosec")
	govulncheck := lookTool(t, "govulncheck")
	db := offlineVulnDB(t)

	// The scanners must see what they are meant to see, or a clean result
	// means nothing.
	t.Run("canary", func(t *testing.T) {
		dir := canaryModule(t)
		var rules []string
		for _, is := range runGosec(t, dir, gosec) {
			rules = append(rules, is.RuleID)
		}
		require.Contains(t, rules, "G204", "gosec missed a command built from a variable")
		_, thirdParty := calledVulns(runGovulncheck(t, dir, govulncheck, db, ""))
		i := slices.IndexFunc(thirdParty, func(v calledVuln) bool { return v.OSV == canaryVuln && v.Module == "golang.org/x/text" })
		require.GreaterOrEqual(t, i, 0, "govulncheck with the offline database missed %s, a called vulnerability of golang.org/x/text@v0.3.5", canaryVuln)
		// Its fix fits the go directive, so a project calling it would fail.
		needs := fixNeedsGo(t, thirdParty[i].Module, thirdParty[i].Fixed)
		require.LessOrEqual(t, version.Compare("go"+needs, "go"+generator.GoVersion), 0, "the fix %s needs go %s", thirdParty[i].Fixed, needs)

		// Under a toolchain with a known vulnerability in the standard
		// library, the same module calls it: the scan does look at the
		// standard library of the toolchain it is given.
		stdlib, _ := calledVulns(runGovulncheck(t, dir, govulncheck, db, canaryToolchain))
		require.True(t, slices.ContainsFunc(stdlib, func(v calledVuln) bool { return v.OSV == canaryStdlibVuln }),
			"govulncheck under %s missed %s, a called vulnerability of html/template; found %s", canaryToolchain, canaryStdlibVuln, describe(stdlib))
	})

	entries, err := os.ReadDir(filepath.Join("..", "golden"))
	require.NoError(t, err)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			dir := preparedGolden(t, e.Name())

			t.Run("gosec", func(t *testing.T) {
				issues := runGosec(t, dir, gosec)
				for _, is := range issues {
					t.Errorf("gosec %s %s (%s confidence) at %s:%s: %s", is.Severity, is.RuleID, is.Confidence, rel(dir, is.File), is.Line, is.Details)
				}
			})

			t.Run("govulncheck", func(t *testing.T) {
				toolchain := declaredToolchain(t, dir)
				require.Equal(t, generator.GoToolchain, toolchain, "go.mod's toolchain line")
				stdlib, thirdParty := calledVulns(runGovulncheck(t, dir, govulncheck, db, toolchain))
				var blocked []calledVuln
				for _, v := range thirdParty {
					needs := fixNeedsGo(t, v.Module, v.Fixed)
					if version.Compare("go"+needs, "go"+generator.GoVersion) <= 0 {
						t.Errorf("%s: the project calls %s of %s@%s; pin %s in generator/data.go (its fix needs go %s, projects declare %s)",
							v.OSV, v.symbols(), v.Module, v.Version, v.Fixed, needs, generator.GoVersion)
						continue
					}
					v.Note = fmt.Sprintf("the fix needs go %s; projects declare go %s", needs, generator.GoVersion)
					blocked = append(blocked, v)
				}
				if len(blocked) > 0 {
					t.Logf("third-party findings whose fix needs a newer Go than generated projects declare (not failed; they fail as soon as the fix fits the go directive):\n  %s",
						describe(blocked))
				}
				for _, v := range stdlib {
					t.Errorf("%s: the project calls %s of the standard library of %s; raise GoToolchain in generator/data.go to a release with the fix (%s)",
						v.OSV, v.symbols(), toolchain, v.Fixed)
				}
			})
		})
	}
}

// canaryVuln is an out-of-bounds read in golang.org/x/text/language.Parse,
// fixed in v0.3.7.
const canaryVuln = "GO-2021-0113"

// canaryToolchain and canaryStdlibVuln: html/template in go1.26.8 misreads
// "yield" in JavaScript contexts (GO-2026-6600, fixed in go1.26.9).
const (
	canaryToolchain  = "go1.26.8"
	canaryStdlibVuln = "GO-2026-6600"
)

// canaryModule writes a module that calls a known-vulnerable function of a
// module and of the standard library, and runs a command built from its
// input, and downloads its dependencies.
func canaryModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	write("go.mod", "module example.com/canary\n\ngo 1.25.0\n\nrequire golang.org/x/text v0.3.5\n")
	write("main.go", `package main

import (
	"fmt"
	"html/template"
	"os"
	"os/exec"

	"golang.org/x/text/language"
)

func main() {
	fmt.Println(language.Parse(os.Args[1]))
	_ = exec.Command(os.Args[2]).Run()
	_ = template.Must(template.New("page").Parse(os.Args[3])).Execute(os.Stdout, nil)
}
`)
	goCmd(t, dir, 5*time.Minute, "mod", "tidy")
	return dir
}

// calledVuln is one vulnerability the project calls, with the symbols it
// calls.
type calledVuln struct {
	OSV, Module, Version, Fixed, Note string
	Symbols                           []string
}

func (v calledVuln) symbols() string {
	syms := slices.Clone(v.Symbols)
	slices.Sort(syms)
	syms = slices.Compact(syms)
	more := ""
	if len(syms) > 3 {
		more = fmt.Sprintf(" and %d more", len(syms)-3)
		syms = syms[:3]
	}
	return strings.Join(syms, ", ") + more
}

// calledVulns keeps the findings whose vulnerable symbol the project calls
// (a finding without a function is only imported or required), one per
// vulnerability and module, split into the standard library's and the
// others'.
func calledVulns(findings []vulnFinding) (stdlib, thirdParty []calledVuln) {
	byID := map[string]*calledVuln{} // by OSV ID and module
	var order []string
	for _, f := range findings {
		top := f.Trace[0]
		if top.Function == "" {
			continue
		}
		// One OSV entry may cover a module and the standard library's copy
		// of the same code (x/net/http2 and net/http).
		key := f.OSV + " " + top.Module
		v, ok := byID[key]
		if !ok {
			v = &calledVuln{OSV: f.OSV, Module: top.Module, Version: top.Version, Fixed: f.FixedVersion}
			byID[key] = v
			order = append(order, key)
		}
		v.Symbols = append(v.Symbols, top.Package+"."+top.Function)
	}
	slices.Sort(order)
	for _, id := range order {
		v := *byID[id]
		if v.Module == "stdlib" || v.Module == "toolchain" {
			stdlib = append(stdlib, v)
		} else {
			thirdParty = append(thirdParty, v)
		}
	}
	return stdlib, thirdParty
}

func describe(vs []calledVuln) string {
	lines := make([]string, len(vs))
	for i, v := range vs {
		lines[i] = fmt.Sprintf("%s in %s, fixed in %s: %s", v.OSV, v.Module, v.Fixed, v.symbols())
		if v.Note != "" {
			lines[i] += " (" + v.Note + ")"
		}
	}
	return strings.Join(lines, "\n  ")
}

// fixNeedsGo returns the go directive of module@fixed, fetched through the
// module proxy: the oldest Go a project needs to take the fix.
func fixNeedsGo(t *testing.T, module, fixed string) string {
	t.Helper()
	out := run(t, t.TempDir(), 5*time.Minute, "go", "mod", "download", "-json", module+"@"+fixed)
	var mod struct{ GoMod, Error string }
	require.NoError(t, json.Unmarshal([]byte(out), &mod))
	require.Empty(t, mod.Error)
	data, err := os.ReadFile(mod.GoMod)
	require.NoError(t, err)
	f, err := modfile.ParseLax(mod.GoMod, data, nil)
	require.NoError(t, err)
	if f.Go == nil {
		return "1.16" // modules without a go directive predate it
	}
	return f.Go.Version
}

// lookTool finds a pinned tool that `make tools` installs into bin/.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	require.NoError(t, err, "%s is not on PATH; `make tools` installs it into bin/ and `make e2e` puts bin/ on PATH", name)
	return path
}

// offlineVulnDB builds a vulnerability database in govulncheck's v1 format
// (index/db.json, index/modules.json, index/vulns.json, ID/*.json) from the
// OSV entries in the pinned golang.org/x/vulndb module, fetched through the
// module proxy like any other module. govulncheck then reads it with
// -db file://, so the scan needs no network and gives the same answer every
// run.
func offlineVulnDB(t *testing.T) string {
	t.Helper()
	indexdb := lookTool(t, "indexdb")
	out := run(t, ".", 10*time.Minute, "go", "mod", "download", "-json", "golang.org/x/vulndb@"+VulnDBVersion)
	var mod struct{ Dir, Error string }
	require.NoError(t, json.Unmarshal([]byte(out), &mod))
	require.Empty(t, mod.Error)
	osv := filepath.Join(mod.Dir, "data", "osv")
	entries, err := os.ReadDir(osv)
	require.NoError(t, err, "golang.org/x/vulndb@%s has no data/osv", VulnDBVersion)
	require.Greater(t, len(entries), 1000, "too few OSV entries in %s", osv)

	db := filepath.Join(t.TempDir(), "vulndb")
	run(t, ".", 5*time.Minute, indexdb, "-vulns", osv, "-out", db)
	for _, f := range []string{"index/db.json", "index/modules.json", "index/vulns.json"} {
		_, err := os.Stat(filepath.Join(db, f))
		require.NoError(t, err, "indexdb wrote no %s", f)
	}
	return db
}

// gosecIssue is one finding of `gosec -fmt json`.
type gosecIssue struct {
	Severity   string `json:"severity"`
	Confidence string `json:"confidence"`
	RuleID     string `json:"rule_id"`
	Details    string `json:"details"`
	File       string `json:"file"`
	Line       string `json:"line"`
}

// runGosec scans the non-test code in dir and returns the issues of medium
// severity or above.
func runGosec(t *testing.T, dir, gosec string) []gosecIssue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gosec, "-severity", "medium", "-confidence", "low", "-fmt", "json", "-quiet", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	// gosec exits 1 when it finds issues; the report says which.
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("gosec: %v\n%s", err, stderr.String())
	}
	var report struct {
		Issues       []gosecIssue        `json:"Issues"`
		GolangErrors map[string][]any    `json:"Golang errors"`
		Stats        struct{ Files int } `json:"Stats"`
	}
	if stdout.Len() == 0 {
		// -quiet prints nothing when there is nothing to report.
		require.NoError(t, err, "gosec failed without a report:\n%s", stderr.String())
		return nil
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &report), "gosec report:\n%s", stdout.String())
	require.Empty(t, report.GolangErrors, "gosec could not type-check the project")
	return report.Issues
}

// vulnFinding is one finding of `govulncheck -format json`. Trace[0] is the
// vulnerable symbol (Function set), package or module itself.
type vulnFinding struct {
	OSV          string `json:"osv"`
	FixedVersion string `json:"fixed_version"`
	Trace        []struct {
		Module   string `json:"module"`
		Version  string `json:"version"`
		Package  string `json:"package"`
		Function string `json:"function"`
	} `json:"trace"`
}

// runGovulncheck scans dir against db with the module proxy switched off and
// returns every finding. A toolchain other than "" is the Go release whose
// standard library the scan checks: it is fetched first (through the module
// proxy, like `go` does under GOTOOLCHAIN) and govulncheck runs with
// GOTOOLCHAIN set to it.
func runGovulncheck(t *testing.T, dir, govulncheck, db, toolchain string) []vulnFinding {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, govulncheck, "-db", "file://"+filepath.ToSlash(db), "-format", "json", "./...")
	cmd.Dir = dir
	// Offline: the modules are in the cache since `go mod tidy`, the
	// toolchain since useToolchain.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	if toolchain != "" {
		cmd.Env = append(cmd.Env, useToolchain(t, dir, toolchain))
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "govulncheck:\n%s", stderr.String())

	var findings []vulnFinding
	var sawConfig bool
	dec := json.NewDecoder(&stdout)
	for {
		var msg struct {
			Config  *struct{ DB string } `json:"config"`
			Finding *vulnFinding         `json:"finding"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		if msg.Config != nil {
			sawConfig = true
			require.Equal(t, "file://"+filepath.ToSlash(db), msg.Config.DB, "govulncheck used another database")
		}
		if msg.Finding != nil && len(msg.Finding.Trace) > 0 {
			findings = append(findings, *msg.Finding)
		}
	}
	require.True(t, sawConfig, "govulncheck printed no config message: not its JSON format?")
	return findings
}

// declaredToolchain returns the toolchain line of dir's go.mod.
func declaredToolchain(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(name)
	require.NoError(t, err)
	// Parse, not ParseLax: the lax parser skips the toolchain line.
	f, err := modfile.Parse(name, data, nil)
	require.NoError(t, err)
	require.NotNil(t, f.Toolchain, "%s declares no toolchain: the Go that builds it is whatever the user has", name)
	return f.Toolchain.Name
}

// useToolchain makes sure the go command in dir runs as toolchain (fetching
// it when the machine's Go is another release) and returns the GOTOOLCHAIN
// setting that selects it.
func useToolchain(t *testing.T, dir, toolchain string) string {
	t.Helper()
	env := "GOTOOLCHAIN=" + toolchain
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "env", "GOVERSION")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env)
	// Standard output alone: the first use of a toolchain on a machine
	// says "go: downloading go1.x" on standard error.
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s go env GOVERSION:\n%s%s", env, out, stderr.String())
	require.Equal(t, toolchain, strings.TrimSpace(string(out)), "%s did not select %s", env, toolchain)
	return env
}

func rel(dir, path string) string {
	if r, err := filepath.Rel(dir, path); err == nil {
		return r
	}
	return path
}
