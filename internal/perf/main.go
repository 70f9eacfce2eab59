// Command perf measures a generated service against bare servers for the
// same API, and writes the ratios into docs/performance.md. `make perf`
// runs it from the repository root.
//
// It generates the default golden project and builds its service (with the
// project's own `make build`, stripped), its load generator (cmd/loadgen,
// for the RSS run), a bare net/http server (internal/perf/bare) and a bare
// grpc-go server (internal/perf/baregrpc, built inside the generated
// project against its stubs). Then, for each round and protocol (HTTP/1.1,
// h2c, gRPC), it starts each server alone on the server CPU and, from the
// client CPU:
//
//   - drives it to saturation with a C client that needs far less CPU per
//     request than the server: wrk (64 connections) over HTTP/1.1, h2load
//     over h2c and gRPC (64 connections x 1 stream and 4 x 16), each run
//     after a warm-up run;
//     h2load sends gRPC as what it is on the wire, an HTTP/2 POST of a
//     length-prefixed message, at C speed; ghz would drive gRPC through
//     grpc-go's client, which spends about as much CPU per call as the
//     server under test, so one client core could not saturate it. As
//     h2load reads no trailers, perf checks the call's grpc-status first;
//   - offers a fixed rate in an open loop with h2load --rps over all three
//     protocols (--h1 for HTTP/1.1), after a --warm-up-time in the same
//     run. wrk2, the usual open-loop client, is not packaged, and h2load's
//     --rate paces how fast connections are opened, not requests; --rps
//     paces the requests of each connection. It is one rate for every
//     connection, and its timer ticks at most every 10 ms, so -rate is
//     split evenly over connections of at most 100 req/s each, one request
//     per tick (10,000 req/s: 100 x 100). h2load times a request from when
//     it sends it, which is its scheduled time unless its connection
//     already has its most requests in flight (1 over HTTP/1.1, 16 streams
//     over h2c and gRPC): only past that point does a request wait for one
//     to finish, and that wait goes uncounted (coordinated omission).
//     The generated project's own cmd/loadgen times requests from their
//     intended send time too, but spent 60-81 % of its core at 10,000
//     req/s, which flagged every fixed-rate run client-bound; it drives only
//     the long RSS run, which states no latency or CPU;
//   - reads the client's and the server's CPU time from /proc/PID/stat over
//     each run, so a run whose client used more than 60 % of its core is
//     flagged as client-bound: its throughput is the client's, not the
//     server's.
//
// Unless -tracing=false, each round also runs the generated service with
// tracing on, next to it with tracing off: the same binary, switched on by
// OTEL_EXPORTER_OTLP_ENDPOINT alone (so at the service's default sampler,
// whatever it is), exporting to an OTLP/HTTP sink that perf serves on
// loopback and that counts the spans it receives. perf pins its own process
// (the sink with it) to the client CPUs. The traced service is measured at
// the fixed rate only, which is what the cost of tracing is stated at, and
// which keeps make perf within about 15 minutes.
//
// The order of the servers flips every round, so drift on a shared machine
// hits them alike; the report shows medians and each ratio's spread.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/templates"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "perf: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	answers     string
	doc         string
	rounds      int
	warmup      time.Duration
	duration    time.Duration
	rate        int
	rssDuration time.Duration
	serverCPUs  string
	clientCPUs  string
	protocols   []string
	// tracing adds the traced variant of the generated service.
	tracing bool
}

