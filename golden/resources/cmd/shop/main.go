// Command shop serves the resources listed in resources.go.
//
// Usage:
//
//	shop [flags]              serve until SIGINT or SIGTERM
//	shop healthcheck [flags]  probe a running instance's /healthz (-ready: /readyz); exit 0 or 1
//	shop migrate up [flags]   apply pending schema migrations, then exit
//	shop migrate status       list migrations and whether each is applied
//
// Every flag also reads a SHOP_* environment variable; run
// `shop -h` for the list.
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
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/shop/api"
	"example.com/shop/internal/config"
	"example.com/shop/internal/connlimit"
	"example.com/shop/internal/httpclient"
	"example.com/shop/internal/lb"
	"example.com/shop/internal/limiter"
	"example.com/shop/internal/memstats"
	"example.com/shop/internal/metrics"
	"example.com/shop/internal/profiling"
	"example.com/shop/internal/reqlog"
	"example.com/shop/internal/resource"
	"example.com/shop/internal/server"
	"example.com/shop/internal/tracing"
)

// memoryLimitRatio is the share of the container's memory limit given to
// the Go runtime as GOMEMLIMIT; the rest is headroom for memory the runtime
// does not account for.
const memoryLimitRatio = 0.9

// heapGoalFloor and maxGCPercent shape collection while the live heap is
// small (memstats.KeepHeapGoal): the heap goal is kept near 32 MiB, at most
// five times the live heap. Against GOGC=100 it took about 4 points of GC
// work off a cached GET at saturation, for 11-21 MiB more peak RSS under
// load.
const (
	heapGoalFloor = 32 << 20
	maxGCPercent  = 400
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "shop: %v\n", err)
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
	// Lines logged with a request's context carry its trace or request id.
	log := slog.New(reqlog.NewHandler(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})))

	// Without a limit the GC paces itself by heap growth alone and a
	// container can be OOM-killed while garbage waits to be collected.
	if limit := memstats.MemoryLimit(lookup, os.DirFS("/"), memoryLimitRatio); limit > 0 {
		debug.SetMemoryLimit(limit)
		log.Info("memory limit set from the cgroup", "gomemlimit_bytes", limit)
	}
	// While the live heap is small, collecting at the default GOGC means
	// collecting many times a second under load; GOGC in the environment
	// turns this off.
	if v, ok := lookup("GOGC"); !ok || v == "" {
		heapCtx, stopHeapGoal := context.WithCancel(ctx)
		heapGoalDone := make(chan struct{})
		go func() {
			defer close(heapGoalDone)
			memstats.KeepHeapGoal(heapCtx, heapGoalFloor, maxGCPercent, time.Second)
		}()
		defer func() {
			stopHeapGoal()
			<-heapGoalDone
		}()
	}
	m := metrics.New()
	reg := prometheus.WrapRegistererWithPrefix(metrics.Namespace+"_", m.Registry)
	if err := reg.Register(memstats.NewCollector()); err != nil {
		return fmt.Errorf("register memory metrics: %w", err)
	}

	lim, err := limiter.New(limiter.Options{Max: cfg.MaxConcurrency, LatencyThreshold: cfg.ShedLatency})
	if err != nil {
		return fmt.Errorf("concurrency limiter: %w", err)
	}
	if err := lim.Register(reg); err != nil {
		return fmt.Errorf("register limiter metrics: %w", err)
	}
	// Off (no OTLP endpoint), tracer is nil: no exporter, no goroutine.
	tracer, err := tracing.New(cfg.Observability.TracingOptions(), log, reg)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer func() {
		// The servers have drained: export the spans still queued.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tracer.Shutdown(ctx); err != nil {
			log.Warn("trace export at shutdown", "err", err)
		}
	}()
	if tracer != nil {
		log.Info("tracing enabled", "endpoint", cfg.Observability.TraceEndpoint, "sampler", cfg.Observability.TraceSampler)
	}
	// One span per query, under the request's span.
	cfg.Database.TracerProvider = tracer.TracerProvider()
	deps := resource.Deps{Settings: cfg.ResourceSettings(), Log: log, Metrics: m, Registerer: reg}

	// Start-up work that cannot finish, such as migrations still waiting
	// for the database past -db-migrate-wait, stops the service with its
	// error (startup.go). ctx is set before any goroutine below reads it.
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)

	// Background work (health checks) runs until Serve returns, and run
	// waits for it so nothing outlives the call.
	ctx, cancel := context.WithCancel(ctx)
	var background sync.WaitGroup
	defer background.Wait()
	defer cancel()
	if cfg.Upstreams != "" {
		client, bal, err := upstreamClient(cfg, reg, tracer)
		if err != nil {
			return err
		}
		background.Go(func() { bal.Run(ctx) })
		deps.Upstream = client
		log.Info("upstream calls enabled", "upstreams", cfg.Upstreams, "policy", cfg.UpstreamPolicy)
	}
	set := resource.NewSet(deps)
	// Released when run returns, after Serve has drained the servers.
	defer set.Close()
	if err := registerResources(ctx, cfg, set, abort); err != nil {
		return err
	}

	profiling.SetRates(cfg.BlockProfileRate, cfg.MutexProfileFraction)
	flight, err := profiling.StartFlightRecorder(cfg.FlightRecorder)
	if err != nil {
		return fmt.Errorf("flight recorder: %w", err)
	}
	defer flight.Stop()

	srvOpts := append([]server.Option{
		server.WithLimiter(lim),
		server.WithTracing(tracer),
		server.WithRequestIDs(cfg.Observability.IDs()),
		server.WithAccessLog(reqlog.NewAccessLog(log, cfg.Observability.AccessLog)),
		server.WithAdminRoute("GET /debug/flightrecorder", flight),
		// The OpenAPI document of the HTTP routes the .proto binds.
		server.WithAdminRoute("GET /openapi.yaml", api.OpenAPIHandler()),
	}, loadTestOptions(lookup)...)

	// The public ports' connections stay within the file limit, so a
	// connection flood cannot starve the admin port, the store and the
	// upstreams of descriptors.
	connCap := cfg.MaxConns
	if connCap == 0 {
		if connCap, err = connlimit.FromFileLimit(); err != nil {
			return err
		}
	}
	conns, err := connlimit.New(connCap)
	if err != nil {
		return err
	}
	if err := conns.Register(reg); err != nil {
		return fmt.Errorf("register connection metrics: %w", err)
	}
	srvOpts = append(srvOpts, server.WithConnBudget(conns))
	srv := server.New(cfg, log, m, set.Resources(), srvOpts...)
	if err := srv.Listen(); err != nil {
		return err
	}
	if err := srv.Serve(ctx); err != nil {
		return err
	}
	return startupFailure(ctx)
}

