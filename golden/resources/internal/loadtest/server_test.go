package loadtest

import (
	"context"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestProcSamplerReadsThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux only")
	}
	p := &ProcSampler{PID: os.Getpid()}
	s, err := p.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSBytes <= 0 || s.CPUSeconds < 0 {
		t.Errorf("sample %+v; want a positive RSS", s)
	}
	cores, err := p.Cores(context.Background())
	if err != nil || cores < 1 {
		t.Errorf("Cores() = %g, %v; want at least 1", cores, err)
	}
	if _, err := (&ProcSampler{PID: -1}).Sample(context.Background()); err == nil {
		t.Error("sampling a missing process succeeded")
	}
}

func TestAdminSamplerReadsProcessMetrics(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the process collector reads /proc")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	a := &AdminSampler{URL: srv.URL}
	s, err := a.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSBytes <= 0 {
		t.Errorf("sample %+v; want a positive RSS", s)
	}
	cores, err := a.Cores(context.Background())
	if err != nil || cores != float64(runtime.GOMAXPROCS(0)) {
		t.Errorf("Cores() = %g, %v; want GOMAXPROCS %d", cores, err, runtime.GOMAXPROCS(0))
	}

	empty := httptest.NewServer(promhttp.HandlerFor(prometheus.NewRegistry(), promhttp.HandlerOpts{}))
	defer empty.Close()
	if _, err := (&AdminSampler{URL: empty.URL}).Sample(context.Background()); err == nil || !strings.Contains(err.Error(), "process_cpu_seconds_total") {
		t.Errorf("err = %v; want one naming the missing metric", err)
	}
}

func TestCountCPUs(t *testing.T) {
	for list, want := range map[string]int{"0": 1, "0-3": 4, "0-3,8,10-11": 7, "1,3": 2} {
		if got := countCPUs(list); got != want {
			t.Errorf("countCPUs(%q) = %d; want %d", list, got, want)
		}
	}
}

func TestUsage(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	samples := []Sample{
		{At: t0, CPUSeconds: 1, RSSBytes: 100 << 20},
		{At: t0.Add(time.Second), CPUSeconds: 2, RSSBytes: 30 << 20},
		{At: t0.Add(2 * time.Second), CPUSeconds: 2.5, RSSBytes: 40 << 20},
		{At: t0.Add(3 * time.Second), CPUSeconds: 3, RSSBytes: 35 << 20},
		{At: t0.Add(4 * time.Second), CPUSeconds: 9, RSSBytes: 200 << 20},
	}
	u, err := Usage(samples, t0.Add(time.Second), t0.Add(3*time.Second), 2, "test")
	if err != nil {
		t.Fatal(err)
	}
	// 1 CPU-second over 2 s on 2 cores; samples outside the window ignored.
	if u.CPUSeconds != 1 || u.CPUPercent != 25 || u.PeakRSSMiB != 40 || len(u.RSSMiB) != 3 {
		t.Errorf("usage %+v; want 1 CPU-second, 25 %%, peak 40 MiB, 3 samples", u)
	}
	if _, err := Usage(samples[:1], t0, t0.Add(time.Second), 1, "test"); err == nil {
		t.Error("usage from one sample succeeded")
	}
}
