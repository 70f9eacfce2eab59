package deploycheck

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
)

// confSetting is one "key = value" line of a sysctl drop-in and the comment
// line above it.
type confSetting struct {
	key, value, why string
}

func parseSysctlConf(t *testing.T, src []byte) []confSetting {
	t.Helper()
	var out []confSetting
	var prev string
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "#"):
		default:
			k, v, ok := strings.Cut(line, "=")
			require.True(t, ok, "line %q: want key = value", line)
			out = append(out, confSetting{key: strings.TrimSpace(k), value: strings.Join(strings.Fields(v), " "), why: prev})
		}
		prev = line
	}
	require.NoError(t, sc.Err())
	return out
}

func TestSysctlConf(t *testing.T) {
	p := defaultProject(t)
	data, err := generator.NewData(p.spec)
	require.NoError(t, err)
	settings := parseSysctlConf(t, p.file(t, "deploy/sysctl/99-demo.conf"))
	require.Len(t, settings, len(data.Deployment.Sysctls))
	seen := map[string]bool{}
	for i, s := range settings {
		assert.False(t, seen[s.key], "%s set twice", s.key)
		seen[s.key] = true
		assert.True(t, strings.HasPrefix(s.why, "# ") && len(s.why) > 10, "%s has no comment saying why", s.key)
		assert.Equal(t, data.Deployment.Sysctls[i].Key, s.key)
		assert.Equal(t, data.Deployment.Sysctls[i].Value, s.value)
	}
	// The seed's knobs, network and memory.
	for _, k := range []string{
		"net.core.rmem_max", "net.core.wmem_max", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
		"net.core.netdev_max_backlog", "net.ipv4.tcp_congestion_control",
		"vm.swappiness", "vm.dirty_ratio", "vm.dirty_background_ratio",
	} {
		assert.True(t, seen[k], "missing the seed's %s", k)
	}
	// Every pod sysctl is one of these, with the same value.
	for _, ps := range data.Deployment.PodSysctls {
		assert.True(t, seen[ps.Key], "pod sysctl %s is not in the node drop-in", ps.Key)
	}
}

// tuneEnv is a rendered project and a fake root for tune.sh to act on.
type tuneEnv struct {
	script, conf string
	settings     []confSetting
}

func newTuneEnv(t *testing.T) tuneEnv {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	p := defaultProject(t)
	dir := t.TempDir()
	p.writeTo(t, dir)
	return tuneEnv{
		script:   filepath.Join(dir, "deploy/sysctl/tune.sh"),
		conf:     filepath.Join(dir, "deploy/sysctl/99-demo.conf"),
		settings: parseSysctlConf(t, p.file(t, "deploy/sysctl/99-demo.conf")),
	}
}

// fakeRoot makes a root whose proc/sys has every key of the drop-in, set to
// kernel-like defaults (fields separated by tabs), and the given congestion
// control algorithms.
func (e tuneEnv) fakeRoot(t *testing.T, congestion string) string {
	t.Helper()
	root := t.TempDir()
	for _, s := range e.settings {
		name := filepath.Join(root, "proc/sys", strings.ReplaceAll(s.key, ".", "/"))
		require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
		fields := strings.Fields(s.value)
		for i := range fields {
			fields[i] = "1"
		}
		require.NoError(t, os.WriteFile(name, []byte(strings.Join(fields, "\t")+"\n"), 0o644))
	}
	avail := filepath.Join(root, "proc/sys/net/ipv4/tcp_available_congestion_control")
	require.NoError(t, os.WriteFile(avail, []byte(congestion+"\n"), 0o644))
	return root
}

// setProc writes the wanted values into root's proc/sys, as sysctl --system
// would on a real host.
func (e tuneEnv) setProc(t *testing.T, root string) {
	t.Helper()
	for _, s := range e.settings {
		name := filepath.Join(root, "proc/sys", strings.ReplaceAll(s.key, ".", "/"))
		require.NoError(t, os.WriteFile(name, []byte(strings.ReplaceAll(s.value, " ", "\t")+"\n"), 0o644))
	}
}

// run runs tune.sh and returns its exit code, stdout and stderr.
func (e tuneEnv) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{e.script}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, stdout.String(), stderr.String()
}

// snapshot records every file under root: content, mode and modification
// time, so a run that rewrites a file with the same bytes still shows.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		entry := fmt.Sprintf("%v %d", info.Mode(), info.ModTime().UnixNano())
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			entry += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		out[p] = entry
		return nil
	}))
	return out
}

func TestTuneShellcheck(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck not installed (apt-get install -y shellcheck)")
	}
	e := newTuneEnv(t)
	out, err := exec.Command(shellcheck, "--shell=bash", "--severity=style", e.script).CombinedOutput()
	assert.NoError(t, err, "shellcheck tune.sh:\n%s", out)
}

