package resource_test

import (
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/resource"
)

func newTableCache(t *testing.T) *cache.Cache[string] {
	t.Helper()
	c, err := cache.New(cache.Options[string]{MaxEntries: 10, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestCachesRouteInvalidationsByTable(t *testing.T) {
	cs := resource.NewCaches()
	items, orders := newTableCache(t), newTableCache(t)
	for table, c := range map[string]*cache.Cache[string]{"items": items, "orders": orders} {
		if err := cs.Add(table, c); err != nil {
			t.Fatal(err)
		}
		c.Set("1", table)
		c.Set("2", table)
	}
	if err := cs.Add("items", newTableCache(t)); err == nil {
		t.Fatal("Add of a table that has a cache succeeded, want an error")
	}
	if got := cs.Tables(); len(got) != 2 || got[0] != "items" || got[1] != "orders" {
		t.Fatalf("Tables() = %v, want [items orders]", got)
	}

	if !cs.Invalidate("items", "1") {
		t.Fatal("Invalidate(items, 1) = false, want true")
	}
	if _, ok := items.Get("1"); ok {
		t.Fatal("items 1 is still cached after its invalidation")
	}
	for _, c := range []*cache.Cache[string]{items, orders} {
		if _, ok := c.Get("2"); !ok {
			t.Fatal("an invalidation dropped a key it did not name")
		}
	}
	if _, ok := orders.Get("1"); !ok {
		t.Fatal("invalidating items 1 dropped orders 1")
	}
	if cs.Invalidate("users", "1") || cs.Clear("users") {
		t.Fatal("a table without a cache reported one")
	}

	if !cs.Clear("orders") {
		t.Fatal("Clear(orders) = false, want true")
	}
	if _, ok := orders.Get("2"); ok {
		t.Fatal("orders 2 is still cached after Clear(orders)")
	}
	if _, ok := items.Get("2"); !ok {
		t.Fatal("Clear(orders) dropped items 2")
	}
}

func TestCachesSuspendEveryCacheAddedBeforeOrAfter(t *testing.T) {
	cs := resource.NewCaches()
	before, after := newTableCache(t), newTableCache(t)
	if err := cs.Add("before", before); err != nil {
		t.Fatal(err)
	}
	cs.Suspend()
	if err := cs.Add("after", after); err != nil {
		t.Fatal(err)
	}
	if !cs.Suspended() || !before.Suspended() || !after.Suspended() {
		t.Fatalf("after Suspend: caches %v, before %v, after %v; want all suspended", cs.Suspended(), before.Suspended(), after.Suspended())
	}
	cs.Resume()
	if cs.Suspended() || before.Suspended() || after.Suspended() {
		t.Fatalf("after Resume: caches %v, before %v, after %v; want none suspended", cs.Suspended(), before.Suspended(), after.Suspended())
	}
}
