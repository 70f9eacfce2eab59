package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// newItemsServer serves the two requests loadgen sends, over HTTP/1.1 and
// h2c, on loopback, and calls onGet (when not nil) on every GET. It runs in
// the test's own process, so -pid reads this process's real CPU and RSS.
func newItemsServer(t *testing.T, onGet func()) string {
	t.Helper()
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/items", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprintf(w, `{"id":"%032x"}`, n.Add(1))
	})
	mux.HandleFunc("GET /v1/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		if onGet != nil {
			onGet()
		}
		_, _ = fmt.Fprintf(w, `{"id":%q}`, r.PathValue("id"))
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// writeSLO writes an objectives file whose memory bound is rssMiB.
func writeSLO(t *testing.T, rssMiB int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "slo.yaml")
	slo := fmt.Sprintf("p95_ms: 10000\nrps: 200\nrss_mib: %d\ncpu_percent: 101\nerror_percent: 1\n", rssMiB)
	if err := os.WriteFile(path, []byte(slo), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// args runs a short smoke load: 20 warm-up requests and 200 measured ones,
// a quarter of a second at 800/s.
func args(addr, slo, out string) []string {
	return []string{
		"-transport", "h2c", "-addr", addr, "-rate", "800", "-warmup", "25ms", "-duration", "250ms",
		"-pid", strconv.Itoa(os.Getpid()), "-admin", "", "-sample-interval", "50ms",
		"-slo", slo, "-scenario", "", "-out", out, "-label", "smoke",
	}
}

func TestRunWritesReportsAndPasses(t *testing.T) {
	out := t.TempDir()
	var stdout bytes.Buffer
	err := run(context.Background(), args(newItemsServer(t, nil), writeSLO(t, 4096), out), &stdout, &stdout)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	for _, want := range []string{"OBJECTIVE", "p95 latency", "pass", "requests: 200 measured, 200 succeeded"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "smoke.json"))
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Pass     bool  `json:"pass"`
		Requests int64 `json:"requests"`
		Server   *struct {
			PeakRSSMiB float64 `json:"peak_rss_mib"`
		} `json:"server"`
	}
	if err := json.Unmarshal(data, &report); err != nil {
		t.Fatal(err)
	}
	if !report.Pass || report.Requests != 200 || report.Server == nil || report.Server.PeakRSSMiB <= 0 {
		t.Errorf("report %+v; want a pass over 200 requests with the server's RSS", report)
	}
	for _, name := range []string{"smoke.md", "smoke-latency.svg"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
}

// TestCPUProfileCoversTheRun proves -cpuprofile writes loadgen's own
// profile: a gzip-compressed pprof file, complete once run returns.
func TestCPUProfileCoversTheRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loadgen.pprof")
	var stdout bytes.Buffer
	err := run(context.Background(), append(args(newItemsServer(t, nil), writeSLO(t, 4096), ""), "-cpuprofile", path), &stdout, &stdout)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("profile is not gzip-compressed: %v", err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("profile is cut short (not stopped before run returned?): %v", err)
	}
	if len(data) == 0 {
		t.Error("profile is empty")
	}
}

func TestCPUProfileReportsAnUnwritablePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "loadgen.pprof")
	var stdout bytes.Buffer
	err := run(context.Background(), append(args(newItemsServer(t, nil), writeSLO(t, 4096), ""), "-cpuprofile", path), &stdout, &stdout)
	if err == nil || !strings.Contains(err.Error(), "cpu profile") {
		t.Fatalf("err = %v; want the profile's path refused", err)
	}
}

func TestRunNamesTheMissedObjective(t *testing.T) {
	// No process fits in 1 MiB, so the memory objective must fail.
	var stdout bytes.Buffer
	err := run(context.Background(), args(newItemsServer(t, nil), writeSLO(t, 1), ""), &stdout, &stdout)
	if err == nil || !strings.Contains(err.Error(), "objectives missed: peak memory (RSS) (measured") {
		t.Fatalf("err = %v; want the memory objective named\n%s", err, stdout.String())
	}
	if strings.Contains(err.Error(), "p95 latency") {
		t.Errorf("err = %v; only the memory objective should be missed", err)
	}
}

func TestParseRejectsBadFlags(t *testing.T) {
	for _, bad := range [][]string{
		{"extra"},
		{"-label", "../x"},
		{"-label", ".."},
		{"-rate", "fast"},
	} {
		if _, err := parse(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("parse(%q) succeeded", bad)
		}
	}
}

func TestRunRefusesRemoteTarget(t *testing.T) {
	for _, addr := range []string{"192.0.2.1:8080", "[2001:db8::1]:8080", "10.0.0.1:80"} {
		var stdout bytes.Buffer
		// A refused target is never dialled: the error comes before any
		// connection, so this test sends nothing off the machine.
		err := run(context.Background(), append(args(addr, writeSLO(t, 4096), ""), "-admin", "", "-pid", "0"), &stdout, &stdout)
		if err == nil || !strings.Contains(err.Error(), "-allow-remote") || !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("run -addr %s: err = %v; want a refusal naming -allow-remote", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:8080", "127.1.2.3:80", "[::1]:8080", "localhost:8080", ":8080"} {
		if err := checkLoopback(context.Background(), addr); err != nil {
			t.Errorf("checkLoopback(%s) = %v; want it allowed", addr, err)
		}
	}
	if o, err := parse([]string{"-allow-remote", "-addr", "192.0.2.1:8080"}, &bytes.Buffer{}); err != nil || !o.allowRemote {
		t.Errorf("parse -allow-remote = %+v, %v", o, err)
	}
}

func TestInterruptWritesPartialReport(t *testing.T) {
	// The run is planned for a minute; the server stops it (as SIGINT
	// would, through the context) once it has answered 100 GETs, which is
	// past the warm-up's 20 requests.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var gets atomic.Int64
	addr := newItemsServer(t, func() {
		if gets.Add(1) == 100 {
			cancel()
		}
	})
	out := t.TempDir()
	a := args(addr, writeSLO(t, 4096), out)
	a = append(a, "-duration", "1m")
	var stdout bytes.Buffer
	err := run(ctx, a, &stdout, &stdout)
	if err == nil || !strings.Contains(err.Error(), "interrupted after") || !strings.Contains(err.Error(), "partial report written to "+out) {
		t.Fatalf("err = %v; want the interruption reported\n%s", err, stdout.String())
	}
	if !strings.Contains(stdout.String(), "OBJECTIVE") || !strings.Contains(stdout.String(), "note: interrupted") {
		t.Errorf("the partial report was not printed:\n%s", stdout.String())
	}
	data, err := os.ReadFile(filepath.Join(out, "smoke.json"))
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Interrupted bool   `json:"interrupted"`
		Requests    int64  `json:"requests"`
		Window      string `json:"window"`
	}
	if err := json.Unmarshal(data, &report); err != nil {
		t.Fatal(err)
	}
	window, err := time.ParseDuration(report.Window)
	if err != nil {
		t.Fatal(err)
	}
	if !report.Interrupted || report.Requests == 0 || window >= time.Minute {
		t.Errorf("report %+v; want an interrupted run with the requests before the stop, over less than the planned minute", report)
	}
	md, err := os.ReadFile(filepath.Join(out, "smoke.md"))
	if err != nil || !strings.Contains(string(md), "Interrupted") {
		t.Errorf("smoke.md does not say the run was interrupted (%v)", err)
	}
}
