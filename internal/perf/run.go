package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// shape is one way of driving a server to saturation.
type shape struct {
	name string // as reported, e.g. "h2load 64x1"
	tool string // wrk or h2load
	args []string
}

// shapes returns the saturation runs of proto.
func shapes(proto string) []shape {
	if proto == "http1" {
		return []shape{{"wrk 64 conns", "wrk", []string{"-t1", "-c64", "--latency", "--timeout", "5s"}}}
	}
	return []shape{
		{"h2load 64x1", "h2load", []string{"-t1", "-c64", "-m1"}},
		{"h2load 4x16", "h2load", []string{"-t1", "-c4", "-m16"}},
	}
}

// target is what the load clients request from a started server.
type target struct {
	url  string // the cached GET, or the gRPC method's URL
	body string // for gRPC: the file holding the framed GetItemRequest
}

// loadRun is one measured run: the tool's figures and both processes' CPU.
type loadRun struct {
	result
	clientCPU float64 // share of the client's one core
	serverCPU float64 // cores the server used
	// errorKinds describes the failures h2load reports, for the log.
	errorKinds []string
}

// measurement is one server's figures over one protocol in one round.
type measurement struct {
	idleRSS, peakRSS float64 // MiB
	sat              map[string]loadRun
	open             loadRun // h2load --rps at the fixed rate
	// spansPerSec and exportsPerSec are what the trace sink received per
	// second of the fixed-rate run (traced variant only).
	spansPerSec, exportsPerSec float64
	// droppedPerSec is the spans the service dropped because its export
	// queue was full, per second of the same run; -1 when its metrics
	// could not be read.
	droppedPerSec float64
}

func measure(ctx context.Context, o options, b *binaries, s server, proto string, stdout io.Writer) (measurement, error) {
	m := measurement{sat: map[string]loadRun{}}
	r, err := start(ctx, o, s, proto)
	if err != nil {
		return m, err
	}
	defer r.stop()
	pid := r.cmd.Process.Pid
	time.Sleep(time.Second) // let startup garbage be collected before reading idle RSS
	if m.idleRSS, err = procStatusMiB(pid, "VmRSS:"); err != nil {
		return m, err
	}
	t, err := seed(ctx, b, r, proto)
	if err != nil {
		return m, err
	}
	// The traced variant is measured at the fixed rate only.
	for _, sh := range shapes(proto) {
		if s.name == "traced" {
			break
		}
		if _, err := saturate(ctx, o, sh, t, o.warmup, pid); err != nil {
			return m, fmt.Errorf("%s warm-up: %w", sh.name, err)
		}
		run, err := saturate(ctx, o, sh, t, o.duration, pid)
		if err != nil {
			return m, fmt.Errorf("%s: %w", sh.name, err)
		}
		m.sat[sh.name] = run
		fmt.Fprintf(stdout, "perf:   %-13s %s\n", sh.name, describe(run))
	}
	var reqs0, spans0 int64
	began := time.Now()
	dropped0, dropErr := spansDropped(ctx, r)
	if b.sink != nil {
		reqs0, spans0 = b.sink.counts()
	}
	if m.open, err = openLoop(ctx, o, t, proto, pid); err != nil {
		return m, fmt.Errorf("fixed rate: %w", err)
	}
	fmt.Fprintf(stdout, "perf:   %-13s %s\n", "h2load --rps", describe(m.open))
	if s.name == "traced" {
		// Spans are exported in batches of up to 512, or after the
		// batch delay: wait for those of the run's last requests.
		time.Sleep(time.Second)
		reqs, spans := b.sink.counts()
		secs := time.Since(began).Seconds() - 1
		// Over the whole h2load run, warm-up included: its requests were
		// traced too.
		m.spansPerSec, m.exportsPerSec = float64(spans-spans0)/secs, float64(reqs-reqs0)/secs
		m.droppedPerSec = -1
		if dropped, err := spansDropped(ctx, r); err == nil && dropErr == nil {
			m.droppedPerSec = (dropped - dropped0) / secs
		}
		fmt.Fprintf(stdout, "perf:   %-13s %.0f spans/s in %.1f exports/s; the service dropped %.0f spans/s\n", "trace sink", m.spansPerSec, m.exportsPerSec, m.droppedPerSec)
	}
	if m.peakRSS, err = procStatusMiB(pid, "VmHWM:"); err != nil {
		return m, err
	}
	return m, nil
}

