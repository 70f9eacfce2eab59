package deploycheck

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
)

// unitDirectives reads a systemd unit's [Service] section into name ->
// values (a directive may repeat).
func unitDirectives(t *testing.T, src []byte) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = line
		case section == "[Service]":
			k, v, ok := strings.Cut(line, "=")
			require.True(t, ok, "line %q", line)
			out[k] = append(out[k], v)
		}
	}
	require.NoError(t, sc.Err())
	return out
}

func TestSystemdUnit(t *testing.T) {
	p := defaultProject(t)
	data, err := generator.NewData(p.spec)
	require.NoError(t, err)
	unit := p.file(t, "deploy/systemd/demo.service")
	d := unitDirectives(t, unit)
	for k, v := range map[string]string{
		"LimitNOFILE":     "1048576",
		"NoNewPrivileges": "yes",
		"ProtectSystem":   "strict",
		"ProtectHome":     "yes",
		"PrivateTmp":      "yes",
		"DynamicUser":     "yes",
		"ExecStart":       "/usr/local/bin/demo",
	} {
		assert.Equal(t, []string{v}, d[k], k)
	}
	// Memory follows the SLO, and SIGKILL waits for the drain.
	assert.Equal(t, []string{fmt.Sprintf("%dM", data.SLO.RSSMiB)}, d["MemoryMax"])
	require.Len(t, d["TimeoutStopSec"], 1)
	stop, err := time.ParseDuration(d["TimeoutStopSec"][0])
	require.NoError(t, err)
	assert.Greater(t, stop, time.Duration(data.Deployment.ShutdownTimeoutSeconds)*time.Second,
		"systemd would SIGKILL the service mid-drain")
}

// TestSystemdAnalyze runs systemd's own verifier and its offline security
// review on the unit, pointing ExecStart at a real executable (this test
// binary) since the service's is not installed here.
func TestSystemdAnalyze(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian package systemd)")
	}
	self, err := os.Executable()
	require.NoError(t, err)
	unit := strings.ReplaceAll(string(defaultProject(t).file(t, "deploy/systemd/demo.service")),
		"ExecStart=/usr/local/bin/demo", "ExecStart="+self)
	name := filepath.Join(t.TempDir(), "demo.service")
	require.NoError(t, os.WriteFile(name, []byte(unit), 0o644))

	out, err := exec.Command(analyze, "verify", name).CombinedOutput()
	assert.NoError(t, err, "systemd-analyze verify:\n%s", out)
	assert.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify warns")

	// Exposure is scored 0 (locked down) to 10 (unprotected); the threshold
	// is in tenths.
	out, err = exec.Command(analyze, "security", "--offline=yes", "--threshold=20", name).CombinedOutput()
	assert.NoError(t, err, "systemd-analyze security: exposure above 2.0:\n%s", out)
}
