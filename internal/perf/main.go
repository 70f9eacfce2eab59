// Command perf measures a generated service against a bare net/http server
// serving the same JSON, and writes the ratios into docs/performance.md.
// `make perf` runs it from the repository root.
//
// It generates the default golden project, builds its service and its load
// generator (cmd/loadgen) and the bare server (internal/perf/bare), then, in
// one run, alternates the two servers under identical load: for each
// protocol (HTTP/1.1 and h2c) and round, each server is started alone,
// pinned to its own CPU apart from the load generator, its idle RSS is read,
// a closed loop finds its maximum throughput for cached GETs, and an open
// loop at a fixed rate measures its P99 and CPU per request. The order
// flips every round so drift on a shared machine hits both servers alike.
// A final long closed-loop run checks that the generated service's RSS stays
// flat at full load.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
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
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("perf", flag.ContinueOnError)
	fs.StringVar(&o.answers, "answers", "golden/default/.perfgen.yaml", "answers of the project to generate and measure")
	fs.StringVar(&o.doc, "doc", "docs/performance.md", `document whose "Generated service vs bare net/http" section is rewritten ("" to only print)`)
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each measures both servers over both protocols")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "warm-up before each measured window")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured window of each run")
	fs.IntVar(&o.rate, "rate", 10000, "open-loop rate for P99 and CPU per request, requests/s")
	fs.DurationVar(&o.rssDuration, "rss-duration", 75*time.Second, "length of the full-load run that checks RSS stays flat (0 to skip)")
	fs.StringVar(&o.serverCPUs, "server-cpus", "0", "taskset CPU list for the servers")
	fs.StringVar(&o.clientCPUs, "client-cpus", "1", "taskset CPU list for the load generator")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.rounds < 1 || o.duration <= 0 {
		return errors.New("rounds and duration must be positive")
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		o.serverCPUs, o.clientCPUs = "", ""
		fmt.Fprintln(stdout, "perf: taskset not found; servers and load generator share CPUs")
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

	servers := []server{
		{name: "generated", bin: b.service, env: b.serviceEnv},
		{name: "bare", bin: b.bare, args: []string{"-addr", "127.0.0.1:0"}},
	}
	results := map[string][]measurement{} // key: server/protocol
	for round := range o.rounds {
		for _, proto := range []string{"http1", "h2c"} {
			order := slices.Clone(servers)
			if round%2 == 1 {
				slices.Reverse(order)
			}
			for _, s := range order {
				fmt.Fprintf(stdout, "perf: round %d/%d, %s over %s\n", round+1, o.rounds, s.name, proto)
				m, err := measure(ctx, o, b, s, proto)
				if err != nil {
					return fmt.Errorf("%s over %s: %w", s.name, proto, err)
				}
				key := s.name + "/" + proto
				results[key] = append(results[key], m)
			}
		}
	}
	var flat *rssRun
	if o.rssDuration > 0 {
		fmt.Fprintf(stdout, "perf: %s full-load run of the generated service over h2c for RSS\n", o.rssDuration)
		if flat, err = measureRSS(ctx, o, b, servers[0]); err != nil {
			return fmt.Errorf("rss run: %w", err)
		}
	}
	section := render(o, results, flat, loadBefore, loadavg())
	fmt.Fprint(stdout, "\n"+section)
	if o.doc == "" {
		return nil
	}
	return writeSection(o.doc, section)
}

// binaries are what build produces.
type binaries struct {
	service, loadgen, bare string
	serviceEnv             []string
	slo, scenario          string
	results                string
}

