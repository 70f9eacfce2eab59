package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func noEnv(string) (string, bool) { return "", false }

func TestHealthcheck(t *testing.T) {
	status, readyStatus := http.StatusOK, http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.WriteHeader(status)
		case "/readyz":
			w.WriteHeader(readyStatus)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()

	// -ready probes readiness: alive but not ready fails it.
	if err := run(ctx, []string{"healthcheck", "-ready", "-addr", addr}, noEnv, io.Discard, io.Discard); err == nil {
		t.Fatal("instance not ready: healthcheck -ready succeeded")
	}
	readyStatus = http.StatusOK
	if err := run(ctx, []string{"healthcheck", "-ready", "-addr", addr}, noEnv, io.Discard, io.Discard); err != nil {
		t.Fatalf("ready instance: healthcheck -ready: %v", err)
	}

	if err := run(ctx, []string{"healthcheck", "-addr", addr}, noEnv, io.Discard, io.Discard); err != nil {
		t.Fatalf("healthy instance: %v", err)
	}
	status = http.StatusServiceUnavailable
	if err := run(ctx, []string{"healthcheck", "-addr", addr}, noEnv, io.Discard, io.Discard); err == nil {
		t.Fatal("unhealthy instance: healthcheck succeeded")
	}

	// The address also comes from the environment, as in the container.
	status = http.StatusOK
	env := func(k string) (string, bool) {
		if strings.HasSuffix(k, "ADMIN_ADDR") {
			return addr, true
		}
		return "", false
	}
	if err := run(ctx, []string{"healthcheck"}, env, io.Discard, io.Discard); err != nil {
		t.Fatalf("address from the environment: %v", err)
	}
}

func TestHealthcheckUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	if err := run(context.Background(), []string{"healthcheck", "-addr", addr, "-timeout", "500ms"}, noEnv, io.Discard, io.Discard); err == nil {
		t.Fatal("healthcheck of a closed port succeeded")
	}
}

func TestRunRejectsBadConfiguration(t *testing.T) {
	err := run(context.Background(), []string{"-admin-addr", "nowhere"}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "admin-addr") {
		t.Fatalf("run with a bad address: err = %v", err)
	}
	if err := run(context.Background(), []string{"-h"}, noEnv, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -h: err = %v, want flag.ErrHelp", err)
	}
}
