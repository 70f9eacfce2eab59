package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// newItemsServer serves the two requests loadgen sends, over HTTP/1.1 and
// h2c, on loopback. It runs in the test's own process, so -pid reads this
// process's real CPU and RSS.
func newItemsServer(t *testing.T) string {
	t.Helper()
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/items", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = fmt.Fprintf(w, `{"id":"%032x"}`, n.Add(1))
	})
	mux.HandleFunc("GET /v1/items/{id}", func(w http.ResponseWriter, r *http.Request) {
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

func args(addr, slo, out string) []string {
	return []string{
		"-transport", "h2c", "-addr", addr, "-rate", "200", "-warmup", "100ms", "-duration", "1s",
		"-pid", strconv.Itoa(os.Getpid()), "-admin", "", "-sample-interval", "50ms",
		"-slo", slo, "-scenario", "", "-out", out, "-label", "smoke",
	}
}

func TestRunWritesReportsAndPasses(t *testing.T) {
	out := t.TempDir()
	var stdout bytes.Buffer
	err := run(context.Background(), args(newItemsServer(t), writeSLO(t, 4096), out), &stdout, &stdout)
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

func TestRunNamesTheMissedObjective(t *testing.T) {
	// No process fits in 1 MiB, so the memory objective must fail.
	var stdout bytes.Buffer
	err := run(context.Background(), args(newItemsServer(t), writeSLO(t, 1), ""), &stdout, &stdout)
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