// build generates the project and builds the three programs.
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
	}
	fmt.Fprintf(stdout, "perf: building %s, its load generator and the bare server in %s\n", spec.Name, work)
	steps := []struct {
		dir  string
		args []string
	}{
		{dir, []string{"go", "mod", "tidy"}},
		// The service is built by its own Makefile, exactly as users build
		// it (build tags and flags included), into perf's bin directory.
		{dir, []string{"make", "build", "BIN=" + bin}},
		{dir, []string{"go", "build", "-trimpath", "-o", b.loadgen, "./cmd/loadgen"}},
		{".", []string{"go", "build", "-trimpath", "-o", b.bare, "./internal/perf/bare"}},
	}
	for _, s := range steps {
		cmd := exec.CommandContext(ctx, s.args[0], s.args[1:]...)
		cmd.Dir = s.dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
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

// server is one program under test.
type server struct {
	name string
	bin  string
	args []string
	env  []string
}

// running is a started server.
type running struct {
	cmd  *exec.Cmd
	addr string
	done chan error
}

var listening = regexp.MustCompile(`"msg":"listening","server":"http","addr":"([^"]+)"`)

// start runs s pinned to the server CPUs and waits until it answers.
func start(ctx context.Context, o options, s server) (*running, error) {
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
	r := &running{cmd: cmd, done: make(chan error, 1)}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
				break
			}
		}
		// Keep draining the log so the server never blocks writing it.
		_, _ = io.Copy(io.Discard, out)
		r.done <- cmd.Wait()
	}()
	select {
	case r.addr = <-addrc:
	case err := <-r.done:
		return nil, fmt.Errorf("server exited during startup: %v", err)
	case <-time.After(10 * time.Second):
		r.stop()
		return nil, errors.New("server did not report its address within 10s")
	case <-ctx.Done():
		r.stop()
		return nil, ctx.Err()
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

// report is the part of cmd/loadgen's JSON report perf reads.
type report struct {
	ThroughputRPS float64 `json:"throughput_rps"`
	Requests      int64   `json:"requests"`
	Succeeded     int64   `json:"succeeded"`
	Latency       struct {
		P50 float64 `json:"p50"`
		P99 float64 `json:"p99"`
	} `json:"latency_ms"`
	MaxStartLagMillis float64 `json:"max_start_lag_ms"`
	Server            *struct {
		Cores      float64   `json:"cores"`
		CPUPercent float64   `json:"cpu_percent"`
		PeakRSSMiB float64   `json:"peak_rss_mib"`
		RSSMiB     []float64 `json:"rss_mib"`
	} `json:"server"`
}

// loadgen runs the load generator against r and returns its report. Its
// exit status is ignored on purpose: it fails a run that misses the SLO,
// and perf compares servers rather than checking objectives.
func loadgen(ctx context.Context, o options, b *binaries, r *running, proto, label string, extra ...string) (*report, error) {
	args := []string{
		"-transport", proto, "-addr", r.addr, "-pid", strconv.Itoa(r.cmd.Process.Pid), "-admin", "",
		"-slo", b.slo, "-scenario", b.scenario, "-out", b.results, "-label", label,
	}
	args = append(args, extra...)
	name := b.loadgen
	if o.clientCPUs != "" {
		name, args = "taskset", append([]string{"-c", o.clientCPUs, b.loadgen}, args...)
	}
	path := filepath.Join(b.results, label+".json")
	_ = os.Remove(path)
	out, _ := exec.CommandContext(ctx, name, args...).CombinedOutput()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load generator wrote no report:\n%s", out)
	}
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, err
	}
	if rep.Server == nil {
		return nil, fmt.Errorf("load generator could not read the server's CPU and RSS:\n%s", out)
	}
	return &rep, nil
}

// measurement is one server's figures over one protocol in one round.
type measurement struct {
	idleRSS       float64 // MiB, after startup, before any request
	maxRPS        float64 // closed loop
	maxCPUPercent float64 // server CPU in the closed loop, to tell whether it was the bottleneck
	perCoreRPS    float64 // closed loop: requests per server CPU-second, the capacity of one core
	p99           float64 // ms, open loop at the fixed rate
	cpuPerRequest float64 // µs, open loop at the fixed rate
	peakRSS       float64 // MiB, over both runs
	lag           float64 // ms, the load generator's worst start lag in the open loop
}

