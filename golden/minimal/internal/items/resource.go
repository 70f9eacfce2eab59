package items

import (
	"log/slog"

	"example.com/minimal/internal/resource"
)

// Register builds the items resource over store and adds it to set: its
// Service, its routes, and its readiness check.
// cmd/minimal/resources.go calls it; a new resource's package has a
// Register like it.
func Register(set *resource.Set, store Store) error {
	settings := set.Settings
	// The store timeout bounds requests where they block, in the store;
	// nothing else puts a deadline on a request.
	svc := NewService(store, WithBatchWorkers(settings.BatchWorkers), WithStoreTimeout(settings.StoreTimeout))
	set.Add(Resource(svc, set.Log, HTTPOptions{MaxBodyBytes: settings.MaxBodyBytes}))
	return nil
}

// Resource returns the registration of svc's APIs and readiness check,
// for the server to serve. log records failures clients only see as
// internal errors.
func Resource(svc *Service, log *slog.Logger, opts HTTPOptions) resource.Resource {
	return resource.Resource{
		Name:         "items",
		RegisterHTTP: NewHTTPAPI(svc, log, opts).Register,
		Ready:        svc.Ready,
	}
}
