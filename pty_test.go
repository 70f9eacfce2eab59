//go:build linux || darwin

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/term"
)

// terminal runs a command on a pseudo-terminal and plays the user: it
// waits for text to appear and types keys. It also plays the terminal for
// the cursor position requests (DSR, ESC [6n) that survey's line prompts
// send; see answer.
type terminal struct {
	t    *testing.T
	ptmx *os.File
	cmd  *exec.Cmd

	mu   sync.Mutex
	out  bytes.Buffer
	seen int // output already matched by expect
	done chan struct{}
}

// cursorRequest is the Device Status Report query; cursorReply claims a
// 24x80 terminal with the cursor in its last cell.
const (
	cursorRequest = "\x1b[6n"
	cursorReply   = "\x1b[24;80R"
)

// hangGuard bounds every wait, so a prompt that never appears fails the test
// instead of hanging it. It is not a performance assertion.
const hangGuard = 60 * time.Second

func startTerminal(t *testing.T, dir string, args ...string) *terminal {
	t.Helper()
	bin, err := exec.LookPath("perfgen")
	require.NoError(t, err, "TestMain puts perfgen on PATH")
	ptmx, tty, err := pty.Open()
	require.NoError(t, err)
	// Raw from the start: what the test types reaches perfgen byte for
	// byte whether or not survey has switched modes yet, and survey
	// restores this same mode after each prompt.
	_, err = term.MakeRaw(int(tty.Fd()))
	require.NoError(t, err)
	require.NoError(t, pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 80}))

	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	require.NoError(t, cmd.Start())
	require.NoError(t, tty.Close())

	term := &terminal{t: t, ptmx: ptmx, cmd: cmd, done: make(chan struct{})}
	go term.read()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = ptmx.Close()
	})
	return term
}

// read copies perfgen's output into the buffer.
func (tm *terminal) read() {
	defer close(tm.done)
	buf := make([]byte, 4096)
	for {
		n, err := tm.ptmx.Read(buf)
		tm.mu.Lock()
		tm.out.Write(buf[:n])
		tm.mu.Unlock()
		if err != nil {
			return // EIO once perfgen exits and the terminal closes
		}
	}
}

// expect waits for s to appear after the text matched last.
func (tm *terminal) expect(s string) {
	tm.t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		tm.mu.Lock()
		out := tm.out.String()
		i := strings.Index(out[tm.seen:], s)
		if i >= 0 {
			tm.seen += i + len(s)
		}
		tm.mu.Unlock()
		if i >= 0 {
			return
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("%q did not appear; output so far:\n%s", s, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// typeKeys sends keys as if typed. Select and multi-select prompts read
// them as they come.
func (tm *terminal) typeKeys(keys string) {
	tm.t.Helper()
	_, err := tm.ptmx.Write([]byte(keys))
	require.NoError(tm.t, err)
}

// answer types keys into a line prompt (input or confirm). Such a prompt
// asks for the cursor position twice before it reads the line, and survey
// reads each reply through a fresh buffered reader, losing whatever arrives
// in the same read after the reply. So the keys go in one write just before
// the second reply, where survey keeps them as typed-ahead input, and
// nothing else is in flight.
func (tm *terminal) answer(keys string) {
	tm.t.Helper()
	tm.expect(cursorRequest)
	tm.typeKeys(cursorReply)
	tm.expect(cursorRequest)
	tm.typeKeys(keys + cursorReply)
}

// wait waits for perfgen to exit and returns its exit code and output.
func (tm *terminal) wait() (int, string) {
	tm.t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- tm.cmd.Wait() }()
	var err error
	select {
	case err = <-exited:
	case <-time.After(hangGuard):
		tm.t.Fatalf("perfgen did not exit; output so far:\n%s", tm.output())
	}
	<-tm.done
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(tm.t, err)
	}
	return code, tm.output()
}

func (tm *terminal) output() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

// Keys as a terminal sends them.
const (
	keyEnter = "\r"
	keyUp    = "\x1b[A"
	keyDown  = "\x1b[B"
	keyLeft  = "\x1b[D"
	keyCtrlC = "\x03"
)

// TestNewPromptsOnATerminal answers every prompt of `perfgen new` through a
// real pseudo-terminal and checks the project and the printed equivalent
// command.
func TestNewPromptsOnATerminal(t *testing.T) {
	dir := t.TempDir()
	tm := startTerminal(t, dir, "new", "demo", "--no-tidy")

	tm.expect("Go module path")
	tm.expect("(example.com/demo)")
	tm.answer("github.com/acme/demo" + keyEnter)

	tm.expect("Output directory")
	tm.answer(keyEnter) // the default, ./demo

	tm.expect("Transport")
	tm.typeKeys(keyUp + keyEnter) // from both up to grpc

	tm.expect("Store")
	tm.typeKeys(keyDown + keyEnter) // from memory down to postgres

	tm.expect("Put a read-through cache in front of the store?")
	tm.answer("n" + keyEnter)

	tm.expect("Deployment outputs")
	// Select none, then docker and k8s.
	tm.typeKeys(keyLeft + " " + keyDown + keyDown + " " + keyEnter)

	tm.expect("Add a GitHub Actions CI workflow and a Dependabot config?")
	tm.answer(keyEnter) // the default, yes

	tm.expect("Use the default service-level objectives")
	tm.answer(keyEnter)

	tm.expect("To generate this project again without prompts:")
	tm.expect("perfgen new demo --module github.com/acme/demo --output ./demo --transport grpc --store postgres --cache=false " +
		"--upstream=false --deploy docker,k8s --ci=true --slo-p95-ms 100 --slo-rps 10000 --slo-rss-mib 512 --slo-cpu-percent 70 --slo-error-percent 0.1 --no-tidy")
	code, out := tm.wait()
	require.Equal(t, 0, code, "output:\n%s", out)
	assert.Contains(t, out, "created ./demo: ")
	assert.NotContains(t, out, "no terminal to prompt on")

	answers, err := os.ReadFile(filepath.Join(dir, "demo", ".perfgen.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(answers), "name: demo\nmodule: github.com/acme/demo\ntransport: grpc\nstore: postgres\ncache: false\nupstream: false\n"+
		"deploy:\n  - docker\n  - k8s\nci: true\n")
}

// TestNewCtrlCAtAPromptWritesNothing interrupts the first prompt.
func TestNewCtrlCAtAPromptWritesNothing(t *testing.T) {
	dir := t.TempDir()
	tm := startTerminal(t, dir, "new", "demo", "--no-tidy")
	tm.expect("Go module path")
	tm.answer(keyCtrlC)
	code, out := tm.wait()
	assert.Equal(t, 130, code, "output:\n%s", out)
	assert.Contains(t, out, "perfgen: interrupted; nothing was written")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}