func measure(ctx context.Context, o options, b *binaries, s server, proto string) (measurement, error) {
	var m measurement
	r, err := start(ctx, o, s)
	if err != nil {
		return m, err
	}
	defer r.stop()
	time.Sleep(time.Second) // let startup garbage be collected before reading idle RSS
	if m.idleRSS, err = rssMiB(r.cmd.Process.Pid); err != nil {
		return m, err
	}
	window := []string{"-warmup", o.warmup.String(), "-duration", o.duration.String()}
	closed, err := loadgen(ctx, o, b, r, proto, "closed", append(window, "-mode", "closed", "-workers", "64")...)
	if err != nil {
		return m, err
	}
	open, err := loadgen(ctx, o, b, r, proto, "open", append(window, "-mode", "open", "-rate", strconv.Itoa(o.rate))...)
	if err != nil {
		return m, err
	}
	m.maxRPS = closed.ThroughputRPS
	m.maxCPUPercent = closed.Server.CPUPercent
	if busy := closed.Server.CPUPercent / 100 * closed.Server.Cores; busy > 0 {
		m.perCoreRPS = closed.ThroughputRPS / busy
	}
	m.p99 = open.Latency.P99
	if open.ThroughputRPS > 0 {
		m.cpuPerRequest = open.Server.CPUPercent / 100 * open.Server.Cores / open.ThroughputRPS * 1e6
	}
	m.peakRSS = max(closed.Server.PeakRSSMiB, open.Server.PeakRSSMiB)
	m.lag = open.MaxStartLagMillis
	return m, nil
}

