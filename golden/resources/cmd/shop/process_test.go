package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"example.com/shop/internal/pgtest"
)

// serviceEnv is the environment the service runs with in these tests: DATABASE_URL names a database of the test's own, and the test is
// skipped when there is no Postgres to create it on.
func serviceEnv(t *testing.T) func(string) (string, bool) {
	url := pgtest.NewDatabase(t)
	return func(k string) (string, bool) {
		if k == "DATABASE_URL" {
			return url, true
		}
		return "", false
	}
}

// startRun runs the service on loopback ports the kernel picks, with extra
// arguments, waits until it is ready (its migrations are in), and returns the
// addresses it logged. The service stops when the test ends.
func startRun(t *testing.T, args ...string) (httpAddr, adminAddr string) {
	t.Helper()
	httpAddr, adminAddr = startService(t, args...)
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if code, _ := get(t, "http://"+adminAddr+"/readyz"); code == http.StatusOK {
			return httpAddr, adminAddr
		}
		if time.Now().After(end) {
			t.Fatal("the service did not become ready within 20s")
		}
	}
}

// startService is startRun without the wait for readiness: it returns as
// soon as the service listens.
func startService(t *testing.T, args ...string) (httpAddr, adminAddr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs, logw := io.Pipe()
	env := serviceEnv(t)
	done := make(chan error, 1)
	go func() {
		args := append([]string{"-http-addr", "127.0.0.1:0", "-grpc-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0"}, args...)
		done <- run(ctx, args, env, logw, io.Discard)
		logw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	addrs := map[string]string{}
	sc := bufio.NewScanner(logs)
	for (addrs["http"] == "" || addrs["admin"] == "") && sc.Scan() {
		var line struct{ Msg, Server, Addr string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
			addrs[line.Server] = line.Addr
		}
	}
	if addrs["http"] == "" || addrs["admin"] == "" {
		err := <-done
		done <- err // for the cleanup, which waits for run too
		t.Fatalf("service stopped before listening: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, logs) }()
	return addrs["http"], addrs["admin"]
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}