// protocols are the ones perf compares, in report order.
var protocols = []string{"http1", "h2c", "grpc"}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("perf", flag.ContinueOnError)
	fs.StringVar(&o.answers, "answers", "golden/default/.perfgen.yaml", "answers of the project to generate and measure")
	fs.StringVar(&o.doc, "doc", "docs/performance.md", `document whose "Generated service vs bare servers" section is rewritten ("" to only print)`)
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each measures both servers over every protocol")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "warm-up run before each measured run (whole seconds)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured window of each run (whole seconds)")
	fs.IntVar(&o.rate, "rate", 10000, "open-loop rate for latency and CPU at a fixed load, requests/s")
	fs.DurationVar(&o.rssDuration, "rss-duration", 75*time.Second, "length of the full-load run that checks RSS stays flat (0 to skip)")
	fs.StringVar(&o.serverCPUs, "server-cpus", "0", "taskset CPU list for the servers")
	fs.StringVar(&o.clientCPUs, "client-cpus", "1", "taskset CPU list for the load clients (one CPU: client CPU is judged against one core)")
	fs.BoolVar(&o.tracing, "tracing", true, "also measure the generated service with tracing on, exporting to a sink on loopback, at the fixed rate (false to skip)")
	only := fs.String("protocols", strings.Join(protocols, ","), "comma-separated protocols to measure")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.rounds < 1 || o.duration < time.Second || o.warmup < time.Second {
		return errors.New("rounds must be positive, and duration and warm-up at least 1s")
	}
	o.warmup, o.duration = o.warmup.Truncate(time.Second), o.duration.Truncate(time.Second)
	if _, _, err := splitRate(o.rate); err != nil {
		return err
	}
	for p := range strings.SplitSeq(*only, ",") {
		if !slices.Contains(protocols, p) {
			return fmt.Errorf("unknown protocol %q in -protocols; use some of %s", p, strings.Join(protocols, ","))
		}
		o.protocols = append(o.protocols, p)
	}
	for _, tool := range []string{"wrk", "h2load"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found; install it with apt-get install -y wrk nghttp2-client (make perf does)", tool)
		}
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		o.serverCPUs, o.clientCPUs = "", ""
		fmt.Fprintln(stdout, "perf: taskset not found; servers and load clients share CPUs")
	}

	loadBefore := loadavg()
	work, err := os.MkdirTemp("", "perfgen-perf-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	b, err := build(ctx, o, work, stdout)
	if err != nil {
		return err
	}
	if b.bareGRPC == "" {
		o.protocols = slices.DeleteFunc(o.protocols, func(p string) bool { return p == "grpc" })
	}
	servers := []string{"generated", "bare"}
	if o.tracing {
		if b.sink, err = startSink(); err != nil {
			return err
		}
		defer b.sink.close()
		if o.clientCPUs != "" {
			if err := pinSelf(ctx, o.clientCPUs); err != nil {
				return err
			}
		}
		b.tracedEnv = tracedEnv(b.serviceEnv, b.sink.endpoint())
		b.sampler = defaultSampler(ctx, b.service)
		// Traced and untraced next to each other, in both orders.
		servers = []string{"generated", "traced", "bare"}
	}

	results := map[string][]measurement{} // key: server/protocol
	for round := range o.rounds {
		for _, proto := range o.protocols {
			order := slices.Clone(servers)
			if round%2 == 1 {
				slices.Reverse(order)
			}
			for _, name := range order {
				s := b.server(name, proto)
				fmt.Fprintf(stdout, "perf: round %d/%d, %s over %s\n", round+1, o.rounds, name, proto)
				m, err := measure(ctx, o, b, s, proto, stdout)
				if err != nil {
					return fmt.Errorf("%s over %s: %w", name, proto, err)
				}
				key := name + "/" + proto
				results[key] = append(results[key], m)
			}
		}
	}
	var flat *rssRun
	if o.rssDuration > 0 {
		fmt.Fprintf(stdout, "perf: %s full-load run of the generated service over h2c for RSS\n", o.rssDuration)
		if flat, err = measureRSS(ctx, o, b, b.server("generated", "h2c")); err != nil {
			return fmt.Errorf("rss run: %w", err)
		}
	}
	section := render(o, b, results, flat, loadBefore, loadavg())
	fmt.Fprint(stdout, "\n"+section)
	if o.doc == "" {
		return nil
	}
	return writeSection(o.doc, section)
}

// binaries are what build produces.
type binaries struct {
	service, loadgen, bare, bareGRPC string
	serviceEnv                       []string
	// tracedEnv is serviceEnv with tracing on, exporting to sink.
	tracedEnv []string
	sink      *sink
	// sampler is the service's default trace sampler, from its usage.
	sampler       string
	slo, scenario string
	results       string
	// grpcService is the items service's full name, for gRPC paths.
	grpcService string
}

