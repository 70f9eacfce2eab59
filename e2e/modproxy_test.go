package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"

	"github.com/perfgen/perfgen/generator"
)

// checkoutProxy is a file-system module proxy that serves this checkout as
// perfgen's module, so generated projects resolve their `tool` directive
// (and `go tool perfgen`) to the code under test, never to the network.
type checkoutProxy struct {
	// Dir is the proxy's root, for GOPROXY=file://Dir.
	Dir string
	// Version is the version it serves the checkout at: derived from the
	// checkout's content, so the module cache, which never refetches a
	// version, cannot hand a later run a stale copy.
	Version string
	// Env resolves perfgen from the proxy: it is consulted first, then the
	// usual proxy for every other module (which a warm module cache
	// answers without the network), and the checksum database is not asked
	// about a version only this proxy knows.
	Env []string
}

var (
	proxyOnce sync.Once
	proxy     checkoutProxy
	proxyErr  error
)

// localPerfgen builds the checkout proxy once per test binary.
func localPerfgen(t *testing.T) checkoutProxy {
	t.Helper()
	p, err := checkoutProxyOnce()
	require.NoError(t, err, "build the checkout's module proxy")
	return p
}

// checkoutProxyOnce is localPerfgen for code without a test at hand.
func checkoutProxyOnce() (checkoutProxy, error) {
	proxyOnce.Do(func() { proxy, proxyErr = buildCheckoutProxy() })
	return proxy, proxyErr
}

func buildCheckoutProxy() (checkoutProxy, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return checkoutProxy{}, err
	}
	// The zip names every file module@version/path, so hash a zip made at
	// a fixed version and serve another made at the version from its hash.
	var probe bytes.Buffer
	if err := zip.CreateFromDir(&probe, module.Version{Path: generator.PerfgenModule, Version: "v0.0.0-checkout"}, root); err != nil {
		return checkoutProxy{}, err
	}
	sum := sha256.Sum256(probe.Bytes())
	p := checkoutProxy{Version: "v0.0.0-checkout-" + hex.EncodeToString(sum[:6])}

	dir, err := os.MkdirTemp("", "perfgen-proxy-")
	if err != nil {
		return checkoutProxy{}, err
	}
	p.Dir = dir
	at := filepath.Join(dir, filepath.FromSlash(generator.PerfgenModule), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		return checkoutProxy{}, err
	}
	var z bytes.Buffer
	if err := zip.CreateFromDir(&z, module.Version{Path: generator.PerfgenModule, Version: p.Version}, root); err != nil {
		return checkoutProxy{}, err
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return checkoutProxy{}, err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{p.Version, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		return checkoutProxy{}, err
	}
	for name, data := range map[string][]byte{
		"list":              []byte(p.Version + "\n"),
		p.Version + ".info": info,
		p.Version + ".mod":  gomod,
		p.Version + ".zip":  z.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(at, name), data, 0o644); err != nil {
			return checkoutProxy{}, err
		}
	}
	upstream, err := exec.Command("go", "env", "GOPROXY").Output()
	fallback := strings.TrimSpace(string(upstream))
	if err != nil || fallback == "" {
		fallback = "off"
	}
	p.Env = []string{
		"GOPROXY=file://" + filepath.ToSlash(dir) + "," + fallback,
		"GONOSUMDB=" + generator.PerfgenModule,
		"GOFLAGS=-mod=mod",
	}
	return p, nil
}

// removeCheckoutProxy deletes the proxy, if one was built.
func removeCheckoutProxy() {
	if proxy.Dir != "" {
		_ = os.RemoveAll(proxy.Dir)
	}
}
