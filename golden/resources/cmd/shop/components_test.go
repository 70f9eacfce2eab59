package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestUpstreamCallThroughTheBalancer(t *testing.T) {
	const item = `{"id":"00000000000000000000000000000001","name":"remote"}`
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
		case "/v1/items/00000000000000000000000000000001":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, item)
		default:
			http.NotFound(w, r)
		}
	}))
	defer upstream.Close()

	httpAddr, adminAddr := startRun(t, "-upstreams", upstream.URL, "-upstream-policy", "round-robin")
	code, body := get(t, "http://"+httpAddr+"/v1/upstream/items/00000000000000000000000000000001")
	if code != http.StatusOK || body != item {
		t.Fatalf("upstream call = %d %q, want 200 %q", code, body, item)
	}

	_, metrics := get(t, "http://"+adminAddr+"/metrics")
	for _, name := range []string{
		"shop_lb_picks_total",
		"shop_http_client_requests_total",
		"shop_limiter_shed_total",
		"shop_memory_heap_live_bytes",
		"shop_cache_hits_total",
	} {
		if !strings.Contains(metrics, "\n"+name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

// TestShedsPastTheConcurrencyLimit holds one request in a slow upstream
// with a limit of one: the next API request is shed with 503 and
// Retry-After, while the health probes and the admin port still answer.
func TestShedsPastTheConcurrencyLimit(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			return
		}
		entered <- struct{}{}
		<-release
		http.NotFound(w, r)
	}))
	defer upstream.Close()
	defer close(release)

	httpAddr, adminAddr := startRun(t, "-upstreams", upstream.URL, "-max-concurrency", "1")
	slow := make(chan int)
	go func() {
		// Not get: t.Fatal must not run outside the test's goroutine.
		resp, err := http.Get("http://" + httpAddr + "/v1/upstream/items/00000000000000000000000000000001")
		if err != nil {
			t.Error(err)
			slow <- 0
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	<-entered // the one admitted request is now held upstream

	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + httpAddr + "/v1/items/00000000000000000000000000000001")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("request past the limit = %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for _, url := range []string{"http://" + httpAddr + "/healthz", "http://" + adminAddr + "/metrics", "http://" + adminAddr + "/healthz"} {
		if code, _ := get(t, url); code != http.StatusOK {
			t.Errorf("GET %s under overload = %d, want 200: probes and the admin port are never shed", url, code)
		}
	}

	release <- struct{}{}
	if code := <-slow; code != http.StatusNotFound {
		t.Fatalf("held request = %d, want the upstream's 404", code)
	}
	if code, _ := get(t, "http://"+httpAddr+"/v1/items/00000000000000000000000000000001"); code != http.StatusNotFound {
		t.Fatalf("request after the overload = %d, want 404 (admitted; the item does not exist)", code)
	}
}

func TestUpstreamRouteOffByDefault(t *testing.T) {
	httpAddr, _ := startRun(t)
	if code, _ := get(t, "http://"+httpAddr+"/v1/upstream/items/00000000000000000000000000000001"); code != http.StatusNotFound {
		t.Fatalf("upstream route without upstreams = %d, want 404", code)
	}
}

func TestRunRejectsBadUpstreams(t *testing.T) {
	env := serviceEnv(t)
	for _, args := range [][]string{
		{"-upstreams", "http://127.0.0.1:1", "-upstream-policy", "fastest"},
		{"-upstreams", "127.0.0.1:1"},
	} {
		args = append([]string{"-http-addr", "127.0.0.1:0", "-grpc-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0"}, args...)
		if err := run(context.Background(), args, env, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "upstream") {
			t.Errorf("run %v: err = %v, want an upstream configuration error", args, err)
		}
	}
}
