package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	shopv1 "example.com/shop/api/proto/shop/v1"
	"example.com/shop/internal/config"
	"example.com/shop/internal/items"
	"example.com/shop/internal/metrics"
	"example.com/shop/internal/pgtest"
	"example.com/shop/internal/resource"
	"example.com/shop/internal/server"
	"example.com/shop/internal/store/postgres"
)

// TestDatabaseOutage serves over real listeners from a real Postgres behind
// a proxy, cuts and stalls the proxy, and checks what clients see:
// readiness drops, requests fail fast with 503 within the store timeout, the
// service recovers without a restart, and no acknowledged write is lost.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	px := pgtest.StartProxy(t, pgtest.HostPort(t, url))

	const storeTimeout = time.Second
	// A call may return this long past the store timeout before it counts
	// as hung: room for a loaded machine, far below any timeout that hangs.
	const grace = 1500 * time.Millisecond
	cfg := config.Default()
	cfg.AdminAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.StoreTimeout = storeTimeout
	cfg.Database.URL = pgtest.WithHost(t, url, px.Addr())
	cfg.Database.MaxConns, cfg.Database.MinConns, cfg.Database.MinIdleConns = 8, 2, 2
	cfg.Database.HealthCheckPeriod = 200 * time.Millisecond
	cfg.Database.ConnectTimeout = 5 * time.Second // longer than the store timeout+grace, so waiting for it fails the test
	cfg.Database.PingTimeout = 500 * time.Millisecond

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New()
	store, err := postgres.Open(context.Background(), cfg.Database, log, m.Registry)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Migrate(context.Background(), store.Pool()); err != nil {
		t.Fatal(err)
	}
	// Registered as main registers it, cache in front and its
	// listener behind the proxy too: misses must still fail fast.
	set := resource.NewSet(resource.Deps{Settings: cfg.ResourceSettings(), Log: log, Metrics: m, Registerer: m.Registry})
	t.Cleanup(set.Close)
	if err := items.Register(set, store); err != nil {
		t.Fatal(err)
	}
	listener, err := store.Listen(set.Caches, log, m.Registry)
	if err != nil {
		t.Fatal(err)
	}
	set.OnClose(listener.Close)
	srv := server.New(cfg, log, m, set.Resources())
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		store.Close()
	})
	cc, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	rpc := shopv1.NewItemsServiceClient(cc)
	// grpcGet reads an ID no cache holds; the client waits past the store
	// timeout, so the server's answer is what it sees.
	grpcGet := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout+grace)
		defer cancel()
		_, err := rpc.GetItem(ctx, &shopv1.GetItemRequest{Id: items.NewID()})
		return err
	}

	api := "http://" + srv.HTTPAddr() + "/v1/items"
	readyz := "http://" + srv.AdminAddr() + "/readyz"
	client := &http.Client{Timeout: 10 * time.Second}

	var mu sync.Mutex
	var acked []string
	var late []string
	// do sends one request and notes it if it outlived the store timeout.
	do := func(method, url, body string) (int, http.Header, string) {
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return 0, nil, ""
		}
		start := time.Now()
		resp, err := client.Do(req)
		if took := time.Since(start); took > storeTimeout+grace {
			mu.Lock()
			late = append(late, method+" "+url+" took "+took.String())
			mu.Unlock()
		}
		if err != nil {
			t.Errorf("%s %s: %v", method, url, err) // the client gives up only after 10s
			return 0, nil, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	create := func() (int, string) {
		code, _, body := do(http.MethodPost, api, `{"name":"order","quantity":"1"}`)
		var it items.Item
		if code == http.StatusOK {
			if err := json.Unmarshal([]byte(body), &it); err != nil {
				t.Errorf("200 with a body that is not an item: %q", body)
			}
		}
		return code, it.ID
	}
	waitStatus := func(url string, want int) {
		t.Helper()
		for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if code, _, _ := do(http.MethodGet, url, ""); code == want {
				return
			}
		}
		t.Fatalf("GET %s never answered %d within 15s", url, want)
	}

	waitStatus(readyz, http.StatusOK)
	code, id := create()
	if code != http.StatusOK {
		t.Fatalf("POST before the outage = %d, want 200", code)
	}
	acked = append(acked, id)

	// Writers keep going through the outage; only 200s count as written.
	stopWriters := make(chan struct{})
	var writers sync.WaitGroup
	var failed, unexpected int
	haltWriters := sync.OnceFunc(func() {
		close(stopWriters)
		writers.Wait()
	})
	t.Cleanup(haltWriters) // also when the test fails early
	for range 3 {
		writers.Go(func() {
			for {
				select {
				case <-stopWriters:
					return
				case <-time.After(10 * time.Millisecond):
				}
				code, id := create()
				mu.Lock()
				switch code {
				case http.StatusOK:
					acked = append(acked, id)
				case http.StatusServiceUnavailable:
					failed++
				default:
					unexpected++
				}
				mu.Unlock()
			}
		})
	}

	// Probes read IDs no cache can hold, so each one needs the database.
	check503 := func(phase string) {
		t.Helper()
		code, header, body := do(http.MethodGet, api+"/"+items.NewID(), "")
		if code != http.StatusServiceUnavailable || header.Get("Retry-After") == "" {
			t.Errorf("%s: GET = %d %q (Retry-After %q), want 503 with Retry-After", phase, code, body, header.Get("Retry-After"))
		}
	}

	px.Cut()
	waitStatus(readyz, http.StatusServiceUnavailable)
	check503("connections refused")
	wantCode(t, grpcGet(), codes.Unavailable)
	// The gRPC health service polls readiness, so it follows within one
	// interval.
	watchHealth(t, cc, "").wait(t, healthpb.HealthCheckResponse_NOT_SERVING)

	px.Stall()
	waitStatus(readyz, http.StatusServiceUnavailable)
	check503("network stalled")

	px.Restore()
	waitStatus(readyz, http.StatusOK)
	watchHealth(t, cc, "").wait(t, healthpb.HealthCheckResponse_SERVING)
	wantCode(t, grpcGet(), codes.NotFound)
	waitStatus(api+"/"+id, http.StatusOK)
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= before+5 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("writes did not succeed again within 10s of the database's return")
		}
	}
	haltWriters()

	if failed == 0 {
		t.Error("no write was answered 503 during the outage")
	}
	if unexpected > 0 {
		t.Errorf("%d writes were answered neither 200 nor 503", unexpected)
	}
	if len(late) > 0 {
		t.Errorf("requests outlived the %s store timeout by more than %s:\n%s", storeTimeout, grace, strings.Join(late, "\n"))
	}
	for _, id := range acked {
		// The store's breaker refuses a falling share of calls for up to
		// its window after the outage: a 503 is asked again, anything but
		// 200 after that is a lost write.
		code, body := 0, ""
		for end := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			code, _, body = do(http.MethodGet, api+"/"+id, "")
			if code != http.StatusServiceUnavailable || time.Now().After(end) {
				break
			}
		}
		if code != http.StatusOK {
			t.Errorf("acknowledged item %s: GET = %d %s; the write was lost", id, code, body)
		}
	}
	t.Logf("%d writes acknowledged and kept, %d answered 503 during the outage", len(acked), failed)
}
