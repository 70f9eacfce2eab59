// Command loadgen drives load against the service and checks it against the
// service-level objectives in bench/slo.yaml. `make loadtest` runs it
// against a freshly built service; it can also target any running instance.
//
// Usage:
//
//	loadgen [flags]
//
// It prints the objectives table, writes LABEL.json, LABEL.md and
// LABEL-latency.svg under -out, and exits 1 when an objective is missed,
// naming it. It sends load only to this machine's loopback addresses unless
// -allow-remote is given. SIGINT or SIGTERM stops the run: the report of
// what ran is printed and written, marked interrupted, and loadgen exits 1
// (a second SIGINT exits at once).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"example.com/orders/internal/loadtest"
)

// gcPercent is loadgen's GOGC unless the environment sets one. Its live heap
// is small (histograms, connections) and its garbage is per request, so at
// the default 100 it collects several times a second; each collection
// charges assists to the sending goroutines and shrinks the stacks of the
// idle workers, which regrow them by copying on their next request. At
// 10,000 req/s over gRPC that came to 20-30 % of loadgen's CPU; at 400 it
// is about 5 %, for a few more MiB of heap.
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// The first signal stops the run and writes the partial report;
		// restoring the default makes a second one exit at once.
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		}
		os.Exit(1)
	}
}

// options are loadgen's flags.
type options struct {
	transport   string
	addr        string
	mode        string
	rate        float64
	workers     int
	connections int
	warmup      time.Duration
	duration    time.Duration
	drain       time.Duration
	timeout     time.Duration
	maxRequests int64
	scenario    string
	slo         string
	admin       string
	adminSet    bool // -admin was given, not defaulted
	pid         int
	cores       float64
	interval    time.Duration
	out         string
	label       string
	allowRemote bool
	cpuProfile  string
}

