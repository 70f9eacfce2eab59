package main

import (
	"context"
	"errors"

	"example.com/shop/internal/config"
	"example.com/shop/internal/items"
	"example.com/shop/internal/orders"
	"example.com/shop/internal/resource"
	"example.com/shop/internal/store/postgres"
)

// registerResources builds every resource the service serves, and the
// storage behind them, into set; the server knows no other list. Adding a
// resource is one package under internal/ with a Register function, and
// one line in the list below. Start-up work that cannot finish
// calls abort, which stops the service with its error.
func registerResources(ctx context.Context, cfg config.Config, set *resource.Set, abort context.CancelCauseFunc) error {
	store, err := postgres.Open(ctx, cfg.Database, set.Log, set.Metrics.Registry)
	if err != nil {
		return err
	}
	// Closed by set.Close, after Serve has drained the servers.
	set.OnClose(store.Close)
	if cfg.MigrateOnStart {
		// In the background, waiting for the database if need be, while
		// the service serves not-ready (startup.go).
		migrateOnStart(ctx, cfg, store, set, abort)
	}
	if err := errors.Join(
		items.Register(set, store),
		orders.Register(set, store.Orders()),
	); err != nil {
		return err
	}
	// Now that every cache is in set.Caches: keep them coherent with the
	// database, whichever replica (or psql session) writes it.
	listener, err := store.Listen(set.Caches, set.Log, set.Registerer)
	if err != nil {
		return err
	}
	set.OnClose(listener.Close)
	return nil
}
