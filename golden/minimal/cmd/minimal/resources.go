package main

import (
	"context"
	"errors"

	"example.com/minimal/internal/config"
	"example.com/minimal/internal/items"
	"example.com/minimal/internal/resource"
	"example.com/minimal/internal/store/memory"
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