// tracedEnv is the environment of the traced service: serviceEnv with
// only the OTLP endpoint set. Every other variable that would change what
// is traced or where it goes is cleared (exec keeps the last value of a
// variable), so the service runs at its default sampler whatever perf's
// own environment holds.
func tracedEnv(serviceEnv []string, endpoint string) []string {
	return append(slices.Clone(serviceEnv),
		"OTEL_SDK_DISABLED=", "OTEL_TRACES_EXPORTER=", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=",
		"OTEL_EXPORTER_OTLP_PROTOCOL=", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=",
		"OTEL_TRACES_SAMPLER=", "OTEL_TRACES_SAMPLER_ARG=",
		"OTEL_EXPORTER_OTLP_ENDPOINT="+endpoint)
}

// server returns the program that serves proto for name.
func (b *binaries) server(name, proto string) server {
	switch {
	case name == "generated":
		return server{name: name, bin: b.service, env: b.serviceEnv}
	case name == "traced":
		return server{name: name, bin: b.service, env: b.tracedEnv}
	case proto == "grpc":
		return server{name: name, bin: b.bareGRPC, args: []string{"-addr", "127.0.0.1:0"}}
	default:
		return server{name: name, bin: b.bare, args: []string{"-addr", "127.0.0.1:0"}}
	}
}

// build generates the project and builds the four programs, stripped as
// they would ship: the service by its own make build (-ldflags '-s -w' on
// the command line, which takes precedence over GOFLAGS), the others by
// GOFLAGS' -ldflags=-s, which drops DWARF too.
func build(ctx context.Context, o options, work string, stdout io.Writer) (*binaries, error) {
	f, err := os.Open(o.answers)
	if err != nil {
		return nil, fmt.Errorf("read answers (run make perf from the repository root): %w", err)
	}
	defer f.Close()
	spec, err := generator.ReadAnswers(o.answers, f, generator.DefaultSpec("demo"))
	if err != nil {
		return nil, err
	}
	files, err := generator.Render(templates.FS, spec)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(work, spec.Name)
	plan, err := generator.PlanWrite(dir, files, false)
	if err != nil {
		return nil, err
	}
	if err := (generator.Writer{}).Apply(ctx, plan); err != nil {
		return nil, err
	}
	bin := filepath.Join(work, "bin")
	b := &binaries{
		service:  filepath.Join(bin, spec.Name),
		loadgen:  filepath.Join(bin, "loadgen"),
		bare:     filepath.Join(bin, "bare"),
		slo:      filepath.Join(dir, "bench", "slo.yaml"),
		scenario: filepath.Join(work, "get.yaml"),
		results:  filepath.Join(work, "results"),
	}
	prefix := strings.ToUpper(strings.ReplaceAll(spec.Name, "-", "_")) + "_"
	b.serviceEnv = []string{
		prefix + "HTTP_ADDR=127.0.0.1:0", prefix + "GRPC_ADDR=127.0.0.1:0",
		prefix + "ADMIN_ADDR=127.0.0.1:0", prefix + "SHUTDOWN_DELAY=0s",
		// Tracing off, whatever perf's own environment says.
		"OTEL_SDK_DISABLED=true",
	}
	fmt.Fprintf(stdout, "perf: building %s, its load generator and the bare servers in %s\n", spec.Name, work)
	type step struct {
		dir  string
		args []string
	}
	steps := []step{
		{dir, []string{"go", "mod", "tidy"}},
		// The service is built by its own Makefile, exactly as users build
		// it (build tags and flags included), into perf's bin directory.
		{dir, []string{"make", "build", "BIN=" + bin}},
		{dir, []string{"go", "build", "-trimpath", "-o", b.loadgen, "./cmd/loadgen"}},
		{".", []string{"go", "build", "-trimpath", "-o", b.bare, "./internal/perf/bare"}},
	}
	var stubs string
	if b.grpcService, stubs, err = grpcAPI(dir); err != nil {
		return nil, err
	}
	if b.grpcService != "" {
		// The bare gRPC server is built inside the generated project, so it
		// serves the same .proto through the same generated stubs, with
		// the same grpcnotrace tag the project's Makefile builds with.
		if err := copyBareGRPC(filepath.Join("internal", "perf", "baregrpc", "main.go"), dir, stubs); err != nil {
			return nil, err
		}
		b.bareGRPC = filepath.Join(bin, "baregrpc")
		steps = append(steps, step{dir, []string{"go", "build", "-trimpath", "-tags", "grpcnotrace", "-o", b.bareGRPC, "./cmd/perf-baregrpc"}})
	}
	for _, s := range steps {
		cmd := exec.CommandContext(ctx, s.args[0], s.args[1:]...)
		cmd.Dir = s.dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -ldflags=-s", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%s: %w\n%s", strings.Join(s.args, " "), err, out)
		}
	}
	// Cached GETs only: the comparison is about the serving path.
	if err := os.WriteFile(b.scenario, []byte("items: 100\nmix:\n  - op: get\n    weight: 1\n"), 0o644); err != nil {
		return nil, err
	}
	return b, nil
}

