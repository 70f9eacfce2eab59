package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// rssRun is the long full-load run's memory profile.
type rssRun struct {
	duration            time.Duration
	rps                 float64
	first, last, peak   float64 // MiB
	firstTail, lastTail float64 // mean of the first and last 10 % of samples
}

// measureRSS runs the generated service at full load for o.rssDuration
// with cmd/loadgen, which samples its RSS once a second. The run states no
// latency or CPU, so the client's own cost does not matter here, and
// loadgen's sampling is aligned with its measured window.
func measureRSS(ctx context.Context, o options, b *binaries, s server) (*rssRun, error) {
	r, err := start(ctx, o, s, "h2c")
	if err != nil {
		return nil, err
	}
	defer r.stop()
	rep, err := loadgen(ctx, o, b, r, "h2c", "rss", "-mode", "closed", "-workers", "64",
		"-warmup", "5s", "-duration", o.rssDuration.String(), "-sample-interval", "1s")
	if err != nil {
		return nil, err
	}
	return rssProfile(rep, o.rssDuration)
}

// rssProfile summarises the RSS samples of loadgen's report of a run of d.
func rssProfile(rep *report, d time.Duration) (*rssRun, error) {
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
		duration: d, rps: rep.ThroughputRPS,
		first: samples[0], last: samples[len(samples)-1], peak: rep.Server.PeakRSSMiB,
		firstTail: mean(samples[:tenth]), lastTail: mean(samples[len(samples)-tenth:]),
	}, nil
}

