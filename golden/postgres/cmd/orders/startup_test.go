package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"example.com/orders/internal/pgtest"
)

func TestStartsWithoutTheDatabase(t *testing.T) {
	url := pgtest.NewDatabase(t)
	px := pgtest.StartProxy(t, pgtest.HostPort(t, url))
	px.Cut()
	httpAddr, adminAddr := startService(t, "-database-url", pgtest.WithHost(t, url, px.Addr()), "-db-migrate-wait", "1m")

	// Alive and serving, but not ready: the schema is not in.
	if code, body := get(t, "http://"+adminAddr+"/healthz"); code != http.StatusOK {
		t.Fatalf("admin /healthz with the database unreachable = %d %q, want 200", code, body)
	}
	if code, body := get(t, "http://"+adminAddr+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "schema") {
		t.Fatalf("admin /readyz with the database unreachable = %d %q, want 503 naming the schema", code, body)
	}

	px.Restore()
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, body := get(t, "http://"+adminAddr+"/readyz")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("admin /readyz 20s after the database came back = %d %q, want 200", code, body)
		}
	}
	resp, err := http.Post("http://"+httpAddr+"/v1/items", "application/json", strings.NewReader(`{"name":"after start","quantity":1}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST once ready = %d %s, want 200: the migrations did not go in", resp.StatusCode, body)
	}
}

func TestGivesUpWaitingForTheDatabase(t *testing.T) {
	url := pgtest.NewDatabase(t)
	px := pgtest.StartProxy(t, pgtest.HostPort(t, url))
	px.Cut()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{
		"-http-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0",
		"-database-url", pgtest.WithHost(t, url, px.Addr()), "-db-migrate-wait", "1s", "-shutdown-delay", "0s",
	}
	err := run(ctx, args, noEnv, io.Discard, io.Discard)
	if ctx.Err() != nil {
		t.Fatal("the service still runs a minute after its 1s db-migrate-wait")
	}
	if err == nil || !strings.Contains(err.Error(), "db-migrate-wait") {
		t.Fatalf("run = %v, want the migrations' error naming db-migrate-wait", err)
	}
}
