package orders

import (
	"fmt"
	"log/slog"
	"net/http"

	shopv1 "example.com/shop/api/proto/shop/v1"
	"example.com/shop/internal/cache"
	"example.com/shop/internal/httpjson"
	"example.com/shop/internal/resource"
)

// Register builds the orders resource over store and adds it to set:
// its cache, its Service, its gRPC service and HTTP routes, and its
// readiness check. cmd/shop/resources.go calls it.
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
		return fmt.Errorf("orders cache: %w", err)
	}
	set.OnClose(c.Close)
	if err := c.Register(set.Registerer, "orders"); err != nil {
		return fmt.Errorf("register orders cache metrics: %w", err)
	}
	// Writes on any replica, and SQL run outside the service, reach
	// this cache through the orders table's trigger: see "Replicas and the
	// cache" in the README.
	if err := set.Caches.Add("orders", c); err != nil {
		return fmt.Errorf("orders cache: %w", err)
	}
	svc := NewService(store, WithStoreTimeout(settings.StoreTimeout), WithCache(c))
	set.Add(Resource(svc, set.Log, settings.MaxBodyBytes))
	return nil
}

// Resource returns the registration of svc's APIs and readiness check,
// for the server to serve. log records failures clients only see as
// internal errors. maxBody bounds a request body.
func Resource(svc *Service, log *slog.Logger, maxBody int64) resource.Resource {
	srv := NewGRPCServer(svc, log)
	return resource.Resource{
		Name: "orders",
		RegisterHTTP: func(mux *http.ServeMux) {
			shopv1.RegisterOrdersServiceHTTP(mux, srv, shopv1.OrdersServiceHTTPOptions{
				MaxBodyBytes: maxBody,
				// GetOrder keeps its binding, in the OpenAPI document
				// too, but is served by get: a cache hit writes the stored
				// encoding as is.
				Override: map[string]http.Handler{"GetOrder": getHandler(svc, log)},
			})
		},
		RegisterGRPC: srv.Register,
		Ready:        svc.Ready,
	}
}

// getHandler serves GET /v1/orders/{id}, the hot path: it writes the
// order's stored encoding, which a cache hit returns without touching
// the store or the JSON encoder.
func getHandler(svc *Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e, err := svc.GetEncoded(r.Context(), r.PathValue("id"))
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.WriteEncoded(w, e.JSON)
	}
}
