package postgres

import (
	"context"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/shop/internal/pgtest"
)

// testConfig is DefaultConfig for url with a small pool, so parallel test
// databases do not exhaust the server's connections.
func testConfig(url string) Config {
	cfg := DefaultConfig()
	cfg.URL = url
	cfg.MaxConns = 8
	cfg.MinConns = 1
	cfg.MinIdleConns = 1
	return cfg
}

// openStore opens a Store with cfg on a fresh registry and closes it when t
// ends. Warnings go to the test's output.
func openStore(t testing.TB, cfg Config) (*Store, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := Open(context.Background(), cfg, log, reg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s, reg
}

// migratedStore opens a Store on a new test database with the schema applied.
func migratedStore(t testing.TB) (*Store, *prometheus.Registry, string) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	s, reg := openStore(t, testConfig(url))
	if _, err := Migrate(context.Background(), s.Pool()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s, reg, url
}
