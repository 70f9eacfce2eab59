package main

import (
	"os"
	"os/exec"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/perfgen/perfgen/internal/cli"
)

// TestMain lets the test binary run as perfgen: testscript puts a copy named
// perfgen on the scripts' PATH, and the pseudo-terminal test runs it too.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"perfgen": func() { os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the command-line scripts in testdata/script, one per
// behaviour, named by subcommand.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			// Scripts that stand in for go mod tidy (they run offline)
			// pass every other go command on to the real one.
			if goCmd, err := exec.LookPath("go"); err == nil {
				env.Setenv("REALGO", goCmd)
			}
			return nil
		},
	})
}