// closedLoopCap bounds a closed-loop run's request count when -max-requests
// is not given.
const closedLoopCap = 5_000_000

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.transport, "transport", string(loadtest.DefaultTransport), fmt.Sprintf("protocol: one of %v", loadtest.Transports))
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "service address (host:port) for the transport")
	fs.StringVar(&o.mode, "mode", string(loadtest.Open), "open: fixed arrival rate, latency from intended send time; closed: maximum throughput")
	fs.Float64Var(&o.rate, "rate", 0, "open loop: requests per second (0: the throughput objective in -slo)")
	fs.IntVar(&o.workers, "workers", 256, "most requests in flight at once")
	fs.IntVar(&o.connections, "connections", 0, "connections to open (0: 4 for h2c, one per worker up to 64 for http1)")
	fs.DurationVar(&o.warmup, "warmup", 5*time.Second, "load sent before the measured window, excluded from results")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "length of the measured window")
	fs.DurationVar(&o.drain, "drain", 2*time.Second, "time requests in flight at the end may take to finish; later ones count as errors")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "per-request timeout")
	fs.Int64Var(&o.maxRequests, "max-requests", 0, fmt.Sprintf("cap on requests sent, warm-up included (0: rate x (warmup + duration) in open loop, %d in closed loop)", closedLoopCap))
	fs.StringVar(&o.scenario, "scenario", "bench/scenario.yaml", `request mix file ("" for 90 % GET, 10 % create)`)
	fs.StringVar(&o.slo, "slo", "bench/slo.yaml", "service-level objectives file")
	fs.StringVar(&o.admin, "admin", "http://127.0.0.1:9100/metrics", `service metrics URL for CPU and RSS ("" to skip)`)
	fs.IntVar(&o.pid, "pid", 0, "local service process ID: read CPU and RSS from /proc (exact) instead of -admin")
	fs.Float64Var(&o.cores, "server-cores", 0, "cores the service is allotted (0: its GOMAXPROCS from -admin, else its CPU affinity with -pid)")
	fs.DurationVar(&o.interval, "sample-interval", 250*time.Millisecond, "how often to read the service's CPU and RSS")
	fs.StringVar(&o.out, "out", "bench/results", `directory for the JSON and markdown reports and the chart ("" to skip)`)
	fs.StringVar(&o.label, "label", "", "name of the run in reports and file names (default: the transport)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write loadgen's own CPU profile to this file, to see what the client costs (go tool pprof)")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow an -addr that is not a loopback address of this machine (only against a service you run)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	fs.Visit(func(f *flag.Flag) { o.adminSet = o.adminSet || f.Name == "admin" })
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q; loadgen takes only flags", fs.Args())
	}
	if o.label == "" {
		o.label = o.transport
	}
	if o.label != filepath.Base(o.label) || o.label == "." || o.label == ".." || strings.ContainsAny(o.label, `/\`) {
		return o, fmt.Errorf("label %q must be a plain file name", o.label)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		stopProfile, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	slo, err := loadtest.ReadSLO(o.slo)
	if err != nil {
		return err
	}
	scenario := loadtest.DefaultScenario()
	if o.scenario != "" {
		if scenario, err = loadtest.ReadScenario(o.scenario); err != nil {
			return err
		}
	}
	cfg := loadtest.Config{
		Mode:        loadtest.Mode(o.mode),
		Rate:        o.rate,
		Workers:     o.workers,
		Warmup:      o.warmup,
		Duration:    o.duration,
		Drain:       o.drain,
		Timeout:     o.timeout,
		MaxRequests: o.maxRequests,
		Scenario:    scenario,
	}
	if cfg.Rate == 0 {
		cfg.Rate = slo.RPS
	}
	if cfg.MaxRequests == 0 {
		cfg.MaxRequests = closedLoopCap
		if cfg.Mode == loadtest.Open {
			cfg.MaxRequests = int64(cfg.Rate * (cfg.Warmup + cfg.Duration).Seconds())
		}
	}
	if err := cfg.Check(); err != nil {
		return err
	}
	if !o.allowRemote {
		if err := checkLoopback(ctx, o.addr); err != nil {
			return err
		}
	}
	conns := o.connections
	if conns == 0 {
		conns = 4
		if loadtest.Transport(o.transport) == loadtest.HTTP1 {
			conns = min(o.workers, 64)
		}
	}
	target, err := loadtest.NewTarget(loadtest.Transport(o.transport), o.addr, conns)
	if err != nil {
		return err
	}
	defer target.Close()

	var sampler loadtest.Sampler
	switch {
	case o.pid > 0:
		sampler = &loadtest.ProcSampler{PID: o.pid}
	case o.admin != "":
		sampler = &loadtest.AdminSampler{URL: o.admin}
	}
	var monitor *loadtest.Monitor
	cores := o.cores
	if sampler != nil {
		if cores == 0 {
			if cores, err = allottedCores(ctx, o, sampler); err != nil {
				return fmt.Errorf("%w; or pass -server-cores", err)
			}
		}
		if monitor, err = loadtest.StartMonitor(ctx, sampler, o.interval); err != nil {
			return fmt.Errorf("%w; pass -admin \"\" to run without server readings", err)
		}
	}

	res, runErr := loadtest.Run(ctx, target, cfg)
	interrupted := runErr == nil && ctx.Err() != nil
	if interrupted {
		// The measured window ends where the run was stopped.
		if now := time.Now(); now.Before(res.End) {
			res.End = now
			res.Window = max(now.Sub(res.Start), 0)
		}
	}
	var usage *loadtest.ServerUsage
	var serverErr error
	if monitor != nil {
		samples, err := monitor.Stop(context.WithoutCancel(ctx))
		if runErr == nil {
			// A failed scrape loses one sample, not the run: the usage
			// stands when enough samples remain, and the error is noted.
			u, uerr := loadtest.Usage(samples, res.Start, res.End, cores, sampler.Source())
			if uerr == nil {
				usage = &u
			}
			serverErr = errors.Join(err, uerr)
		}
	} else {
		serverErr = errors.New("no -admin or -pid given")
	}
	if runErr != nil {
		return runErr
	}

	report := loadtest.NewReport(o.label, loadtest.Transport(o.transport), o.addr, cfg, conns, res, usage, slo)
	if serverErr != nil {
		report.ServerError = serverErr.Error()
	}
	report.Interrupted = interrupted
	if err := report.WriteTable(stdout); err != nil {
		return err
	}
	if o.out != "" {
		if err := writeFiles(o.out, report); err != nil {
			return err
		}
	}
	if interrupted {
		where := ""
		if o.out != "" {
			where = "; partial report written to " + o.out
		}
		return fmt.Errorf("%s: interrupted after %s of the %s window%s", o.label, res.Window.Round(time.Millisecond), cfg.Duration, where)
	}
	if missed := loadtest.Missed(report.Checks); len(missed) > 0 {
		names := make([]string, len(missed))
		for i, c := range missed {
			names[i] = fmt.Sprintf("%s (measured %s, target %s)", c.Objective, c.Measured, c.Target)
		}
		return fmt.Errorf("%s: objectives missed: %s", o.label, strings.Join(names, "; "))
	}
	return nil
}

// checkLoopback refuses a target that is not on this machine's loopback:
// a load test aimed at a shared or production address by mistake is an
// attack on it. A host name passes when every address it resolves to is a
// loopback address.
func checkLoopback(ctx context.Context, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	refuse := func(why string) error {
		return fmt.Errorf("-addr %s %s; loadgen sends load only to loopback addresses (127.0.0.0/8, ::1, localhost) unless you pass -allow-remote", addr, why)
	}
	if host == "" || host == "localhost" {
		return nil // "" dials this machine, as ":8080" does
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else if ips, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil || len(ips) == 0 {
		return refuse("does not resolve here")
	}
	for _, ip := range ips {
		if !ip.Unmap().IsLoopback() {
			return refuse(fmt.Sprintf("is not a loopback address (%s)", ip))
		}
	}
	return nil
}

// allottedCores prefers the service's own GOMAXPROCS from its metrics, which
// since Go 1.25 follows both its CPU affinity and its container's CPU quota,
// and falls back to what the sampler can tell (the affinity, for /proc).
func allottedCores(ctx context.Context, o options, sampler loadtest.Sampler) (float64, error) {
	// With -pid, the default -admin address may belong to another
	// instance: only an explicit one is trusted.
	if o.admin != "" && (o.adminSet || o.pid == 0) {
		admin := &loadtest.AdminSampler{URL: o.admin}
		if cores, err := admin.Cores(ctx); err == nil && cores > 0 {
			return cores, nil
		}
	}
	return sampler.Cores(ctx)
}

// startCPUProfile profiles loadgen itself into path until the returned
// function is called. A load generator's figures count only while it is not
// the bottleneck; the profile shows where its own CPU goes.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// writeFiles writes the report's JSON, markdown and chart into dir.
func writeFiles(dir string, r *loadtest.Report) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create report directory: %w", err)
	}
	chart := r.Label + "-latency.svg"
	for name, write := range map[string]func(io.Writer) error{
		r.Label + ".json": r.WriteJSON,
		r.Label + ".md":   func(w io.Writer) error { return r.WriteMarkdown(w, chart) },
		chart:             r.WriteSVG,
	} {
		if err := writeFile(filepath.Join(dir, name), write); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(filepath.Clean(path))
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
