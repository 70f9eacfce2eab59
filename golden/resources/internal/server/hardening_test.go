package server_test

import (
	"bytes"
	"context"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"example.com/shop/internal/config"
	"example.com/shop/internal/items"
	"example.com/shop/internal/metrics"
	"example.com/shop/internal/resource"
	"example.com/shop/internal/server"
)

// The robustness suite attacks a real server over loopback, the way a
// hostile or broken client would, and checks that each protection holds.
// Every wait is bounded by a generous multiple of the protection's own limit,
// so the suite is not flaky on a loaded machine. Each test starts its own
// server on its own loopback ports, with its own store and metrics
// registry, so the tests run in parallel: most of their time is waiting out
// a timeout.

// slack is added to every time-based protection's own limit before a test
// calls it broken.
const slack = 5 * time.Second

// storeMode decides what probeStore.Get does.
type storeMode int32

const (
	// answerNotFound answers at once: there are no items.
	answerNotFound storeMode = iota
	// waitForCancel blocks until the request's context ends, like a slow
	// query that honors cancellation.
	waitForCancel
	// holdIgnoringContext blocks until the test releases it, like a handler
	// that ignores cancellation: the worst case for stream limits.
	holdIgnoringContext
)

// panicID makes probeStore.Get panic.
const panicID = "deadbeefdeadbeefdeadbeefdeadbeef"

// probeStore is an items.Store that records how often and how concurrently
// Get runs, and can block or panic on demand. It keeps no items.
type probeStore struct {
	mode    atomic.Int32
	calls   atomic.Int64
	running atomic.Int64
	peak    atomic.Int64
	entered chan struct{} // one value per Get, dropped when nobody listens
	ctxErr  chan error    // the context error waitForCancel saw
	release chan struct{} // closed to let holdIgnoringContext return
	once    sync.Once
}

func newProbeStore(mode storeMode) *probeStore {
	s := &probeStore{
		entered: make(chan struct{}, 1024),
		ctxErr:  make(chan error, 1024),
		release: make(chan struct{}),
	}
	s.mode.Store(int32(mode))
	return s
}

// releaseAll lets every held Get return, now and later.
func (s *probeStore) releaseAll() { s.once.Do(func() { close(s.release) }) }

func (s *probeStore) Get(ctx context.Context, id string) (items.Item, error) {
	s.calls.Add(1)
	n := s.running.Add(1)
	defer s.running.Add(-1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	select {
	case s.entered <- struct{}{}:
	default:
	}
	if id == panicID {
		panic("probe store: asked to panic")
	}
	switch storeMode(s.mode.Load()) {
	case waitForCancel:
		<-ctx.Done()
		s.ctxErr <- ctx.Err()
		return items.Item{}, ctx.Err()
	case holdIgnoringContext:
		<-s.release
	}
	return items.Item{}, items.ErrNotFound
}

func (s *probeStore) Create(context.Context, items.Item) error { return nil }

func (s *probeStore) List(context.Context, string, int) ([]items.Item, error) { return nil, nil }

func (s *probeStore) Update(context.Context, string, items.NewItem) (items.Item, error) {
	return items.Item{}, items.ErrNotFound
}

func (s *probeStore) Delete(context.Context, string) error { return items.ErrNotFound }

func (s *probeStore) Ping(context.Context) error { return nil }

// target is a server under attack.
type target struct {
	cfg     config.Config
	srv     *server.Server
	metrics *metrics.Metrics
	store   *probeStore
	client  *http.Client // HTTP/1.1, closed with the server
}

// startTarget serves store with the default configuration changed by mutate,
// and the given components, on loopback ports, until the test ends.
func startTarget(t *testing.T, store *probeStore, mutate func(*config.Config), opts ...server.Option) *target {
	t.Helper()
	cfg := config.Default()
	cfg.AdminAddr = "127.0.0.1:0"
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	// The suite serves from its own store; the URL only satisfies validation
	// and is never dialled.
	cfg.Database.URL = "postgres://unused@127.0.0.1:1/unused"
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	m := metrics.New()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := items.NewService(store, items.WithStoreTimeout(cfg.StoreTimeout))
	srv := server.New(cfg, log, m, []resource.Resource{items.Resource(svc, log, items.HTTPOptions{MaxBodyBytes: cfg.MaxBodyBytes})}, opts...)
	if err := srv.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	tg := &target{cfg: cfg, srv: srv, metrics: m, store: store, client: &http.Client{Transport: &http.Transport{}}}
	t.Cleanup(func() {
		tg.client.CloseIdleConnections()
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not stop")
		}
	})
	waitReady(t, "http://"+srv.AdminAddr()+"/readyz")
	return tg
}