// describe is a run's progress line; it names a client-bound run.
func describe(r loadRun) string {
	line := fmt.Sprintf("%.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors, server CPU %.0f %%, client CPU %.0f %%",
		r.rps, r.p50, r.p99, r.errors, 100*r.serverCPU, 100*r.clientCPU)
	if clientBound(r.clientCPU) {
		line += " CLIENT-BOUND"
	}
	if len(r.errorKinds) > 0 {
		line += "; errors: " + strings.Join(r.errorKinds, "; ")
	}
	return line
}

// seed creates one item and returns how the clients read it back.
func seed(ctx context.Context, b *binaries, r *running, proto string) (target, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if proto != "grpc" {
		base := "http://" + r.addrs["http"]
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/items", strings.NewReader(`{"name":"perf widget","quantity":"3"}`))
		if err != nil {
			return target{}, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return target{}, err
		}
		defer resp.Body.Close()
		var it struct {
			ID string `json:"id"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&it); err != nil || it.ID == "" {
			return target{}, fmt.Errorf("create an item: status %s, %v", resp.Status, err)
		}
		return target{url: base + "/v1/items/" + it.ID}, nil
	}
	base := "http://" + r.addrs["grpc"] + "/" + b.grpcService + "/"
	var req []byte
	req = protowire.AppendTag(req, 1, protowire.BytesType)
	req = protowire.AppendString(req, "perf widget")
	req = protowire.AppendTag(req, 2, protowire.VarintType)
	req = protowire.AppendVarint(req, 3)
	item, err := grpcCall(ctx, base+"CreateItem", req)
	if err != nil {
		return target{}, fmt.Errorf("CreateItem: %w", err)
	}
	id := stringField(item, 1)
	if id == "" {
		return target{}, errors.New("CreateItem answered an item without an id")
	}
	get := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), id)
	// h2load cannot read trailers, where gRPC puts a call's status: check
	// here that the exact request it will send succeeds.
	if got, err := grpcCall(ctx, base+"GetItem", get); err != nil || stringField(got, 1) != id {
		return target{}, fmt.Errorf("GetItem of the created item: %v", err)
	}
	body := filepath.Join(b.results, "getitem.bin")
	if err := os.MkdirAll(b.results, 0o755); err != nil {
		return target{}, err
	}
	if err := os.WriteFile(body, grpcFrame(get), 0o644); err != nil {
		return target{}, err
	}
	return target{url: base + "GetItem", body: body}, nil
}

// grpcFrame prefixes msg with gRPC's length-prefixed message header.
func grpcFrame(msg []byte) []byte {
	out := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(out[1:], uint32(len(msg))) // #nosec G115 -- a small request
	return append(out, msg...)
}

// grpcCall makes one unary gRPC call over h2c with net/http and returns the
// response message, or the call's gRPC status as an error.
func grpcCall(ctx context.Context, url string, msg []byte) ([]byte, error) {
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: &protos}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(grpcFrame(msg)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	status := resp.Trailer.Get("Grpc-Status")
	if status == "" { // a trailers-only answer
		status = resp.Header.Get("Grpc-Status")
	}
	if status != "0" {
		return nil, fmt.Errorf("grpc-status %q: %s", status, resp.Trailer.Get("Grpc-Message")+resp.Header.Get("Grpc-Message"))
	}
	if len(data) < 5 || int(binary.BigEndian.Uint32(data[1:5])) != len(data)-5 {
		return nil, fmt.Errorf("malformed gRPC response of %d bytes", len(data))
	}
	return data[5:], nil
}

// stringField returns the first string field num of a protobuf message.
func stringField(msg []byte, num protowire.Number) string {
	for len(msg) > 0 {
		n, typ, l := protowire.ConsumeTag(msg)
		if l < 0 {
			return ""
		}
		msg = msg[l:]
		if n == num && typ == protowire.BytesType {
			v, _ := protowire.ConsumeString(msg)
			return v
		}
		l = protowire.ConsumeFieldValue(n, typ, msg)
		if l < 0 {
			return ""
		}
		msg = msg[l:]
	}
	return ""
}

// saturate runs sh against t for d and measures it.
func saturate(ctx context.Context, o options, sh shape, t target, d time.Duration, serverPID int) (loadRun, error) {
	secs := strconv.Itoa(int(d.Seconds()))
	if sh.tool == "h2load" {
		return h2load(ctx, o, serverPID, t, 0, append(slices.Clone(sh.args), "-D", secs))
	}
	run, out, err := drive(ctx, o, serverPID, sh.tool, append(slices.Clone(sh.args), "-d", secs+"s", t.url)...)
	if err != nil {
		return run, fmt.Errorf("%w\n%s", err, out)
	}
	if run.result, err = parseWrk(out); err != nil {
		return run, fmt.Errorf("%w\n%s", err, out)
	}
	return run, nil
}

// h2load runs h2load with args against t and measures it: its summary for
// the requests and errors, its per-request log for the rate and the
// percentiles of the requests that started after warmup (h2load's
// --warm-up-time in args, or 0).
func h2load(ctx context.Context, o options, serverPID int, t target, warmup time.Duration, args []string) (loadRun, error) {
	f, err := os.CreateTemp("", "perf-h2load-*.log")
	if err != nil {
		return loadRun{}, err
	}
	log := f.Name()
	f.Close()
	defer os.Remove(log)
	args = append(args, "--log-file", log)
	if t.body != "" {
		args = append(args, "-d", t.body, "-H", "content-type: application/grpc", "-H", "te: trailers")
	}
	// h2load's warm-up starts with its first connection, a little after
	// this: the few requests of that gap count as measured.
	from := time.Now().Add(warmup)
	run, out, err := drive(ctx, o, serverPID, "h2load", append(args, t.url)...)
	if err != nil {
		return run, fmt.Errorf("%w\n%s", err, out)
	}
	if run.result, err = parseH2load(out); err != nil {
		return run, fmt.Errorf("%w\n%s", err, out)
	}
	run.errorKinds = h2loadErrorKinds(out)
	if f, err = os.Open(log); err != nil {
		return run, err
	}
	defer f.Close()
	l, err := parseH2loadLog(f, from)
	if err != nil {
		return run, fmt.Errorf("%w\n%s", err, out)
	}
	run.rps, run.p50, run.p99 = l.rps, l.p50, l.p99
	return run, nil
}

// maxConnRate is the most requests per second a fixed-rate run offers on
// one connection. h2load's --rps timer fires at most every 10 ms and then
// submits every request due since its last tick, so a connection offered
// more than 100 req/s sends bursts of several requests at once; at 100
// req/s or less each request goes out on its own tick.
const maxConnRate = 100

// maxFixedRateConns caps the connections of a fixed-rate run, which also
// caps its rate at maxFixedRateConns x maxConnRate.
const maxFixedRateConns = 1000

// fixedRateStreams is the most requests a fixed-rate run keeps in flight on
// one h2c or gRPC connection; HTTP/1.1 has one.
const fixedRateStreams = 16

// splitRate spreads rate requests/s evenly over the fewest connections that
// each offer at most maxConnRate req/s. h2load's --rps is one rate for
// every connection; keeping it a whole number of requests per second, so
// that the connections divide rate, makes the total offered exactly rate.
func splitRate(rate int) (conns, perConn int, err error) {
	if rate < 1 || rate > maxFixedRateConns*maxConnRate {
		return 0, 0, fmt.Errorf("-rate %d is out of range; use 1 to %d req/s", rate, maxFixedRateConns*maxConnRate)
	}
	for conns = (rate + maxConnRate - 1) / maxConnRate; conns <= maxFixedRateConns; conns++ {
		if rate%conns == 0 {
			return conns, rate / conns, nil
		}
	}
	return 0, 0, fmt.Errorf("-rate %d cannot be offered exactly: h2load offers every connection the same rate, and no number of connections from %d to %d divides it; use a multiple of %d, such as %d",
		rate, (rate+maxConnRate-1)/maxConnRate, maxFixedRateConns, maxConnRate, max(rate/maxConnRate, 1)*maxConnRate)
}

// fixedRateArgs are h2load's arguments, less the log and the target, for an
// open loop of rate requests/s over proto: splitRate's connections, each
// offered its share with --rps, measured for d after warmup in the same
// run so the connections stay open from one into the other.
func fixedRateArgs(proto string, rate int, warmup, d time.Duration) ([]string, error) {
	conns, perConn, err := splitRate(rate)
	if err != nil {
		return nil, err
	}
	streams := fixedRateStreams
	args := []string{"-t1"}
	if proto == "http1" {
		streams = 1
		args = append(args, "--h1")
	}
	return append(args, "-c"+strconv.Itoa(conns), "-m"+strconv.Itoa(streams), "--rps", strconv.Itoa(perConn),
		"--warm-up-time", strconv.Itoa(int(warmup.Seconds())), "-D", strconv.Itoa(int(d.Seconds()))), nil
}

// drive runs a load client pinned to the client CPUs and samples its and
// the server's CPU time from /proc while it runs. The window starts 200ms
// in, once connections are up, and ends at the last sample before the
// client exits.
func drive(ctx context.Context, o options, serverPID int, name string, args ...string) (loadRun, string, error) {
	if o.clientCPUs != "" {
		name, args = "taskset", append([]string{"-c", o.clientCPUs, name}, args...)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return loadRun{}, "", err
	}
	type sample struct {
		at             time.Time
		client, server time.Duration
	}
	read := func() (sample, bool) {
		c, err1 := procCPU(cmd.Process.Pid)
		s, err2 := procCPU(serverPID)
		return sample{time.Now(), c, s}, err1 == nil && err2 == nil
	}
	samples := make(chan [2]sample, 1)
	stop := make(chan struct{})
	go func() {
		var first, last sample
		var ok bool
		select {
		case <-time.After(200 * time.Millisecond):
			first, ok = read()
			last = first
		case <-stop:
		}
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for ok {
			select {
			case <-t.C:
				if s, good := read(); good {
					last = s
				} else {
					ok = false
				}
			case <-stop:
				ok = false
			}
		}
		samples <- [2]sample{first, last}
	}()
	err := cmd.Wait()
	close(stop)
	s := <-samples
	var run loadRun
	if wall := s[1].at.Sub(s[0].at).Seconds(); wall > 0 {
		run.clientCPU = (s[1].client - s[0].client).Seconds() / wall
		run.serverCPU = (s[1].server - s[0].server).Seconds() / wall
	}
	return run, out.String(), err
}

// procCPU reads a process's CPU time so far.
func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcStat(string(data))
}

// procStatusMiB reads a memory line of /proc/PID/status (VmRSS:, VmHWM:).
func procStatusMiB(pid int, field string) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kib, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kib / 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc status", field)
}

// report is the part of cmd/loadgen's JSON report the RSS run reads.
type report struct {
	ThroughputRPS float64 `json:"throughput_rps"`
	Server        *struct {
		PeakRSSMiB float64   `json:"peak_rss_mib"`
		RSSMiB     []float64 `json:"rss_mib"`
	} `json:"server"`
}

// openLoop offers o.rate requests/s to t with h2load --rps (see
// fixedRateArgs). Latency runs from each request's send, which is its
// scheduled time unless its connection already had its most requests in
// flight; the client's and the server's CPU are sampled by drive.
func openLoop(ctx context.Context, o options, t target, proto string, serverPID int) (loadRun, error) {
	args, err := fixedRateArgs(proto, o.rate, o.warmup, o.duration)
	if err != nil {
		return loadRun{}, err
	}
	return h2load(ctx, o, serverPID, t, o.warmup, args)
}

// loadgen runs the generated project's load generator against r and
// returns its report. Its exit status is ignored on purpose: it fails a run
// that misses the SLO, and perf compares servers rather than checking
// objectives.
func loadgen(ctx context.Context, o options, b *binaries, r *running, proto, label string, extra ...string) (*report, error) {
	addr := r.addrs["http"]
	if proto == "grpc" {
		addr = r.addrs["grpc"]
	}
	args := []string{
		"-transport", proto, "-addr", addr, "-pid", strconv.Itoa(r.cmd.Process.Pid), "-admin", "",
		"-slo", b.slo, "-scenario", b.scenario, "-out", b.results, "-label", label,
	}
	path := filepath.Join(b.results, label+".json")
	_ = os.Remove(path)
	_, out, _ := drive(ctx, o, r.cmd.Process.Pid, b.loadgen, append(args, extra...)...)
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

// spansDropped reads the service's count of spans dropped from a full
// export queue from its admin port's /metrics.
func spansDropped(ctx context.Context, r *running) (float64, error) {
	if r.addrs["admin"] == "" {
		return 0, errors.New("no admin address")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.addrs["admin"]+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	return counterValue(string(data), "_trace_spans_dropped_total")
}

// counterValue returns the value of the unlabelled sample whose metric
// name ends in suffix, in Prometheus' text format.
func counterValue(metrics, suffix string) (float64, error) {
	for line := range strings.SplitSeq(metrics, "\n") {
		name, value, ok := strings.Cut(line, " ")
		if ok && !strings.HasPrefix(line, "#") && strings.HasSuffix(name, suffix) {
			return strconv.ParseFloat(strings.TrimSpace(value), 64)
		}
	}
	return 0, fmt.Errorf("no metric *%s", suffix)
}
