package loadtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// SLO holds the service-level objectives a run is checked against, as
// written in bench/slo.yaml.
type SLO struct {
	// P95Millis bounds the 95th-percentile latency, in milliseconds.
	P95Millis float64 `yaml:"p95_ms"`
	// RPS is the throughput the service must sustain, in requests/s.
	RPS float64 `yaml:"rps"`
	// RSSMiB bounds the server's peak resident memory, in MiB.
	RSSMiB float64 `yaml:"rss_mib"`
	// CPUPercent bounds the server's CPU use at the target rate, as a
	// percentage of the cores it is allotted.
	CPUPercent float64 `yaml:"cpu_percent"`
	// ErrorPercent bounds the failed share of requests, in percent.
	ErrorPercent float64 `yaml:"error_percent"`
}

// ReadSLO reads an objectives file.
func ReadSLO(path string) (SLO, error) {
	b, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return SLO{}, fmt.Errorf("read objectives: %w", err)
	}
	return ParseSLO(path, bytes.NewReader(b))
}

// ParseSLO parses objectives from r; name is used in errors.
func ParseSLO(name string, r io.Reader) (SLO, error) {
	var s SLO
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return SLO{}, fmt.Errorf("objectives %s: %w", name, err)
	}
	var errs []error
	for _, f := range []struct {
		key string
		v   float64
	}{
		{"p95_ms", s.P95Millis},
		{"rps", s.RPS},
		{"rss_mib", s.RSSMiB},
		{"cpu_percent", s.CPUPercent},
		{"error_percent", s.ErrorPercent},
	} {
		if f.v <= 0 {
			errs = append(errs, fmt.Errorf("%s is %g; want a positive number", f.key, f.v))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return SLO{}, fmt.Errorf("objectives %s: %w", name, err)
	}
	return s, nil
}

// The objectives, as named in tables and failure messages.
const (
	ObjectiveP95        = "p95 latency"
	ObjectiveThroughput = "throughput"
	ObjectiveRSS        = "peak memory (RSS)"
	ObjectiveCPU        = "server cpu"
	ObjectiveErrors     = "errors"
)

// Check is one objective's verdict.
type Check struct {
	Objective string `json:"objective"`
	Target    string `json:"target"`
	Measured  string `json:"measured"`
	Pass      bool   `json:"pass"`
}

// Evaluate checks a run against slo. Throughput counts successful requests
// per second of the window: in open loop at the target rate a server that
// keeps up scores the offered rate, and one that falls behind leaves
// requests unfinished when the run ends and scores less. CPU is an
// objective "at the target rate", so a closed-loop run, which saturates the
// server on purpose, is not checked against it. Without server readings the
// memory and CPU objectives fail as not measured.
func Evaluate(slo SLO, mode Mode, res *Result, server *ServerUsage) []Check {
	p95 := float64(res.Latency.ValueAtQuantile(95)) / 1000
	checks := []Check{
		{ObjectiveP95, "< " + millis(slo.P95Millis), millis(p95), res.Latency.TotalCount() > 0 && p95 < slo.P95Millis},
		{ObjectiveThroughput, "≥ " + perSecond(slo.RPS), perSecond(res.Throughput()), res.Throughput() >= slo.RPS},
		{ObjectiveErrors, "< " + percent(slo.ErrorPercent), percent(res.ErrorPercent()), res.ErrorPercent() < slo.ErrorPercent},
	}
	const unmeasured = "not measured"
	rss := Check{ObjectiveRSS, "< " + mib(slo.RSSMiB), unmeasured, false}
	cpu := Check{ObjectiveCPU, "< " + percent(slo.CPUPercent) + " of allotted cores", unmeasured, false}
	if server != nil {
		rss.Measured, rss.Pass = mib(server.PeakRSSMiB), server.PeakRSSMiB < slo.RSSMiB
		if server.Cores > 0 {
			cpu.Target = fmt.Sprintf("< %s of %g cores", percent(slo.CPUPercent), server.Cores)
			cpu.Measured, cpu.Pass = percent(server.CPUPercent), server.CPUPercent < slo.CPUPercent
		}
	}
	checks = append(checks, rss)
	if mode == Open {
		checks = append(checks, cpu)
	}
	return checks
}

// Missed returns the checks that failed.
func Missed(checks []Check) []Check {
	var out []Check
	for _, c := range checks {
		if !c.Pass {
			out = append(out, c)
		}
	}
	return out
}

func millis(ms float64) string {
	switch {
	case ms >= 100:
		return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
	case ms >= 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	default:
		return strconv.FormatFloat(ms, 'f', 2, 64) + " ms"
	}
}

func perSecond(rps float64) string { return strconv.FormatFloat(rps, 'f', 0, 64) + " req/s" }

func percent(p float64) string {
	if p < 1 {
		return strconv.FormatFloat(p, 'f', 3, 64) + " %"
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + " %"
}

func mib(m float64) string { return strconv.FormatFloat(m, 'f', 1, 64) + " MiB" }
