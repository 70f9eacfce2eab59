package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"example.com/shop/internal/breaker"
	"example.com/shop/internal/items"
	"example.com/shop/internal/pgtest"
	"example.com/shop/internal/resource"
)

// TestBreakerStopsCallingAFailingDatabase puts a proxy that resets every
// connection between the store and Postgres. Once the breaker has seen
// enough failures, calls fail at once with ErrUnavailable and the
// connection attempts the proxy sees stop growing with them; when the proxy
// forwards again, the probes succeed and the breaker closes.
func TestBreakerStopsCallingAFailingDatabase(t *testing.T) {
	url := pgtest.NewDatabase(t)
	{
		direct, _ := openStore(t, testConfig(url))
		if _, err := Migrate(context.Background(), direct.Pool()); err != nil {
			t.Fatal(err)
		}
		direct.Close()
	}
	px := pgtest.StartProxy(t, pgtest.HostPort(t, url))
	cfg := testConfig(pgtest.WithHost(t, url, px.Addr()))
	// No connections but the calls': the pool's top-up would dial too.
	cfg.MinConns, cfg.MinIdleConns = 0, 0
	cfg.HealthCheckPeriod = time.Hour
	s, _ := openStore(t, cfg)
	// A shorter window than the default, so the test heals sooner.
	s.pool.breaker = breaker.New("postgres", breaker.Options{Window: 2 * time.Second, Buckets: 20})
	get := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := s.Get(ctx, items.NewID())
		return err
	}
	if err := get(); !errors.Is(err, items.ErrNotFound) {
		t.Fatalf("Get through the proxy = %v, want ErrNotFound", err)
	}

	px.Cut()
	// Until the breaker has seen MinRequests calls, each one dials.
	for i := 0; s.pool.breaker.RejectRatio() == 0; i++ {
		if i == 100 {
			t.Fatal("breaker still lets every call through after 100 failed calls")
		}
		if err := get(); !errors.Is(err, items.ErrUnavailable) {
			t.Fatalf("Get with connections reset = %v, want ErrUnavailable", err)
		}
	}

	const calls = 300
	before := px.Accepted()
	refused := 0
	for range calls {
		err := get()
		if !errors.Is(err, items.ErrUnavailable) || !errors.Is(err, resource.ErrUnavailable) {
			t.Fatalf("Get with the breaker open = %v, want ErrUnavailable", err)
		}
		if errors.Is(err, breaker.ErrOpen) {
			refused++
		}
	}
	dials := px.Accepted() - before
	t.Logf("breaker open: %d calls, %d refused locally, %d connection attempts", calls, refused, dials)
	// Probes (one per 500ms) and the odd draw under 1-ratio still dial;
	// without the breaker every call would.
	if dials > calls/10 {
		t.Errorf("%d calls made %d connection attempts with the breaker open, want at most %d", calls, dials, calls/10)
	}
	if refused < calls*9/10 {
		t.Errorf("%d of %d calls refused locally, want at least 90 %%", refused, calls)
	}

	px.Restore()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := get()
		if errors.Is(err, items.ErrNotFound) && s.pool.breaker.RejectRatio() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("breaker still refusing 15s after the database came back (ratio %.2f, last error %v)", s.pool.breaker.RejectRatio(), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBreakerIgnoresClientErrors makes the database reject many queries
// for the query's own sake, a missing row, a duplicate key, a NUL byte in
// text: none is the database failing, so nothing is ever refused.
func TestBreakerIgnoresClientErrors(t *testing.T) {
	s, _, _ := migratedStore(t)
	ctx := context.Background()
	it := items.Item{ID: items.NewID(), Name: "first", Quantity: 1, CreatedAt: time.Now().UTC()}
	if err := s.Create(ctx, it); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := s.Get(ctx, items.NewID()); !errors.Is(err, items.ErrNotFound) {
			t.Fatalf("Get %d = %v, want ErrNotFound", i, err)
		}
		if err := s.Create(ctx, it); err == nil || errors.Is(err, resource.ErrUnavailable) {
			t.Fatalf("duplicate Create %d = %v, want a client error", i, err)
		}
		nul := items.Item{ID: items.NewID(), Name: "a\x00b", Quantity: 1, CreatedAt: it.CreatedAt}
		if err := s.Create(ctx, nul); err == nil || errors.Is(err, resource.ErrUnavailable) {
			t.Fatalf("Create with a NUL byte %d = %v, want a client error", i, err)
		}
	}
	if r := s.pool.breaker.RejectRatio(); r != 0 {
		t.Errorf("breaker refuses %.2f of calls after client errors alone, want 0", r)
	}
	if n := s.pool.breaker.Refusals(); n != 0 {
		t.Errorf("breaker refused %d calls after client errors alone", n)
	}
}
