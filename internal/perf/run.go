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
	// errorKinds describes the failures loadgen reports, for the log.
	errorKinds []string
}

// measurement is one server's figures over one protocol in one round.
type measurement struct {
	idleRSS, peakRSS float64 // MiB
	sat              map[string]loadRun
	open             loadRun // cmd/loadgen at the fixed rate
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
	if m.open, err = openLoop(ctx, o, b, r, proto); err != nil {
		return m, err
	}
	fmt.Fprintf(stdout, "perf:   %-13s %s\n", "loadgen open", describe(m.open))
	if s.name == "traced" {
		// Spans are exported in batches of up to 512, or after the
		// batch delay: wait for those of the run's last requests.
		time.Sleep(time.Second)
		reqs, spans := b.sink.counts()
		secs := time.Since(began).Seconds() - 1
		// Over the whole loadgen run, warm-up included: its requests were
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
	args := append([]string(nil), sh.args...)
	var log string
	switch sh.tool {
	case "wrk":
		args = append(args, "-d", secs+"s", t.url)
	case "h2load":
		f, err := os.CreateTemp("", "perf-h2load-*.log")
		if err != nil {
			return loadRun{}, err
		}
		log = f.Name()
		f.Close()
		defer os.Remove(log)
		args = append(args, "-D", secs, "--log-file", log)
		if t.body != "" {
			args = append(args, "-d", t.body, "-H", "content-type: application/grpc", "-H", "te: trailers")
		}
		args = append(args, t.url)
	}
	run, out, err := drive(ctx, o, serverPID, sh.tool, args...)
	if err != nil {
		return run, fmt.Errorf("%w\n%s", err, out)
	}
	if sh.tool == "wrk" {
		run.result, err = parseWrk(out)
	} else if run.result, err = parseH2load(out); err == nil {
		var f *os.File
		if f, err = os.Open(log); err == nil {
			run.p50, run.p99, err = parseH2loadLog(f)
			f.Close()
		}
	}
	if err != nil {
		return run, fmt.Errorf("%w\n%s", err, out)
	}
	return run, nil
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

// report is the part of cmd/loadgen's JSON report perf reads.
type report struct {
	ThroughputRPS float64 `json:"throughput_rps"`
	Requests      int64   `json:"requests"`
	Succeeded     int64   `json:"succeeded"`
	Latency       struct {
		P50 float64 `json:"p50"`
		P99 float64 `json:"p99"`
	} `json:"latency_ms"`
	Errors []struct {
		Kind    string `json:"kind"`
		Count   int64  `json:"count"`
		Example string `json:"example"`
	} `json:"errors"`
	Server *struct {
		Cores      float64   `json:"cores"`
		CPUPercent float64   `json:"cpu_percent"`
		PeakRSSMiB float64   `json:"peak_rss_mib"`
		RSSMiB     []float64 `json:"rss_mib"`
	} `json:"server"`
}

// openLoop offers o.rate requests/s with cmd/loadgen. Its latency is taken
// from each request's intended send time, and its server CPU over its own
// measured window; the client's CPU is sampled by drive.
func openLoop(ctx context.Context, o options, b *binaries, r *running, proto string) (loadRun, error) {
	rep, run, err := loadgen(ctx, o, b, r, proto, "open-"+proto,
		"-mode", "open", "-rate", strconv.Itoa(o.rate), "-warmup", o.warmup.String(), "-duration", o.duration.String())
	if err != nil {
		return run, err
	}
	fromReport(&run, rep)
	return run, nil
}

// fromReport fills run's figures from cmd/loadgen's report; the client CPU
// stays what drive sampled.
func fromReport(run *loadRun, rep *report) {
	run.rps = rep.ThroughputRPS
	run.requests = rep.Succeeded
	run.errors = rep.Requests - rep.Succeeded
	run.p50, run.p99 = rep.Latency.P50, rep.Latency.P99
	if rep.Server != nil {
		run.serverCPU = rep.Server.CPUPercent / 100 * rep.Server.Cores
	}
	for _, e := range rep.Errors {
		run.errorKinds = append(run.errorKinds, fmt.Sprintf("%d x %s (%s)", e.Count, e.Kind, e.Example))
	}
}

// loadgen runs the generated project's load generator against r. Its exit
// status is ignored on purpose: it fails a run that misses the SLO, and
// perf compares servers rather than checking objectives.
func loadgen(ctx context.Context, o options, b *binaries, r *running, proto, label string, extra ...string) (*report, loadRun, error) {
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
	run, out, _ := drive(ctx, o, r.cmd.Process.Pid, b.loadgen, append(args, extra...)...)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, run, fmt.Errorf("load generator wrote no report:\n%s", out)
	}
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, run, err
	}
	if rep.Server == nil {
		return nil, run, fmt.Errorf("load generator could not read the server's CPU and RSS:\n%s", out)
	}
	return &rep, run, nil
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
