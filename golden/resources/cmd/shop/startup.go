package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"example.com/shop/internal/config"
	"example.com/shop/internal/resource"
	"example.com/shop/internal/store/postgres"
)

// The backoff between migration attempts: it starts at migrateBackoffMin
// and doubles up to migrateBackoffMax, each wait drawn between half of it
// and all of it, so replicas started together do not retry in step.
const (
	migrateBackoffMin = 100 * time.Millisecond
	migrateBackoffMax = 5 * time.Second
)

// migrateOnStart applies the schema migrations in the background, so the
// service starts serving at once: /healthz answers, and /readyz reports the
// schema not ready until the migrations are in. While the database cannot
// be reached, it tries again with jittered backoff for up to
// cfg.MigrateWait; past that, or when a migration itself fails, abort stops
// the service with the error. Set.Close stops the attempts.
func migrateOnStart(ctx context.Context, cfg config.Config, store *postgres.Store, set *resource.Set, abort context.CancelCauseFunc) {
	gate := &schemaGate{err: errors.New("schema migrations pending")}
	set.Add(resource.Resource{Name: "schema", Ready: gate.ready})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	set.OnClose(func() {
		cancel()
		<-done
	})
	go func() {
		defer close(done)
		if err := migrateWithin(ctx, cfg.MigrateWait, store, set, gate); err != nil && ctx.Err() == nil {
			set.Log.Error("migrations on start failed; stopping", "err", err)
			abort(err)
		}
	}()
}

// migrateWithin tries the migrations until they are applied, a migration
// fails, or the database has stayed unreachable for wait.
func migrateWithin(ctx context.Context, wait time.Duration, store *postgres.Store, set *resource.Set, gate *schemaGate) error {
	deadline := time.Now().Add(wait)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	backoff := migrateBackoffMin
	for attempt := 1; ; attempt++ {
		applied, err := postgres.Migrate(ctx, store.Pool())
		for _, mig := range applied {
			set.Log.Info("applied migration", "version", mig.Version, "name", mig.Name)
		}
		if err == nil {
			gate.set(nil)
			return nil
		}
		if !postgres.Unreachable(err) {
			return fmt.Errorf("migrate database: %w; run `shop migrate status` to see where it stopped", err)
		}
		gate.set(fmt.Errorf("schema migrations pending: waiting for the database: %w", err))
		sleep := backoff/2 + rand.N(backoff/2+1) // #nosec G404 -- jitter, not security
		if time.Now().Add(sleep).After(deadline) {
			return fmt.Errorf("migrate database: unreachable for db-migrate-wait (%s, %d attempts): %w", wait, attempt, err)
		}
		set.Log.Warn("database unreachable; migrations wait", "attempt", attempt, "retry_in", sleep.String(), "err", err)
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, migrateBackoffMax)
	}
}

// schemaGate is the readiness of the schema: the error to report until the
// migrations are applied.
type schemaGate struct {
	mu  sync.Mutex
	err error
}

func (g *schemaGate) set(err error) {
	g.mu.Lock()
	g.err = err
	g.mu.Unlock()
}

func (g *schemaGate) ready(context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// startupFailure returns the error that stopped the service during
// start-up work, such as migrations that gave up, or nil when it stopped
// for a signal.
func startupFailure(ctx context.Context) error {
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
