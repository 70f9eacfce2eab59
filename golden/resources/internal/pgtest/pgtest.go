// Package pgtest helps tests run against a real PostgreSQL server: each
// test gets an empty database of its own, created on the server
// DATABASE_URL names and dropped when the test ends, and a Proxy can stand
// between the code under test and the server to simulate an outage.
//
// Tests that call NewDatabase are skipped with a message when DATABASE_URL
// is unset, so `go test ./...` passes on a machine without Postgres.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URL returns DATABASE_URL, or skips the test when it is unset.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("DATABASE_URL")
	if u == "" {
		t.Skip("DATABASE_URL is not set: skipping a test that needs a real Postgres; " +
			"set it to a server the tests may create databases on, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	}
	return u
}

// NewDatabase creates an empty database for t on DATABASE_URL's server,
// drops it when t ends, and returns its connection string. Tests never
// touch the database DATABASE_URL itself names.
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to DATABASE_URL: %v; is Postgres up (pg_isready)?", err)
	}
	defer admin.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "shop_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create test database: %v; DATABASE_URL's user needs CREATEDB", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		// FORCE ends sessions a failed test left open.
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(t, base, name)
}

// withDatabase returns the connection string u with its database set to name.
func withDatabase(t testing.TB, u, name string) string {
	t.Helper()
	if !strings.Contains(u, "://") {
		return u + " dbname=" + name // keyword/value form: the last setting wins
	}
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatalf("DATABASE_URL is not a valid URL: %v", err)
	}
	parsed.Path = "/" + name
	return parsed.String()
}

// WithHost returns the URL u pointing at addr (host:port) instead of its
// own host, e.g. at a Proxy. It skips the test when u is not a URL.
func WithHost(t testing.TB, u, addr string) string {
	t.Helper()
	parsed := parseURL(t, u)
	parsed.Host = addr
	return parsed.String()
}

// HostPort returns the host:port the URL u connects to, port 5432 when it
// names none. It skips the test when u is not a URL.
func HostPort(t testing.TB, u string) string {
	t.Helper()
	parsed := parseURL(t, u)
	if parsed.Port() == "" {
		return net.JoinHostPort(parsed.Hostname(), "5432")
	}
	return parsed.Host
}

func parseURL(t testing.TB, u string) *url.URL {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil || parsed.Host == "" || strings.Contains(parsed.Host, ",") {
		t.Skip("this test needs DATABASE_URL as a postgres://host:port/db URL with one host, to put a proxy in front of it")
	}
	return parsed
}
