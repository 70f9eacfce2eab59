package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"example.com/shop/internal/config"
	"example.com/shop/internal/items"
	"example.com/shop/internal/metrics"
	"example.com/shop/internal/resource"
	"example.com/shop/internal/server"
	"example.com/shop/internal/store/memory"
)

// gatedStore blocks Get until release is closed, and panics on Get while
// panicking is set, so tests can hold a request in flight or crash one.
type gatedStore struct {
	*memory.Store
	entered   chan struct{}
	release   chan struct{}
	gate      atomic.Bool
	panicking atomic.Bool
}

func newGatedStore() *gatedStore {
	return &gatedStore{Store: memory.New(), entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (s *gatedStore) Get(ctx context.Context, id string) (items.Item, error) {
	if s.panicking.Load() {
		panic("store exploded")
	}
	if s.gate.Load() {
		s.entered <- struct{}{}
		<-s.release
	}
	return s.Store.Get(ctx, id)
}

type running struct {
	srv   *server.Server
	stop  context.CancelFunc
	done  chan struct{} // closed when Serve returns
	err   error         // what Serve returned; read after done
	store *gatedStore
}

func start(t testing.TB, mutate func(*config.Config), opts ...server.Option) *running {
	t.Helper()
	cfg := config.Default()
	cfg.AdminAddr = "127.0.0.1:0"
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	store := newGatedStore()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := items.NewService(store, items.WithStoreTimeout(cfg.StoreTimeout))
	srv := server.New(cfg, log, metrics.New(), []resource.Resource{items.Resource(svc, log, items.HTTPOptions{MaxBodyBytes: cfg.MaxBodyBytes})}, opts...)
	if err := srv.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	r := &running{srv: srv, stop: stop, done: make(chan struct{}), store: store}
	go func() {
		r.err = srv.Serve(ctx)
		close(r.done)
	}()
	t.Cleanup(func() {
		stop()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	waitReady(t, "http://"+srv.AdminAddr()+"/readyz")
	return r
}

func waitReady(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", url)
}

func get(t *testing.T, client *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp, string(body)
}

func TestAdminPort(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	admin := "http://" + r.srv.AdminAddr()
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/debug/pprof/"} {
		if resp, _ := get(t, http.DefaultClient, admin+path); resp.StatusCode != http.StatusOK {
			t.Errorf("admin %s: status %d, want 200", path, resp.StatusCode)
		}
	}
	_, body := get(t, http.DefaultClient, admin+"/metrics")
	for _, want := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestPublicPortServesHTTP1AndH2C(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	url := "http://" + r.srv.HTTPAddr() + "/healthz"

	resp, body := get(t, http.DefaultClient, url)
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 1 || body != "ok\n" {
		t.Fatalf("HTTP/1.1: %s %s %q", resp.Proto, resp.Status, body)
	}

	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: &protocols}}
	defer h2c.CloseIdleConnections()
	resp, body = get(t, h2c, url)
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || body != "ok\n" {
		t.Fatalf("h2c: %s %s %q", resp.Proto, resp.Status, body)
	}

	resp, _ = get(t, h2c, "http://"+r.srv.HTTPAddr()+"/v1/items?pageSize=1")
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Fatalf("h2c list: %s %s", resp.Proto, resp.Status)
	}

	// Requests are counted under the route pattern that served them.
	_, body = get(t, http.DefaultClient, "http://"+r.srv.AdminAddr()+"/metrics")
	for _, want := range []string{
		`route="GET /healthz"`,
		`{code="2xx",method="GET",route="GET /v1/items"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestPublicPortHidesAdminEndpoints(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap"} {
		if resp, _ := get(t, http.DefaultClient, "http://"+r.srv.HTTPAddr()+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("public %s: status %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestPanicIsAnswered500AndServingContinues(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	r.store.panicking.Store(true)
	resp, _ := get(t, http.DefaultClient, "http://"+r.srv.HTTPAddr()+"/v1/items/"+items.NewID())
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("panicking handler: status %d, want 500", resp.StatusCode)
	}
	r.store.panicking.Store(false)
	if resp, _ := get(t, http.DefaultClient, "http://"+r.srv.HTTPAddr()+"/healthz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after a panic: status %d, want 200", resp.StatusCode)
	}
	_, body := get(t, http.DefaultClient, "http://"+r.srv.AdminAddr()+"/metrics")
	if !strings.Contains(body, metrics.Namespace+"_panics_recovered_total 1") {
		t.Fatal("panic counter was not incremented")
	}
}

func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	r.store.gate.Store(true)
	type result struct {
		status int
		err    error
	}
	results := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + r.srv.HTTPAddr() + "/v1/items/" + items.NewID())
		if err != nil {
			results <- result{err: err}
			return
		}
		_, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		results <- result{status: resp.StatusCode, err: err}
	}()
	<-r.store.entered // the request is now inside the handler

	r.stop()
	// Shutdown closes the listener before it waits for in-flight requests.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + r.srv.HTTPAddr() + "/healthz")
		if err != nil {
			break
		}
		_ = resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections while shutting down")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-r.done:
		t.Fatalf("Serve returned (%v) before the in-flight request finished", r.err)
	default:
	}
	close(r.store.release)
	res := <-results
	if res.err != nil || res.status != http.StatusNotFound {
		t.Fatalf("in-flight request: status %d, err %v; want its full 404 answer", res.status, res.err)
	}
	<-r.done
	if r.err != nil {
		t.Fatalf("Serve: %v", r.err)
	}
}

func TestShutdownDeadlineCutsStuckRequests(t *testing.T) {
	t.Parallel()
	r := start(t, func(c *config.Config) { c.ShutdownTimeout = 200 * time.Millisecond })
	r.store.gate.Store(true)
	defer close(r.store.release)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + r.srv.HTTPAddr() + "/v1/items/" + items.NewID())
		if err == nil {
			_ = resp.Body.Close()
		}
		errc <- err
	}()
	<-r.store.entered
	r.stop()
	select {
	case <-r.done:
		if r.err != nil {
			t.Fatalf("Serve: %v", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its shutdown deadline")
	}
	if err := <-errc; err == nil {
		t.Fatal("a request stuck past the shutdown deadline got an answer; want its connection closed")
	}
}

func TestNotReadyWhileShuttingDown(t *testing.T) {
	t.Parallel()
	r := start(t, func(c *config.Config) { c.ShutdownDelay = 300 * time.Millisecond })
	r.stop()
	url := "http://" + r.srv.AdminAddr() + "/readyz"
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("admin port closed before reporting not-ready: %v", err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("/readyz never reported not-ready during the shutdown delay")
}
