package postgres

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/items"
	"example.com/shop/internal/pgtest"
	"example.com/shop/internal/resource"
)

// replica is what one process of the service holds: its own pool, cache,
// Service and listener on a database that other replicas share.
type replica struct {
	store    *Store
	cache    *cache.Cache[*items.Encoded]
	caches   *resource.Caches
	svc      *items.Service
	listener *Listener
}

// newReplica opens a replica on url whose listener connects to listenURL
// (url itself when empty), and waits until its cache is trusted.
func newReplica(t *testing.T, url, listenURL string) *replica {
	t.Helper()
	s, _ := openStore(t, testConfig(url))
	c, err := cache.New(cache.Options[*items.Encoded]{MaxEntries: 1000, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	r := &replica{store: s, cache: c, caches: resource.NewCaches()}
	if err := r.caches.Add("items", c); err != nil {
		t.Fatal(err)
	}
	r.svc = items.NewService(s, items.WithCache(c))
	if listenURL == "" {
		listenURL = url
	}
	lc, err := pgx.ParseConfig(listenURL)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	if r.listener, err = newListener(lc, time.Second, r.caches, log, prometheus.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	r.listener.start()
	t.Cleanup(r.listener.Close)
	eventually(t, "the replica's cache is trusted", func() bool { return !r.caches.Suspended() })
	return r
}

// get reads id through r's Service (and cache).
func (r *replica) get(t *testing.T, id string) (items.Item, error) {
	t.Helper()
	return r.svc.Get(context.Background(), id)
}

// cached reports whether r's cache holds id.
func (r *replica) cached(id string) bool {
	_, ok := r.cache.Get(id)
	return ok
}

// eventually waits, up to a bound far above any healthy delay, for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("waited 15s for %s", what)
}

// sees returns a condition: r reads id as an item named name, or, with
// name "", reads it as not found.
func sees(t *testing.T, r *replica, id, name string) func() bool {
	return func() bool {
		it, err := r.get(t, id)
		if name == "" {
			return errors.Is(err, items.ErrNotFound)
		}
		return err == nil && it.Name == name
	}
}

// TestWritesReachEveryReplicasCache: two replicas with their own pools,
// caches and listeners share a database. A delete through one, and an
// UPDATE, DELETE or TRUNCATE run as plain SQL, reach the other's cache (and
// the writer's own), which held the old row.
func TestWritesReachEveryReplicasCache(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	{
		s, _ := openStore(t, testConfig(url))
		if _, err := Migrate(ctx, s.Pool()); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	a, b := newReplica(t, url, ""), newReplica(t, url, "")
	create := func(name string) items.Item {
		t.Helper()
		it, err := a.svc.Create(ctx, items.NewItem{Name: name, Quantity: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []*replica{a, b} {
			if got, err := r.get(t, it.ID); err != nil || got != it {
				t.Fatalf("Get after Create = %+v, %v; want %+v", got, err, it)
			}
			if !r.cached(it.ID) {
				t.Fatal("a read did not fill the cache")
			}
		}
		return it
	}

	t.Run("delete through the other replica", func(t *testing.T) {
		it := create("deleted by a")
		if err := a.svc.Delete(ctx, it.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, "b to see the delete", sees(t, b, it.ID, ""))
	})
	t.Run("sql update", func(t *testing.T) {
		it := create("before")
		if _, err := a.store.Pool().Exec(ctx, "UPDATE items SET name = 'after' WHERE id = $1", it.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, "a to see the update", sees(t, a, it.ID, "after"))
		eventually(t, "b to see the update", sees(t, b, it.ID, "after"))
	})
	t.Run("sql delete", func(t *testing.T) {
		it := create("deleted by hand")
		if _, err := a.store.Pool().Exec(ctx, "DELETE FROM items WHERE id = $1", it.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, "a to see the delete", sees(t, a, it.ID, ""))
		eventually(t, "b to see the delete", sees(t, b, it.ID, ""))
	})
	t.Run("sql truncate", func(t *testing.T) {
		it := create("truncated")
		if _, err := a.store.Pool().Exec(ctx, "TRUNCATE items"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "b to see the truncate", sees(t, b, it.ID, ""))
	})
	eventually(t, "b's cache_invalidations_total{table=items} to count the four changes", func() bool {
		return testutil.ToFloat64(b.listener.received.WithLabelValues("items")) >= 4
	})
}

// TestLostListenerBypassesTheCache: while the listener's connection is
// down, reads go to the store; when it is back, the cache starts empty, so
// a change it could not hear is not served from the cache.
func TestLostListenerBypassesTheCache(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	px := pgtest.StartProxy(t, pgtest.HostPort(t, url))
	r := newReplica(t, url, pgtest.WithHost(t, url, px.Addr()))
	if _, err := Migrate(ctx, r.store.Pool()); err != nil {
		t.Fatal(err)
	}
	rename := func(id, name string) {
		t.Helper()
		if _, err := r.store.Pool().Exec(ctx, "UPDATE items SET name = $2 WHERE id = $1", id, name); err != nil {
			t.Fatal(err)
		}
	}
	it, err := r.svc.Create(ctx, items.NewItem{Name: "cached", Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.get(t, it.ID); err != nil || !r.cached(it.ID) {
		t.Fatalf("Get = %v, cached %v; want the item cached", err, r.cached(it.ID))
	}

	// The listener's connection breaks; the pool's does not.
	px.Cut()
	eventually(t, "the cache to be bypassed", r.caches.Suspended)
	if g := testutil.ToFloat64(r.listener.coherent); g != 0 {
		t.Fatalf("cache_coherent = %v while bypassed, want 0", g)
	}
	if r.cached(it.ID) {
		t.Fatal("the cache kept its entries when the listener was lost")
	}
	rename(it.ID, "changed while bypassed")
	for range 3 {
		if got, err := r.get(t, it.ID); err != nil || got.Name != "changed while bypassed" {
			t.Fatalf("Get while bypassed = %+v, %v; want the store's row", got, err)
		}
		if r.cached(it.ID) {
			t.Fatal("a read while bypassed filled the cache")
		}
	}

	px.Restore()
	eventually(t, "the cache to be trusted again", func() bool { return !r.caches.Suspended() })
	if g, n := testutil.ToFloat64(r.listener.coherent), testutil.ToFloat64(r.listener.connects); g != 1 || n != 2 {
		t.Fatalf("cache_coherent = %v, cache_listen_connects_total = %v after the reconnect; want 1 and 2", g, n)
	}
	if got, err := r.get(t, it.ID); err != nil || got.Name != "changed while bypassed" || !r.cached(it.ID) {
		t.Fatalf("Get after the reconnect = %+v, %v, cached %v; want the row, cached", got, err, r.cached(it.ID))
	}

	// A change nobody is told of (the trigger is off), then the listener's
	// backend is killed: the reconnect must not trust what was cached.
	if _, err := r.store.Pool().Exec(ctx, "ALTER TABLE items DISABLE TRIGGER items_cache_invalidate"); err != nil {
		t.Fatal(err)
	}
	rename(it.ID, "changed silently")
	var killed int
	err = r.store.Pool().QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'shop cache listener'`).Scan(&killed)
	if err != nil || killed < 1 {
		t.Fatalf("terminating the listener's backend: killed %d, %v; want it killed", killed, err)
	}
	eventually(t, "the listener to reconnect", func() bool {
		return testutil.ToFloat64(r.listener.connects) == 3 && !r.caches.Suspended()
	})
	if got, err := r.get(t, it.ID); err != nil || got.Name != "changed silently" {
		t.Fatalf("Get after the listener came back = %+v, %v; want the row as the store has it", got, err)
	}
}