// upstreamClient builds the client of the example outbound call: a tuned,
// instrumented transport under a balancer over the configured upstreams.
// The caller runs the balancer's health checks.
func upstreamClient(cfg config.Config, reg prometheus.Registerer, tracer *tracing.Tracing) (*http.Client, *lb.Balancer, error) {
	targets, err := lb.ParseTargets(cfg.Upstreams)
	if err != nil {
		return nil, nil, fmt.Errorf("upstreams: %w", err)
	}
	policy, err := lb.ParsePolicy(cfg.UpstreamPolicy)
	if err != nil {
		return nil, nil, fmt.Errorf("upstream policy: %w", err)
	}
	opts := httpclient.DefaultOptions()
	clientMetrics, err := httpclient.NewMetrics(reg)
	if err != nil {
		return nil, nil, fmt.Errorf("register upstream client metrics: %w", err)
	}
	bal, err := lb.New(targets, lb.Options{
		Policy:       policy,
		HealthClient: &http.Client{Transport: httpclient.NewTransport(opts)},
	})
	if err != nil {
		return nil, nil, err
	}
	if err := bal.Register(reg); err != nil {
		return nil, nil, fmt.Errorf("register balancer metrics: %w", err)
	}
	transport := clientMetrics.Instrument(bal.Transport(httpclient.NewTransport(opts)))
	// Outermost, so the client span covers the balancer's choice and sends
	// the traceparent to whichever upstream it picks.
	transport = tracer.Transport(transport)
	return &http.Client{Transport: transport, Timeout: opts.Timeout}, bal, nil
}

// healthcheck probes the admin port's /healthz, for container HEALTHCHECKs
// that have no curl. It exits non-zero unless the answer is 200.
func healthcheck(ctx context.Context, args []string, lookup func(string) (string, bool), stderr io.Writer) error {
	fs := flag.NewFlagSet("shop healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := config.Default().AdminAddr
	if v, ok := lookup(config.EnvPrefix + "ADMIN_ADDR"); ok && v != "" {
		addr = v
	}
	fs.StringVar(&addr, "addr", addr, "admin address of the instance to probe (env "+config.EnvPrefix+"ADMIN_ADDR)")
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for an answer")
	ready := fs.Bool("ready", false, "probe /readyz (ready for traffic, migrations in) instead of /healthz (alive)")
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
	path := "/healthz"
	if *ready {
		path = "/readyz"
	}
	url := "http://" + net.JoinHostPort(host, port) + path
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
