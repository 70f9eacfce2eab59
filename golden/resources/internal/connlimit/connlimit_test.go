package connlimit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCapForKeepsAReserve(t *testing.T) {
	for _, tt := range []struct {
		nofile uint64
		want   int
	}{
		{1024, 1024 - Reserve},
		{1 << 20, 1<<20 - 1<<20/10},
		{Reserve + 1, 1},
	} {
		if got, err := capFor(tt.nofile); err != nil || got != tt.want {
			t.Errorf("capFor(%d) = %d, %v; want %d", tt.nofile, got, err, tt.want)
		}
	}
	if _, err := capFor(Reserve); err == nil {
		t.Error("a file limit with nothing left after the reserve was accepted")
	}
	if n, err := FromFileLimit(); err != nil || n < 1 {
		t.Errorf("FromFileLimit() = %d, %v", n, err)
	}
	if _, err := New(0); err == nil {
		t.Error("a cap of 0 was accepted")
	}
}

// serve runs an HTTP server on a loopback listener within b, whose /slow
// handler waits for release.
func serve(t *testing.T, b *Budget, release <-chan struct{}) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(http.ResponseWriter, *http.Request) { <-release })
	mux.HandleFunc("GET /fast", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := &http.Server{Handler: mux, ConnState: b.ConnState, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(b.Listener(ln)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// get sends one keep-alive request on c and reads its status line.
func get(c net.Conn, path string) (string, error) {
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Status, nil
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitFor polls cond: connection state changes reach the Budget from the
// server's goroutines.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func TestRefusesPastTheCapWhenNothingIsIdle(t *testing.T) {
	b, _ := New(2)
	release := make(chan struct{})
	defer close(release)
	addr := serve(t, b, release)
	for range 2 {
		c := dial(t, addr)
		go func() { _, _ = get(c, "/slow") }() // busy until release
	}
	waitFor(t, "two requests are running", func() bool { return b.Open() == 2 })

	c := dial(t, addr) // the kernel accepts; the Budget closes it at once
	if _, err := get(c, "/fast"); err == nil {
		t.Fatal("a connection past the cap was served while both others were busy")
	}
	if b.refused.Load() != 1 || b.Open() != 2 {
		t.Fatalf("refused %d, open %d; want 1 and 2", b.refused.Load(), b.Open())
	}
}

func TestClosesAnIdleKeepAliveToMakeRoom(t *testing.T) {
	b, _ := New(2)
	addr := serve(t, b, nil)
	idle := []net.Conn{dial(t, addr), dial(t, addr)}
	for _, c := range idle {
		if _, err := get(c, "/fast"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both connections are idle", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.idle) == 2
	})

	if status, err := get(dial(t, addr), "/fast"); err != nil || status != "200 OK" {
		t.Fatalf("a new connection at the cap with two idle ones: %q, %v; want it served", status, err)
	}
	if b.idleClosed.Load() != 1 || b.refused.Load() != 0 {
		t.Fatalf("idle closed %d, refused %d; want 1 and 0", b.idleClosed.Load(), b.refused.Load())
	}
	// The closed one reads EOF (or a reset); the other stays open and its
	// read times out.
	var closed int
	for _, c := range idle {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		var ne net.Error
		if _, err := c.Read(make([]byte, 1)); err != nil && (!errors.As(err, &ne) || !ne.Timeout()) {
			closed++
		}
	}
	if closed != 1 {
		t.Fatalf("%d idle connections were closed; want exactly 1", closed)
	}
}

// TestFloodLeavesTheAdminPortAnswering opens ten times the cap of idle
// connections: the public port never holds more than the cap, and an admin
// server outside the Budget keeps answering its probe.
func TestFloodLeavesTheAdminPortAnswering(t *testing.T) {
	const limit = 20
	b, _ := New(limit)
	reg := prometheus.NewPedanticRegistry()
	if err := b.Register(reg); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, b, nil)

	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})}
	go func() { _ = admin.Serve(adminLn) }()
	defer admin.Close()

	var wg sync.WaitGroup
	var mu sync.Mutex
	served := 0
	for range 10 * limit {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer c.Close()
			if _, err := get(c, "/fast"); err == nil {
				mu.Lock()
				served++
				mu.Unlock()
			}
			if b.Open() > limit {
				t.Errorf("%d connections open past the cap of %d", b.Open(), limit)
			}
		})
	}
	wg.Wait()
	if served == 0 {
		t.Fatal("the flood was not served at all")
	}
	resp, err := http.Get("http://" + adminLn.Addr().String() + "/healthz")
	if err != nil {
		t.Fatalf("the admin port after the flood: %v", err)
	}
	resp.Body.Close()
	if b.refused.Load()+b.idleClosed.Load() == 0 {
		t.Error("a flood of ten times the cap neither refused a connection nor closed an idle one")
	}
	want := fmt.Sprintf("# HELP connections_limit Most public connections kept open at once.\n# TYPE connections_limit gauge\nconnections_limit %d\n", limit)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "connections_limit"); err != nil {
		t.Error(err)
	}
}
