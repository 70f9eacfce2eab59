package items

import (
	"fmt"
	"log/slog"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/resource"
)

// Register builds the items resource over store and adds it to set: its
// cache, its Service, its routes, gRPC service, and its readiness check.
// cmd/shop/resources.go calls it; a new resource's package has a
// Register like it.
func Register(set *resource.Set, store Store) error {
	settings := set.Settings
	c, err := cache.New(cache.Options[*Encoded]{
		MaxEntries: settings.CacheEntries,
		MaxBytes:   settings.CacheMaxBytes,
		Cost:       func(_ string, e *Encoded) int64 { return e.Size() },
		TTL:        settings.CacheTTL,
		// A load on a miss is a store read the cache runs detached from
		// the request; bounding it here too gives it one timer, not two.
		LoadTimeout: settings.StoreTimeout,
	})
	if err != nil {
		return fmt.Errorf("items cache: %w", err)
	}
	set.OnClose(c.Close)
	if err := c.Register(set.Registerer, "items"); err != nil {
		return fmt.Errorf("register items cache metrics: %w", err)
	}
	// Writes on any replica, and SQL run outside the service, reach
	// this cache through the items table's trigger: see "Replicas and the
	// cache" in the README.
	if err := set.Caches.Add("items", c); err != nil {
		return fmt.Errorf("items cache: %w", err)
	}
	// The store timeout bounds requests where they block, in the store;
	// nothing else puts a deadline on a request.
	svc := NewService(store, WithBatchWorkers(settings.BatchWorkers), WithStoreTimeout(settings.StoreTimeout), WithCache(c))
	set.Add(Resource(svc, set.Log, HTTPOptions{MaxBodyBytes: settings.MaxBodyBytes, Upstream: set.Upstream}))
	return nil
}

// Resource returns the registration of svc's APIs and readiness check,
// for the server to serve. log records failures clients only see as
// internal errors.
func Resource(svc *Service, log *slog.Logger, opts HTTPOptions) resource.Resource {
	return resource.Resource{
		Name:         "items",
		RegisterHTTP: NewHTTPAPI(svc, log, opts).Register,
		RegisterGRPC: NewServer(svc, log).RegisterGRPC,
		Ready:        svc.Ready,
	}
}