func median(ms []measurement, f func(measurement) float64) float64 {
	if len(ms) == 0 {
		return 0
	}
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
const heading = "## Generated service vs bare servers"

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

const (
	// serverSaturated is the server CPU share below which a saturation run
	// did not saturate the server.
	serverSaturated = 0.90
	// rateReached is the share of the fixed rate an open loop must reach
	// for its latency and CPU to count as measured at that rate.
	rateReached = 0.95
)

// targets are the goals for the ratios, by protocol and metric.
var targets = map[string]string{
	"http1 throughput": "≥ 1.05x", "http1 per-cpu": "≥ 1.05x",
	"h2c throughput": "≥ 1.0x", "h2c per-cpu": "≥ 1.0x",
	"grpc throughput": "≥ 0.95x", "grpc per-cpu": "≥ 0.95x",
	"p99 sat": "≤ 1.1x", "p99 open": "≤ 1.0x", "cpu open": "≤ 1.0x",
	"idle rss": "generated ≤ 10 MiB", "size": "generated ≤ 12 MiB",
}

func render(o options, b *binaries, results map[string][]measurement, flat *rssRun, loadBefore, loadAfter string) string {
	var w strings.Builder
	w.WriteString(heading + "\n\n")
	fmt.Fprintf(&w, "The default golden project's service against bare servers for the same API, alternating in one run, each\n")
	fmt.Fprintf(&w, "server alone on CPU %s and the load client on CPU %s: `internal/perf/bare` (net/http, a map behind a RWMutex,\n", orAll(o.serverCPUs), orAll(o.clientCPUs))
	w.WriteString("`encoding/json` per request, no metrics, limits or timeouts) for HTTP/1.1 and h2c, and `internal/perf/baregrpc`\n")
	w.WriteString("(grpc-go with no options or interceptors, the same `.proto` and stubs) for gRPC. A cached GET of one item.\n")
	fmt.Fprintf(&w, "Rounds: %d, medians shown; each run %s after a %s warm-up run. Ratios are generated / bare; the spread is the\n", o.rounds, o.duration, o.warmup)
	w.WriteString("lowest and highest ratio of single rounds.\n\n")
	w.WriteString("Saturation: `wrk -t1 -c64 --latency` (HTTP/1.1) and `h2load -t1` with 64 connections x 1 stream and 4 x 16\n")
	w.WriteString("(h2c, and gRPC with a framed `GetItem` body whose `grpc-status` perf checks first, as h2load reads no\n")
	w.WriteString("trailers); h2load's rate and percentiles come from its per-request log. Fixed rate: an open loop of\n")
	conns, perConn, _ := splitRate(o.rate)
	fmt.Fprintf(&w, "`h2load --rps` at %d req/s, %d connections x %d req/s (`--h1` and one request in flight per connection over\n", o.rate, conns, perConn)
	fmt.Fprintf(&w, "HTTP/1.1; up to %d streams per connection over h2c and gRPC), measured after a %s `--warm-up-time` in the same\n", fixedRateStreams, o.warmup)
	w.WriteString("run. Latency runs from each request's send, which is its scheduled time unless its connection already has\n")
	w.WriteString("its maximum in flight: only then does a request wait, uncounted, for one to finish (coordinated omission\n")
	w.WriteString("past that point only). Client and server CPU are read from `/proc/PID/stat` over each run; a run\n")
	fmt.Fprintf(&w, "whose client used more than %.0f %% of its core is flagged **client-bound**: it measured the client, not the server.\n\n", 100*clientBoundShare)
	w.WriteString("```sh\nmake perf   # go run ./internal/perf; short check: go run ./internal/perf -rounds 1 -duration 3s -rss-duration 0 -doc ''\n```\n\n")
	w.WriteString("| protocol | metric | generated | bare | ratio | spread | client CPU (max: generated, bare) | target |\n")
	w.WriteString("|---|---|---|---|---|---|---|---|\n")
	var flagged, unsaturated, slow []string
	for _, proto := range o.protocols {
		g, bare := results["generated/"+proto], results["bare/"+proto]
		row := func(metric, unit string, f func(measurement) float64, client func(measurement) float64, target string) {
			gv, bv := median(g, f), median(bare, f)
			ratio := "n/a"
			if bv > 0 {
				ratio = fmt.Sprintf("%.2fx", gv/bv)
			}
			cpu := ""
			if client != nil {
				gc, bc := maxOf(g, client), maxOf(bare, client)
				cpu = fmt.Sprintf("%.0f %%, %.0f %%", 100*gc, 100*bc)
				if clientBound(gc) || clientBound(bc) {
					cpu += " **client-bound**"
					flagged = append(flagged, proto+" "+metric)
				}
			}
			fmt.Fprintf(&w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", proto, metric, num(gv, unit), num(bv, unit), ratio, spread(g, bare, f), cpu, target)
		}
		for _, sh := range shapes(proto) {
			for _, ms := range [][]measurement{g, bare} {
				if cpu := median(ms, func(m measurement) float64 { return m.sat[sh.name].serverCPU }); cpu < serverSaturated {
					unsaturated = append(unsaturated, fmt.Sprintf("%s %s (%.0f %%)", proto, sh.name, 100*cpu))
					break
				}
			}
			sat := func(f func(loadRun) float64) func(measurement) float64 {
				return func(m measurement) float64 { return f(m.sat[sh.name]) }
			}
			client := sat(func(r loadRun) float64 { return r.clientCPU })
			row(sh.name+": throughput at saturation", "req/s", sat(func(r loadRun) float64 { return r.rps }), client, targets[proto+" throughput"])
			row(sh.name+": requests per server CPU-second", "req/s", sat(func(r loadRun) float64 {
				if r.serverCPU == 0 {
					return 0
				}
				return r.rps / r.serverCPU
			}), nil, targets[proto+" per-cpu"])
			row(sh.name+": server CPU at saturation", "%", sat(func(r loadRun) float64 { return 100 * r.serverCPU }), nil, "")
			row(sh.name+": p50 at saturation", "ms", sat(func(r loadRun) float64 { return r.p50 }), nil, "")
			row(sh.name+": p99 at saturation", "ms", sat(func(r loadRun) float64 { return r.p99 }), nil, targets["p99 sat"])
			row(sh.name+": errors", "", sat(func(r loadRun) float64 { return float64(r.errors) }), nil, "")
		}
		open := func(f func(loadRun) float64) func(measurement) float64 {
			return func(m measurement) float64 { return f(m.open) }
		}
		at := fmt.Sprintf("at %d req/s", o.rate)
		for _, ms := range [][]measurement{g, bare} {
			if reached := median(ms, func(m measurement) float64 { return m.open.rps }); reached < rateReached*float64(o.rate) {
				slow = append(slow, fmt.Sprintf("%s (%.0f req/s)", proto, reached))
				break
			}
		}
		row("throughput reached "+at, "req/s", open(func(r loadRun) float64 { return r.rps }), open(func(r loadRun) float64 { return r.clientCPU }), "")
		row("p50 "+at, "ms", open(func(r loadRun) float64 { return r.p50 }), nil, "")
		row("p99 "+at, "ms", open(func(r loadRun) float64 { return r.p99 }), nil, targets["p99 open"])
		row("server CPU "+at, "%", open(func(r loadRun) float64 { return 100 * r.serverCPU }), nil, targets["cpu open"])
		row("idle RSS", "MiB", func(m measurement) float64 { return m.idleRSS }, nil, targets["idle rss"])
		row("peak RSS", "MiB", func(m measurement) float64 { return m.peakRSS }, nil, "")
	}
	sizes := [][2]string{{"HTTP/1.1 and h2c", b.bare}}
	if b.bareGRPC != "" {
		sizes = append(sizes, [2]string{"gRPC", b.bareGRPC})
	}
	for _, s := range sizes {
		gs, bs := fileMiB(b.service), fileMiB(s[1])
		ratio := "n/a"
		if bs > 0 {
			ratio = fmt.Sprintf("%.2fx", gs/bs)
		}
		fmt.Fprintf(&w, "| %s | stripped binary size | %s | %s | %s |  |  | %s |\n", s[0], num(gs, "MiB"), num(bs, "MiB"), ratio, targets["size"])
	}
	if len(flagged) > 0 {
		fmt.Fprintf(&w, "\n**Client-bound runs** (their throughput is a floor for the server, not its capacity): %s.\n", strings.Join(flagged, "; "))
	}
	if len(unsaturated) > 0 {
		fmt.Fprintf(&w, "\n**Server not saturated** (median server CPU below %.0f %% of its core, so other work on the machine, not the\n", 100*serverSaturated)
		fmt.Fprintf(&w, "client, held it back; compare requests per server CPU-second instead): %s.\n", strings.Join(unsaturated, "; "))
	}
	if len(slow) > 0 {
		fmt.Fprintf(&w, "\n**Fixed rate not reached** (below %.0f %% of %d req/s; latency and CPU there are not at the stated rate): %s.\n",
			100*rateReached, o.rate, strings.Join(slow, "; "))
	}
	if o.tracing {
		renderTracing(&w, o, b, results)
	}
	if flat != nil {
		fmt.Fprintf(&w, "\nRSS of the generated service over %s at full load (`cmd/loadgen -mode closed -workers 64` over h2c, %s): first sample %s,\n",
			flat.duration, num(flat.rps, "req/s"), num(flat.first, "MiB"))
		fmt.Fprintf(&w, "last %s, peak %s; mean of the first tenth of the samples %s, of the last tenth %s (%+.1f %%).\n",
			num(flat.last, "MiB"), num(flat.peak, "MiB"), num(flat.firstTail, "MiB"), num(flat.lastTail, "MiB"), 100*(flat.lastTail/flat.firstTail-1))
	}
	fmt.Fprintf(&w, "\nMachine load averages (1, 5, 15 min) before the run `%s`, after it `%s`, on %d CPUs.\n", loadBefore, loadAfter, runtime.NumCPU())
	return w.String()
}

// fileMiB is a file's size, or 0 when it cannot be read.
func fileMiB(path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / (1 << 20)
}

func maxOf(ms []measurement, f func(measurement) float64) float64 {
	var v float64
	for _, m := range ms {
		v = max(v, f(m))
	}
	return v
}

// roundRatios lists generated / bare for each round, in round order.
func roundRatios(g, bare []measurement, f func(measurement) float64) []float64 {
	var ratios []float64
	for i := range min(len(g), len(bare)) {
		if bv := f(bare[i]); bv > 0 {
			ratios = append(ratios, f(g[i])/bv)
		}
	}
	return ratios
}

// spread shows the lowest and highest single-round ratio: how much of a
// median ratio is the machine's noise.
func spread(g, bare []measurement, f func(measurement) float64) string {
	r := roundRatios(g, bare, f)
	switch len(r) {
	case 0:
		return "n/a"
	case 1:
		return fmt.Sprintf("%.2f", r[0])
	}
	return fmt.Sprintf("%.2f–%.2f", slices.Min(r), slices.Max(r))
}

func orAll(cpus string) string {
	if cpus == "" {
		return "any"
	}
	return cpus
}

func num(v float64, unit string) string {
	var s string
	switch {
	case v >= 1000 || v == 0:
		s = fmt.Sprintf("%.0f", v)
	case v >= 10:
		s = fmt.Sprintf("%.1f", v)
	default:
		s = fmt.Sprintf("%.2f", v)
	}
	if unit == "" {
		return s
	}
	return s + " " + unit
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

// cpuPerRequest is the server's CPU time per request of a run, in µs.
func cpuPerRequest(r loadRun) float64 {
	if r.rps == 0 {
		return 0
	}
	return r.serverCPU / r.rps * 1e6
}

// renderTracing writes the cost of tracing: the generated service with
// tracing on against off, at the fixed rate, from the same rounds.
func renderTracing(w *strings.Builder, o options, b *binaries, results map[string][]measurement) {
	sampler := "unknown"
	if b.sampler != "" {
		sampler = b.sampler
	}
	fmt.Fprintf(w, "\n### Tracing on vs off at %d req/s\n\n", o.rate)
	w.WriteString("The generated service with tracing switched on by `OTEL_EXPORTER_OTLP_ENDPOINT` alone, so at its default\n")
	fmt.Fprintf(w, "sampler (`%s`, from its `-h`; h2load sends no `traceparent`, so every request starts a trace), exporting\n", sampler)
	fmt.Fprintf(w, "OTLP/HTTP to a sink on loopback that perf serves from CPU %s and that counts the spans received; against\n", orAll(o.clientCPUs))
	w.WriteString("the same service with tracing off, in the same rounds and next to it in each. Ratios are on / off; spans\n")
	w.WriteString("and exports per second are over the whole h2load run, warm-up included.\n\n")
	w.WriteString("| protocol | metric | tracing on | tracing off | ratio | spread |\n")
	w.WriteString("|---|---|---|---|---|---|\n")
	var slow []string
	for _, proto := range o.protocols {
		on, off := results["traced/"+proto], results["generated/"+proto]
		if reached := median(on, func(m measurement) float64 { return m.open.rps }); reached < rateReached*float64(o.rate) {
			slow = append(slow, fmt.Sprintf("%s (%.0f req/s)", proto, reached))
		}
		row := func(metric, unit string, f func(measurement) float64) {
			nv, fv := median(on, f), median(off, f)
			ratio := "n/a"
			if fv > 0 {
				ratio = fmt.Sprintf("%.2fx", nv/fv)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", proto, metric, num(nv, unit), num(fv, unit), ratio, spread(on, off, f))
		}
		open := func(f func(loadRun) float64) func(measurement) float64 {
			return func(m measurement) float64 { return f(m.open) }
		}
		row("throughput reached", "req/s", open(func(r loadRun) float64 { return r.rps }))
		row("server CPU", "%", open(func(r loadRun) float64 { return 100 * r.serverCPU }))
		row("server CPU per request", "µs", open(cpuPerRequest))
		row("p50", "ms", open(func(r loadRun) float64 { return r.p50 }))
		row("p99", "ms", open(func(r loadRun) float64 { return r.p99 }))
		spans := median(on, func(m measurement) float64 { return m.spansPerSec })
		exports := median(on, func(m measurement) float64 { return m.exportsPerSec })
		fmt.Fprintf(w, "| %s | spans received by the sink | %s in %s |  |  |  |\n", proto, num(spans, "/s"), num(exports, "exports/s"))
		dropped := "n/a"
		if slices.IndexFunc(on, func(m measurement) bool { return m.droppedPerSec < 0 }) < 0 {
			dropped = num(median(on, func(m measurement) float64 { return m.droppedPerSec }), "/s")
		}
		fmt.Fprintf(w, "| %s | spans dropped by the service (export queue full) | %s |  |  |  |\n", proto, dropped)
	}
	if len(slow) > 0 {
		fmt.Fprintf(w, "\n**Fixed rate not reached with tracing on** (below %.0f %% of %d req/s): %s.\n",
			100*rateReached, o.rate, strings.Join(slow, "; "))
	}
}