var (
	protoPackage = regexp.MustCompile(`(?m)^package ([A-Za-z0-9_.]+);`)
	goPackage    = regexp.MustCompile(`(?m)^option go_package = "([^";]+)[^"]*";`)
	itemsService = regexp.MustCompile(`(?m)^service ItemsService \{`)
)

// grpcAPI returns the full name of the project's ItemsService and the Go
// import path of its stubs, or "" when the project has no gRPC API.
func grpcAPI(dir string) (service, importPath string, err error) {
	protos, err := filepath.Glob(filepath.Join(dir, "api", "proto", "*", "*", "*.proto"))
	if err != nil {
		return "", "", err
	}
	for _, p := range protos {
		data, err := os.ReadFile(p)
		if err != nil {
			return "", "", err
		}
		pkg, gopkg := protoPackage.FindSubmatch(data), goPackage.FindSubmatch(data)
		if pkg != nil && gopkg != nil && itemsService.Match(data) {
			return string(pkg[1]) + ".ItemsService", string(gopkg[1]), nil
		}
	}
	return "", "", nil
}

// bareGRPCStubs is the import path of the stubs internal/perf/baregrpc is
// written against: the default golden project's.
const bareGRPCStubs = "example.com/demo/api/proto/demo/v1"

// copyBareGRPC writes the bare gRPC server's source (internal/perf/baregrpc)
// into the generated project in dir as cmd/perf-baregrpc, importing that
// project's stubs from importPath.
func copyBareGRPC(srcPath, dir, importPath string) error {
	src, err := os.ReadFile(srcPath)
	if err != nil {
		return err
	}
	src = []byte(strings.ReplaceAll(string(src), `"`+bareGRPCStubs+`"`, `"`+importPath+`"`))
	dst := filepath.Join(dir, "cmd", "perf-baregrpc")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dst, "main.go"), src, 0o644)
}

// server is one program under test.
type server struct {
	name string
	bin  string
	args []string
	env  []string
}

// running is a started server.
type running struct {
	cmd   *exec.Cmd
	addrs map[string]string // by server kind: http, grpc, admin
	done  chan error
}

var listening = regexp.MustCompile(`"msg":"listening","server":"(http|grpc|admin)","addr":"([^"]+)"`)

// start runs s pinned to the server CPUs and waits until it reports the
// address of the server kind proto needs.
func start(ctx context.Context, o options, s server, proto string) (*running, error) {
	want := "http"
	if proto == "grpc" {
		want = "grpc"
	}
	name, args := s.bin, s.args
	if o.serverCPUs != "" {
		name, args = "taskset", append([]string{"-c", o.serverCPUs, s.bin}, s.args...)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), s.env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &running{cmd: cmd, addrs: map[string]string{}, done: make(chan error, 1)}
	// Every kind is reported at most once, before the wanted one or as it.
	addrc := make(chan [2]string, 3)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- [2]string{m[1], m[2]}
				if m[1] == want {
					break
				}
			}
		}
		// Keep draining the log so the server never blocks writing it.
		_, _ = io.Copy(io.Discard, out)
		r.done <- cmd.Wait()
	}()
	timeout := time.After(10 * time.Second)
	for r.addrs[want] == "" {
		select {
		case a := <-addrc:
			r.addrs[a[0]] = a[1]
		case err := <-r.done:
			return nil, fmt.Errorf("server exited during startup: %v", err)
		case <-timeout:
			r.stop()
			return nil, fmt.Errorf("server did not report its %s address within 10s", want)
		case <-ctx.Done():
			r.stop()
			return nil, ctx.Err()
		}
	}
	return r, nil
}

// stop ends the server gracefully and waits for it.
func (r *running) stop() {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}
