package main

import (
	"context"
	"errors"
	"fmt"

	"example.com/shop/internal/config"
	"example.com/shop/internal/items"
	"example.com/shop/internal/orders"
	"example.com/shop/internal/resource"
	"example.com/shop/internal/store/postgres"
)

// registerResources builds every resource the service serves, and the
// storage behind them, into set; the server knows no other list. Adding a
// resource is one package under internal/ with a Register function, and
// one line in the list below.
func registerResources(ctx context.Context, cfg config.Config, set *resource.Set) error {
	store, err := postgres.Open(ctx, cfg.Database, set.Log, set.Metrics.Registry)
	if err != nil {
		return err
	}
	// Closed by set.Close, after Serve has drained the servers.
	set.OnClose(store.Close)
	if cfg.MigrateOnStart {
		applied, err := postgres.Migrate(ctx, store.Pool())
		if err != nil {
			return fmt.Errorf("migrate database: %w; run `shop migrate status` to see where it stopped", err)
		}
		for _, mig := range applied {
			set.Log.Info("applied migration", "version", mig.Version, "name", mig.Name)
		}
	}
	return errors.Join(
		items.Register(set, store),
		orders.Register(set, store.Orders()),
	)
}