func TestTuneApplyIsIdempotent(t *testing.T) {
	e := newTuneEnv(t)
	root := e.fakeRoot(t, "reno cubic bbr")
	dropIn := filepath.Join(root, "etc/sysctl.d/99-demo.conf")
	limits := filepath.Join(root, "etc/security/limits.d/99-demo.conf")

	before := snapshot(t, root)
	code, stdout, stderr := e.run(t, "--dry-run", "--root", root, "apply")
	require.Zero(t, code, "dry run: %s", stderr)
	assert.Contains(t, stdout, "would write "+dropIn)
	assert.Equal(t, before, snapshot(t, root), "--dry-run changed files")

	code, stdout, stderr = e.run(t, "--root", root, "apply")
	require.Zero(t, code, "apply: %s", stderr)
	assert.Contains(t, stdout, "wrote       "+dropIn)
	installed := parseSysctlConf(t, readFile(t, dropIn))
	assert.Equal(t, e.settings, installed, "the drop-in must hold every setting, BBR included")
	assert.Contains(t, string(readFile(t, limits)), "* hard nofile 1048576")
	for _, f := range []string{dropIn, limits} {
		info, err := os.Stat(f)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o644), info.Mode().Perm(), f)
	}
	assert.NoFileExists(t, filepath.Join(root, "etc/sysctl.conf"), "tune.sh must never touch /etc/sysctl.conf")
	assert.NoFileExists(t, filepath.Join(root, "etc/modules-load.d/demo.conf"), "BBR is built in here; nothing to load")

	after := snapshot(t, root)
	code, stdout, stderr = e.run(t, "--root", root, "apply")
	require.Zero(t, code, "second apply: %s", stderr)
	assert.Equal(t, after, snapshot(t, root), "the second apply changed files")
	assert.Contains(t, stdout, "unchanged   "+dropIn)
	assert.Contains(t, stdout, "nothing to change")

	// check compares the running values: different until they are loaded.
	code, stdout, _ = e.run(t, "--root", root, "check")
	assert.Equal(t, 1, code, "check must fail while values differ:\n%s", stdout)
	assert.Contains(t, stdout, "differs")
	e.setProc(t, root)
	code, stdout, _ = e.run(t, "--root", root, "check")
	assert.Zero(t, code, "check after loading:\n%s", stdout)
	assert.NotContains(t, stdout, "differs")
}

func TestTuneRejectsBadSettings(t *testing.T) {
	e := newTuneEnv(t)
	for name, extra := range map[string]string{
		"unknown key": "net.ipv4.no_such_knob = 1",
		"bad value":   "vm.swappiness = 10; reboot",
		"not a pair":  "vm.swappiness",
	} {
		t.Run(name, func(t *testing.T) {
			root := e.fakeRoot(t, "reno cubic bbr")
			conf := filepath.Join(t.TempDir(), "99-demo.conf")
			// The bad line comes last: nothing before it may be applied.
			require.NoError(t, os.WriteFile(conf, append(readFile(t, e.conf), []byte(extra+"\n")...), 0o644))
			before := snapshot(t, root)
			code, _, stderr := e.run(t, "--root", root, "--conf", conf, "apply")
			assert.Equal(t, 2, code, "stderr: %s", stderr)
			assert.Contains(t, stderr, "nothing was changed")
			assert.Equal(t, before, snapshot(t, root))
		})
	}
}

func TestTuneSkipsMissingBBR(t *testing.T) {
	e := newTuneEnv(t)
	root := e.fakeRoot(t, "reno cubic")
	code, _, stderr := e.run(t, "--root", root, "apply")
	require.Zero(t, code, stderr)
	assert.Contains(t, stderr, "BBR is not available")
	installed := parseSysctlConf(t, readFile(t, filepath.Join(root, "etc/sysctl.d/99-demo.conf")))
	for _, s := range installed {
		assert.NotEqual(t, "net.ipv4.tcp_congestion_control", s.key, "BBR chosen on a kernel without it")
	}
	assert.Len(t, installed, len(e.settings)-1)
}

// TestTuneNeedsRoot runs apply against the real root as an unprivileged
// user: it must stop before changing anything and say why.
func TestTuneNeedsRoot(t *testing.T) {
	e := newTuneEnv(t)
	args := []string{"bash", e.script, "apply"}
	if os.Geteuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("running as root and setpriv (util-linux) is not installed to drop privileges")
		}
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Skip("no user nobody to drop privileges to")
		}
		args = append([]string{setpriv, "--reuid=" + nobody.Uid, "--regid=" + nobody.Gid, "--clear-groups"}, args...)
		// nobody must be able to reach the script: open up the temporary
		// directories above it (the test's own, removed after it).
		for dir := filepath.Dir(e.script); strings.HasPrefix(dir, os.TempDir()+string(filepath.Separator)); dir = filepath.Dir(dir) {
			require.NoError(t, os.Chmod(dir, 0o755))
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "apply as non-root succeeded:\n%s", out)
	assert.Equal(t, 2, ee.ExitCode())
	assert.Contains(t, string(out), "needs root")
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return b
}
