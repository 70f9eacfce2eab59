package items_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/config"
	"example.com/shop/internal/items"
	"example.com/shop/internal/lb"
	"example.com/shop/internal/store/memory"
)

// newService returns a Service configured as the service runs it, cache
// included.
func newService(tb testing.TB) *items.Service {
	tb.Helper()
	timeout := config.Default().StoreTimeout
	c, err := cache.New(cache.Options[*items.Encoded]{MaxEntries: 10_000, TTL: time.Minute, LoadTimeout: timeout})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return items.NewService(memory.New(), items.WithStoreTimeout(timeout), items.WithCache(c))
}

func newAPI(tb testing.TB, svc *items.Service, opts items.HTTPOptions) http.Handler {
	tb.Helper()
	mux := http.NewServeMux()
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = maxBody
	}
	items.NewHTTPAPI(svc, slog.New(slog.NewTextHandler(io.Discard, nil)), opts).Register(mux)
	return mux
}

func TestGetServesTheEncodedItem(t *testing.T) {
	h := newAPI(t, newService(t), items.HTTPOptions{})
	created := decode[items.Item](t, do(t, h, http.MethodPost, "/v1/items", `{"name":"widget","quantity":3}`))
	for range 2 { // the second GET is a cache hit when the cache is on
		rec := do(t, h, http.MethodGet, "/v1/items/"+created.ID, "")
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("GET = %d %q, want 200 application/json", rec.Code, rec.Header().Get("Content-Type"))
		}
		if got := decode[items.Item](t, rec); got != created {
			t.Fatalf("GET = %+v, want %+v", got, created)
		}
	}
}

func TestBatchGetOverHTTP(t *testing.T) {
	h := newAPI(t, newService(t), items.HTTPOptions{})
	a := decode[items.Item](t, do(t, h, http.MethodPost, "/v1/items", `{"name":"a","quantity":1}`))
	b := decode[items.Item](t, do(t, h, http.MethodPost, "/v1/items", `{"name":"b","quantity":2}`))
	absent := items.NewID()
	body, _ := json.Marshal(map[string][]string{"ids": {b.ID, absent, a.ID}})

	rec := do(t, h, http.MethodPost, "/v1/items:batchGet", string(body))
	if rec.Code != http.StatusOK {
		t.Fatalf("batch get = %d %s", rec.Code, rec.Body)
	}
	got := decode[struct {
		Items   []items.Item `json:"items"`
		Missing []string     `json:"missing"`
	}](t, rec)
	if len(got.Items) != 2 || got.Items[0] != b || got.Items[1] != a {
		t.Fatalf("items = %+v, want b then a", got.Items)
	}
	if len(got.Missing) != 1 || got.Missing[0] != absent {
		t.Fatalf("missing = %v, want [%s]", got.Missing, absent)
	}

	tooMany, _ := json.Marshal(map[string][]string{"ids": make([]string, items.MaxBatch+1)})
	if rec := do(t, h, http.MethodPost, "/v1/items:batchGet", string(tooMany)); rec.Code != http.StatusBadRequest {
		t.Fatalf("batch of %d = %d, want 400", items.MaxBatch+1, rec.Code)
	}
}

// TestUpstreamGet runs two real instances on loopback and fetches an item
// held by them through the balanced upstream client.
func TestUpstreamGet(t *testing.T) {
	upstreamSvc := newService(t)
	it, err := upstreamSvc.Create(context.Background(), items.NewItem{Name: "remote", Quantity: 5})
	if err != nil {
		t.Fatal(err)
	}
	up1 := httptest.NewServer(newAPI(t, upstreamSvc, items.HTTPOptions{}))
	defer up1.Close()
	up2 := httptest.NewServer(newAPI(t, upstreamSvc, items.HTTPOptions{}))
	defer up2.Close()
	bal, err := lb.New([]lb.Target{{URL: up1.URL}, {URL: up2.URL}}, lb.Options{Policy: lb.RoundRobin})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: bal.Transport(http.DefaultTransport), Timeout: 5 * time.Second}
	h := newAPI(t, newService(t), items.HTTPOptions{Upstream: client})

	for range 2 {
		rec := do(t, h, http.MethodGet, "/v1/upstream/items/"+it.ID, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("upstream get = %d %s", rec.Code, rec.Body)
		}
		if got := decode[items.Item](t, rec); got != it {
			t.Fatalf("upstream get = %+v, want %+v", got, it)
		}
	}
	if rec := do(t, h, http.MethodGet, "/v1/upstream/items/"+items.NewID(), ""); rec.Code != http.StatusNotFound {
		t.Fatalf("upstream get of an unknown item = %d, want the upstream's 404", rec.Code)
	}
	up1.Close()
	up2.Close()
	rec := do(t, h, http.MethodGet, "/v1/upstream/items/"+it.ID, "")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("upstream get with every instance down = %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestUpstreamRouteIsOffWithoutUpstreams(t *testing.T) {
	h := newAPI(t, newService(t), items.HTTPOptions{})
	if rec := do(t, h, http.MethodGet, "/v1/upstream/items/"+items.NewID(), ""); rec.Code != http.StatusNotFound {
		t.Fatalf("upstream route without upstreams = %d, want 404", rec.Code)
	}
}

// BenchmarkGetItem measures GET /v1/items/{id}, the hot path: through the
// mux and handler into a recorder (what the handler itself costs and
// allocates), and through a real loopback server and client over HTTP/1.1
// and over h2c. Over h2c net/http runs each request on a new goroutine,
// with a small stack: what the handler's frames hold shows there.
func BenchmarkGetItem(b *testing.B) {
	svc := newService(b)
	it, err := svc.Create(context.Background(), items.NewItem{Name: "widget", Quantity: 3})
	if err != nil {
		b.Fatal(err)
	}
	h := newAPI(b, svc, items.HTTPOptions{})
	path := "/v1/items/" + it.ID

	b.Run("handler", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		rec := httptest.NewRecorder()
		b.ReportAllocs()
		for b.Loop() {
			rec.Body.Reset()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
	for _, h2c := range []bool{false, true} {
		name := "loopback"
		if h2c {
			name = "loopback-h2c"
		}
		b.Run(name, func(b *testing.B) { benchmarkLoopback(b, h, path, h2c) })
	}
}

// benchmarkLoopback sends GET path to h through a real loopback server,
// over HTTP/1.1 or, if h2c, cleartext HTTP/2 on one connection.
func benchmarkLoopback(b *testing.B, h http.Handler, path string, h2c bool) {
	srv := httptest.NewUnstartedServer(h)
	var protocols http.Protocols
	if h2c {
		protocols.SetUnencryptedHTTP2(true)
	} else {
		protocols.SetHTTP1(true)
	}
	srv.Config.Protocols = &protocols
	srv.Start()
	defer srv.Close()
	// The test server's own client, told which protocol to speak.
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.Protocols = &protocols
	client := &http.Client{Transport: tr}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(srv.URL + path)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