// statusOf answers a request with client and returns its status code.
func statusOf(t *testing.T, client *http.Client, method, url string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestAdminListenerDefaultsToLoopbackAndIsConfigurable(t *testing.T) {
	t.Parallel()
	host, _, err := net.SplitHostPort(config.Default().AdminAddr)
	if err != nil {
		t.Fatalf("default admin address: %v", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Fatalf("default admin address %q is not loopback: /metrics and pprof would be reachable from the network", config.Default().AdminAddr)
	}
	noEnv := func(name string) (string, bool) {
		if name == "DATABASE_URL" {
			return "postgres://unused@127.0.0.1:1/unused", true // validated, never dialled
		}
		return "", false
	}
	cfg, err := config.Load([]string{"-admin-addr", "127.0.0.2:0"}, noEnv, io.Discard)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	tg := startTarget(t, newProbeStore(answerNotFound), func(c *config.Config) { c.AdminAddr = cfg.AdminAddr })
	if host, _, _ := net.SplitHostPort(tg.srv.AdminAddr()); host != "127.0.0.2" {
		t.Fatalf("admin listener bound to %s, want the configured 127.0.0.2", tg.srv.AdminAddr())
	}
}

// defaultMuxProbe is registered on http.DefaultServeMux once per process,
// however often the test runs (-count).
const defaultMuxProbe = "/default-serve-mux-probe"

var registerProbe sync.Once

func TestNoListenerUsesDefaultServeMux(t *testing.T) {
	t.Parallel()
	// Anything a dependency registers on http.DefaultServeMux (as
	// net/http/pprof does) must stay unreachable.
	registerProbe.Do(func() {
		http.HandleFunc(defaultMuxProbe, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	})
	tg := startTarget(t, newProbeStore(answerNotFound), nil)
	addrs := map[string]string{"admin": tg.srv.AdminAddr()}
	addrs["public"] = tg.srv.HTTPAddr()
	for name, addr := range addrs {
		if got := statusOf(t, tg.client, http.MethodGet, "http://"+addr+defaultMuxProbe); got != http.StatusNotFound {
			t.Errorf("%s port answered %d for a DefaultServeMux route, want 404", name, got)
		}
	}
}

func TestNothingImportsDeprecatedH2C(t *testing.T) {
	t.Parallel()
	// http.Server.Protocols serves cleartext HTTP/2 itself; x/net/http2/h2c
	// is deprecated and bypasses the server's HTTP/2 limits.
	root := moduleRoot(t)
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "vendor" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "golang.org/x/net/http2/h2c" {
				t.Errorf("%s imports the deprecated %s", fset.Position(imp.Pos()), p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking the module: %v", err)
	}
	if files < 10 {
		t.Fatalf("parsed only %d Go files under %s; is that the module root?", files, root)
	}
}

// moduleRoot returns the directory holding go.mod, above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// rawH2C is a hand-driven cleartext HTTP/2 connection, for sending what a
// well-behaved client never would.
type rawH2C struct {
	conn     net.Conn
	fr       *http2.Framer
	enc      *hpack.Encoder
	encBuf   bytes.Buffer
	settings map[http2.SettingID]uint32
	// frames receives every frame read after the handshake; it is closed
	// when the connection fails or closes.
	frames chan readFrame
}

// readFrame is a frame the reader goroutine read. A Framer's frame is valid
// only until its next ReadFrame, and a GOAWAY's debug data points into the
// Framer's buffer, so the reader copies it out before reading on.
type readFrame struct {
	http2.Frame
	// goAwayDebug is a GOAWAY's debug data.
	goAwayDebug string
}

// dialH2C opens a connection, exchanges SETTINGS and starts reading frames.
func dialH2C(t *testing.T, addr string) *rawH2C {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := &rawH2C{conn: conn, fr: http2.NewFramer(conn, conn), settings: map[http2.SettingID]uint32{}, frames: make(chan readFrame, 4096)}
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.encBuf)
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := c.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(slack))
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the server's SETTINGS: %v", err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			_ = sf.ForeachSetting(func(s http2.Setting) error {
				c.settings[s.ID] = s.Val
				return nil
			})
			break
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
	if err := c.fr.WriteSettingsAck(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.frames)
		for {
			f, err := c.fr.ReadFrame()
			if err != nil {
				return
			}
			rf := readFrame{Frame: f}
			if ga, ok := f.(*http2.GoAwayFrame); ok {
				rf.goAwayDebug = string(ga.DebugData())
			}
			select {
			case c.frames <- rf:
			default: // nobody is looking; drop it
			}
		}
	}()
	return c
}

// block encodes a header block.
func (c *rawH2C) block(fields ...string) []byte {
	c.encBuf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		_ = c.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return bytes.Clone(c.encBuf.Bytes())
}

// awaitGoAway waits for a GOAWAY frame and then for the connection to
// close, and returns the GOAWAY's error code and debug data.
func (c *rawH2C) awaitGoAway(t *testing.T) (http2.ErrCode, string) {
	t.Helper()
	timeout := time.After(slack)
	var code http2.ErrCode
	var debug string
	seen := false
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				if !seen {
					t.Fatal("connection closed without GOAWAY")
				}
				return code, debug
			}
			if ga, isGoAway := f.Frame.(*http2.GoAwayFrame); isGoAway && !seen {
				code, debug, seen = ga.ErrCode, f.goAwayDebug, true
			}
		case <-timeout:
			t.Fatalf("no GOAWAY and close within %s (GOAWAY seen: %t)", slack, seen)
		}
	}
}