// rssMiB reads a process's resident memory.
func rssMiB(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kib / 1024, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// rssRun is the long full-load run's memory profile.
type rssRun struct {
	duration            time.Duration
	rps                 float64
	first, last, peak   float64 // MiB
	firstTail, lastTail float64 // mean of the first and last 10 % of samples
}

func measureRSS(ctx context.Context, o options, b *binaries, s server) (*rssRun, error) {
	r, err := start(ctx, o, s)
	if err != nil {
		return nil, err
	}
	defer r.stop()
	rep, err := loadgen(ctx, o, b, r, "h2c", "rss", "-mode", "closed", "-workers", "64",
		"-warmup", "5s", "-duration", o.rssDuration.String(), "-sample-interval", "1s")
	if err != nil {
		return nil, err
	}
	samples := rep.Server.RSSMiB
	if len(samples) < 10 {
		return nil, fmt.Errorf("only %d RSS samples", len(samples))
	}
	tenth := len(samples) / 10
	mean := func(xs []float64) float64 {
		var sum float64
		for _, x := range xs {
			sum += x
		}
		return sum / float64(len(xs))
	}
	return &rssRun{
		duration: o.rssDuration, rps: rep.ThroughputRPS,
		first: samples[0], last: samples[len(samples)-1], peak: rep.Server.PeakRSSMiB,
		firstTail: mean(samples[:tenth]), lastTail: mean(samples[len(samples)-tenth:]),
	}, nil
}

func median(ms []measurement, f func(measurement) float64) float64 {
	xs := make([]float64, len(ms))
	for i, m := range ms {
		xs[i] = f(m)
	}
	slices.Sort(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

// heading starts the section perf owns in the document.
const heading = "## Generated service vs bare net/http"

// loadavg returns the 1-, 5- and 15-minute load averages, to show how busy
// the machine was.
func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	fields := strings.Fields(string(data))
	if err != nil || len(fields) < 3 {
		return "unknown"
	}
	return strings.Join(fields[:3], " ")
}

func render(o options, results map[string][]measurement, flat *rssRun, loadBefore, loadAfter string) string {
	var b strings.Builder
	b.WriteString(heading + "\n\n")
	b.WriteString("The default golden project's service against a bare net/http server (`internal/perf/bare`: the same\n")
	b.WriteString("JSON from a map behind a RWMutex, no metrics, limits or timeouts), measured alternately in one run,\n")
	fmt.Fprintf(&b, "each server alone on CPU %s and the load generator (`cmd/loadgen` of the generated project) on CPU %s.\n", orAll(o.serverCPUs), orAll(o.clientCPUs))
	fmt.Fprintf(&b, "Cached GETs of 100 pre-created items; %d rounds, medians shown; each run %s after %s warm-up.\n", o.rounds, o.duration, o.warmup)
	b.WriteString("Throughput is a closed loop (64 workers); P99 and CPU per request are an open loop at ")
	fmt.Fprintf(&b, "%d requests/s, latency taken from each request's intended send time. Ratios are generated / bare.\n\n", o.rate)
	b.WriteString("```sh\nmake perf   # go run ./internal/perf\n```\n\n")
	b.WriteString("| protocol | metric | generated | bare | ratio | ratio by round | target |\n|---|---|---|---|---|---|---|\n")
	for _, proto := range []string{"http1", "h2c"} {
		g, bare := results["generated/"+proto], results["bare/"+proto]
		row := func(metric, unit string, f func(measurement) float64, target string) {
			gv, bv := median(g, f), median(bare, f)
			ratio := "n/a"
			if bv > 0 {
				ratio = fmt.Sprintf("%.2fx", gv/bv)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", proto, metric, num(gv, unit), num(bv, unit), ratio, roundRatios(g, bare, f), target)
		}
		row("max throughput", "req/s", func(m measurement) float64 { return m.maxRPS }, "≥ 1.0x")
		row("server CPU at max throughput", "%", func(m measurement) float64 { return m.maxCPUPercent }, "")
		row("requests per server CPU-second at max throughput", "req/s", func(m measurement) float64 { return m.perCoreRPS }, "≥ 1.0x")
		row(fmt.Sprintf("P99 at %d req/s", o.rate), "ms", func(m measurement) float64 { return m.p99 }, "≤ 1.1x")
		row(fmt.Sprintf("CPU per request at %d req/s", o.rate), "µs", func(m measurement) float64 { return m.cpuPerRequest }, "≤ 1.1x")
		row("idle RSS", "MiB", func(m measurement) float64 { return m.idleRSS }, "generated ≤ 12 MiB")
		row("peak RSS under load", "MiB", func(m measurement) float64 { return m.peakRSS }, "")
		row("load generator's worst start lag", "ms", func(m measurement) float64 { return m.lag }, "")
	}
	if flat != nil {
		fmt.Fprintf(&b, "\nRSS of the generated service over %s at full load (closed loop over h2c, %s): first sample %s,\n",
			flat.duration, num(flat.rps, "req/s"), num(flat.first, "MiB"))
		fmt.Fprintf(&b, "last %s, peak %s; mean of the first tenth of the samples %s, of the last tenth %s (%+.1f %%).\n",
			num(flat.last, "MiB"), num(flat.peak, "MiB"), num(flat.firstTail, "MiB"), num(flat.lastTail, "MiB"), 100*(flat.lastTail/flat.firstTail-1))
	}
	fmt.Fprintf(&b, "\nMachine load averages (1, 5, 15 min) before the run `%s`, after it `%s`, on %d CPUs. A worst start lag above a\n", loadBefore, loadAfter, runtime.NumCPU())
	b.WriteString("millisecond means the load generator itself was short of CPU, usually because other work shared the machine.\n")
	b.WriteString("Max throughput compares the servers only when both ran their CPU near 100 %; below that the single-CPU load\n")
	b.WriteString("generator, not the server, set the pace, and the ratio understates the faster server. Requests per server\n")
	b.WriteString("CPU-second is the capacity of one core either way, so it is the fairer throughput comparison here.\n")
	return b.String()
}

// roundRatios lists generated / bare for each round, in round order: the
// spread shows how much of a median ratio is the machine's noise.
func roundRatios(g, bare []measurement, f func(measurement) float64) string {
	ratios := make([]string, 0, len(g))
	for i := range min(len(g), len(bare)) {
		if bv := f(bare[i]); bv > 0 {
			ratios = append(ratios, fmt.Sprintf("%.2f", f(g[i])/bv))
		} else {
			ratios = append(ratios, "n/a")
		}
	}
	return strings.Join(ratios, ", ")
}

func orAll(cpus string) string {
	if cpus == "" {
		return "any"
	}
	return cpus
}

func num(v float64, unit string) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 10:
		return fmt.Sprintf("%.1f %s", v, unit)
	default:
		return fmt.Sprintf("%.2f %s", v, unit)
	}
}

// writeSection replaces the section under heading in path, up to the next
// second-level heading, or appends it.
func writeSection(path, section string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc := string(data)
	if i := strings.Index(doc, heading+"\n"); i >= 0 {
		rest := doc[i+len(heading):]
		end := len(doc)
		if j := strings.Index(rest, "\n## "); j >= 0 {
			end = i + len(heading) + j + 1
		}
		doc = doc[:i] + section + "\n" + doc[end:]
	} else {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + section
	}
	doc = strings.TrimRight(doc, "\n") + "\n"
	return os.WriteFile(path, []byte(doc), 0o644)
}
