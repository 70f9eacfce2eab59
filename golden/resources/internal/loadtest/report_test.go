package loadtest

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func defaultSLO() SLO {
	return SLO{P95Millis: 100, RPS: 10000, RSSMiB: 512, CPUPercent: 70, ErrorPercent: 0.1}
}

// result builds a run's result whose latencies are spread evenly from 1 ms
// to maxMillis.
func result(requests, failed int64, maxMillis int64) *Result {
	h := hdrhistogram.New(minLatencyMicros, maxLatencyMicros, latencyDigits)
	for i := range requests - failed {
		_ = h.RecordValue(1000 + i*(maxMillis-1)*1000/max(requests-failed-1, 1))
	}
	res := &Result{Window: 10 * time.Second, Requests: requests, Succeeded: requests - failed, Latency: h}
	if failed > 0 {
		res.Errors = []ErrorCount{
			{Kind: "http 503", Count: failed, Example: "http 503"},
		}
	}
	return res
}

func TestEvaluate(t *testing.T) {
	server := &ServerUsage{Cores: 1, CPUPercent: 40, PeakRSSMiB: 20}
	tests := []struct {
		name   string
		mode   Mode
		res    *Result
		server *ServerUsage
		missed []string
	}{
		{"all met", Open, result(100000, 0, 50), server, nil},
		{"slow", Open, result(100000, 0, 200), server, []string{ObjectiveP95}},
		{"short of the rate", Open, result(99990, 0, 50), server, []string{ObjectiveThroughput}},
		{"errors", Open, result(100000, 101, 50), server, []string{ObjectiveThroughput, ObjectiveErrors}},
		{"hot and big", Open, result(100000, 0, 50), &ServerUsage{Cores: 2, CPUPercent: 70, PeakRSSMiB: 600}, []string{ObjectiveRSS, ObjectiveCPU}},
		{"no server readings", Open, result(100000, 0, 50), nil, []string{ObjectiveRSS, ObjectiveCPU}},
		{"closed loop skips cpu", Closed, result(100000, 0, 50), &ServerUsage{Cores: 1, CPUPercent: 100, PeakRSSMiB: 20}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var missed []string
			for _, c := range Missed(Evaluate(defaultSLO(), tt.mode, tt.res, tt.server)) {
				missed = append(missed, c.Objective)
			}
			if strings.Join(missed, ",") != strings.Join(tt.missed, ",") {
				t.Errorf("missed %q; want %q", missed, tt.missed)
			}
		})
	}
}

func TestParseSLO(t *testing.T) {
	s, err := ParseSLO("slo.yaml", strings.NewReader("p95_ms: 50\nrps: 2000\nrss_mib: 256\ncpu_percent: 60\nerror_percent: 0.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (SLO{50, 2000, 256, 60, 0.5}); s != want {
		t.Errorf("parsed %+v; want %+v", s, want)
	}
	for _, bad := range []string{"p95_ms: 50\n", "p95_ms: 50\nrps: 1\nrss_mib: 1\ncpu_percent: 1\nerror_percent: 1\nlatency: 3\n"} {
		if _, err := ParseSLO("slo.yaml", strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "slo.yaml") {
			t.Errorf("ParseSLO(%q) = %v; want an error naming the file", bad, err)
		}
	}
}

func TestScenario(t *testing.T) {
	s, err := ParseScenario("scenario.yaml", strings.NewReader("items: 3\nmix:\n  - op: get\n    weight: 9\n  - op: create\n    weight: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	creates := 0
	for n := range int64(100) {
		if s.Op(n) == OpCreate {
			creates++
			if n > 0 && s.Op(n-1) == OpCreate {
				t.Errorf("requests %d and %d are both creates; the mix should be interleaved", n-1, n)
			}
		}
	}
	if creates != 10 {
		t.Errorf("%d creates in 100 requests; want 10", creates)
	}
	for _, bad := range []string{"items: 0\nmix: [{op: get, weight: 1}]\n", "items: 1\nmix: [{op: delete, weight: 1}]\n", "items: 1\nmix: [{op: get, weight: 0}]\n", "items: 1\nmix: []\n", "items: 1\nratio: 2\n"} {
		if _, err := ParseScenario("scenario.yaml", strings.NewReader(bad)); err == nil {
			t.Errorf("ParseScenario(%q) succeeded; want an error", bad)
		}
	}
}

func testReport() *Report {
	cfg := Config{Mode: Open, Rate: 10000, Workers: 256, Warmup: 5 * time.Second, Duration: 10 * time.Second}
	return NewReport("run", DefaultTransport, "127.0.0.1:8080", cfg, 4, result(100000, 0, 120), &ServerUsage{Source: "/proc/1", Cores: 1, CPUSeconds: 4, CPUPercent: 40, PeakRSSMiB: 20}, defaultSLO())
}

func TestReportOutputs(t *testing.T) {
	r := testReport()
	if r.Pass || len(Missed(r.Checks)) != 1 {
		t.Fatalf("report passes %t with %d missed; want the p95 objective missed", r.Pass, len(Missed(r.Checks)))
	}
	var table, md, js bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"OBJECTIVE", "p95 latency", "FAIL", "p99.9"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if err := r.WriteMarkdown(&md, "run-latency.svg"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "![latency by percentile](run-latency.svg)") || !strings.Contains(md.String(), "| p95 latency | < 100 ms |") {
		t.Errorf("markdown lacks the chart or the objectives:\n%s", md.String())
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Latency != r.Latency || len(back.Distribution) != len(chartPercentiles) || back.Pass {
		t.Errorf("JSON round trip lost data: %+v", back.Latency)
	}
}

func TestSVGIsWellFormedAndDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := testReport().WriteSVG(&a); err != nil {
		t.Fatal(err)
	}
	if err := testReport().WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two charts of the same run differ")
	}
	dec := xml.NewDecoder(bytes.NewReader(a.Bytes()))
	elements := map[string]int{}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			elements[se.Name.Local]++
		}
	}
	if elements["svg"] != 1 || elements["polyline"] != 1 {
		t.Errorf("chart has elements %v; want one svg with one polyline", elements)
	}
	if !strings.Contains(a.String(), "P95 objective 100 ms") {
		t.Error("chart does not mark the P95 objective")
	}
}
