// Command orders serves the items API.
//
// Usage:
//
//	orders [flags]              serve until SIGINT or SIGTERM
//	orders healthcheck [flags]  probe a running instance's /healthz; exit 0 or 1
//	orders migrate up [flags]   apply pending schema migrations, then exit
//	orders migrate status       list migrations and whether each is applied
//
// Every flag also reads a ORDERS_* environment variable; run
// `orders -h` for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"example.com/orders/internal/config"
	"example.com/orders/internal/items"
	"example.com/orders/internal/metrics"
	"example.com/orders/internal/server"
	"example.com/orders/internal/store/postgres"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "orders: %v\n", err)
		}
		os.Exit(1)
	}
}

// run is main without the process: tests call it with their own arguments,
// environment and context.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, args[1:], lookup, stderr)
	}
	if len(args) > 0 && args[0] == "migrate" {
		return migrate(ctx, args[1:], lookup, stdout, stderr)
	}
	cfg, err := config.Load(args, lookup, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))

	m := metrics.New()
	store, err := postgres.Open(ctx, cfg.Database, log, m.Registry)
	if err != nil {
		return err
	}
	// Deferred first, so it runs last: after the servers have drained.
	defer store.Close()
	if cfg.MigrateOnStart {
		applied, err := postgres.Migrate(ctx, store.Pool())
		if err != nil {
			return fmt.Errorf("migrate database: %w; run `orders migrate status` to see where it stopped", err)
		}
		for _, mig := range applied {
			log.Info("applied migration", "version", mig.Version, "name", mig.Name)
		}
	}
	svc := items.NewService(store)
	srv := server.New(cfg, log, svc, m)
	if err := srv.Listen(); err != nil {
		return err
	}
	return srv.Serve(ctx)
}

// healthcheck probes the admin port's /healthz, for container HEALTHCHECKs
// that have no curl. It exits non-zero unless the answer is 200.
func healthcheck(ctx context.Context, args []string, lookup func(string) (string, bool), stderr io.Writer) error {
	fs := flag.NewFlagSet("orders healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := config.Default().AdminAddr
	if v, ok := lookup(config.EnvPrefix + "ADMIN_ADDR"); ok && v != "" {
		addr = v
	}
	fs.StringVar(&addr, "addr", addr, "admin address of the instance to probe (env "+config.EnvPrefix+"ADMIN_ADDR)")
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for an answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("healthcheck: address %q: want host:port", addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	url := "http://" + net.JoinHostPort(host, port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	return nil
}
