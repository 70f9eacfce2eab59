package main

import (
	"context"
	"errors"

	"example.com/demo/internal/config"
	"example.com/demo/internal/items"
	"example.com/demo/internal/resource"
	"example.com/demo/internal/store/memory"
)

// registerResources builds every resource the service serves, and the
// storage behind them, into set; the server knows no other list. Adding a
// resource is one package under internal/ with a Register function, and
// one line in the list below. ctx and cfg are for resources whose
// storage needs setting up, as a database does.
func registerResources(ctx context.Context, cfg config.Config, set *resource.Set) error {
	return errors.Join(
		items.Register(set, memory.New()),
	)
}
