package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/shop/internal/config"
	"example.com/shop/internal/store/postgres"
)

const migrateUsage = "usage: shop migrate up|status [flags]; the flags and environment are the service's (-database-url, DATABASE_URL)"

// migrate applies the embedded migrations (up) or lists them (status). It
// reads the same flags and environment as the service, so a deployment can
// run it as a step of its own with the service's configuration.
func migrate(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "up" && args[0] != "status") {
		return errors.New(migrateUsage)
	}
	cfg, err := config.Load(args[1:], lookup, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	// A one-shot command needs no warm connections.
	cfg.Database.MinConns, cfg.Database.MinIdleConns = 0, 0
	store, err := postgres.Open(ctx, cfg.Database, log, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	defer store.Close()

	if args[0] == "up" {
		applied, err := postgres.Migrate(ctx, store.Pool())
		for _, m := range applied {
			fmt.Fprintf(stdout, "applied %04d_%s\n", m.Version, m.Name)
		}
		if err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
		if len(applied) == 0 {
			fmt.Fprintln(stdout, "schema is up to date")
		}
		return nil
	}

	states, err := postgres.Status(ctx, store.Pool())
	if err != nil {
		return fmt.Errorf("migrate status: %w", err)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VERSION\tNAME\tSTATE\tAPPLIED AT")
	for _, s := range states {
		state, at := "pending", "-"
		switch {
		case s.Unknown:
			state = "applied, unknown to this binary"
		case s.Modified:
			state = "applied, file edited since"
		case s.Applied:
			state = "applied"
		}
		if s.Applied {
			at = s.AppliedAt.Format("2006-01-02 15:04:05Z07:00")
		}
		fmt.Fprintf(w, "%04d\t%s\t%s\t%s\n", s.Version, s.Name, state, at)
	}
	return w.Flush()
}
