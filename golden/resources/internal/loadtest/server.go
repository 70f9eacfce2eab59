package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sample is one reading of the server process's resources.
type Sample struct {
	// At is when the reading was taken.
	At time.Time
	// CPUSeconds is the process's total user and system CPU time so far.
	CPUSeconds float64
	// RSSBytes is the process's resident memory.
	RSSBytes float64
}

// Sampler reads the server's resource use.
type Sampler interface {
	// Sample takes one reading.
	Sample(ctx context.Context) (Sample, error)
	// Cores returns how many CPU cores the server may use, or 0 when the
	// sampler cannot tell.
	Cores(ctx context.Context) (float64, error)
	// Source describes where readings come from, for reports.
	Source() string
}

// AdminSampler reads the Prometheus process collector's metrics from the
// service's admin port: process_cpu_seconds_total and
// process_resident_memory_bytes, and go_sched_gomaxprocs_threads for the
// cores. It works for a service on another host or in a container.
type AdminSampler struct {
	// URL is the metrics endpoint, e.g. http://127.0.0.1:9100/metrics.
	URL    string
	Client *http.Client
}

// Source implements Sampler.
func (a *AdminSampler) Source() string { return a.URL }

// Sample implements Sampler.
func (a *AdminSampler) Sample(ctx context.Context) (Sample, error) {
	m, err := a.scrape(ctx, "process_cpu_seconds_total", "process_resident_memory_bytes")
	if err != nil {
		return Sample{}, err
	}
	return Sample{At: time.Now(), CPUSeconds: m["process_cpu_seconds_total"], RSSBytes: m["process_resident_memory_bytes"]}, nil
}

// Cores implements Sampler with the server's GOMAXPROCS, which since Go
// 1.25 follows the container's CPU limit and the process's CPU affinity.
func (a *AdminSampler) Cores(ctx context.Context) (float64, error) {
	m, err := a.scrape(ctx, "go_sched_gomaxprocs_threads")
	if err != nil {
		return 0, err
	}
	return m["go_sched_gomaxprocs_threads"], nil
}

// scrapeTimeout bounds one metrics scrape, so a stuck admin port cannot
// stall sampling.
const scrapeTimeout = 2 * time.Second

// scrape fetches the metrics page and returns the named unlabeled samples.
// These few gauges and counters are single lines of the text exposition
// format, so a line scan is enough; a full parser would tie the harness to
// prometheus/common's changing API for three numbers.
func (a *AdminSampler) scrape(ctx context.Context, names ...string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL, nil)
	if err != nil {
		return nil, err
	}
	client := a.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape server metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape server metrics: %s answered %s", a.URL, resp.Status)
	}
	out := make(map[string]float64, len(names))
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		for _, want := range names {
			if name == want {
				v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
				if err != nil {
					return nil, fmt.Errorf("scrape server metrics: %s: %w", name, err)
				}
				out[name] = v
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scrape server metrics: %w", err)
	}
	for _, want := range names {
		if _, ok := out[want]; !ok {
			return nil, fmt.Errorf("scrape server metrics: %s has no %s; is the process collector registered?", a.URL, want)
		}
	}
	return out, nil
}

// ProcSampler reads a local process's /proc files: exact CPU ticks, RSS,
// and the CPUs its affinity allows. It is preferred when the server runs
// on the same host, and works for servers without a metrics endpoint.
type ProcSampler struct {
	PID int
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat CPU times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// Source implements Sampler.
func (p *ProcSampler) Source() string { return fmt.Sprintf("/proc/%d", p.PID) }

// Sample implements Sampler.
func (p *ProcSampler) Sample(context.Context) (Sample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return Sample{}, fmt.Errorf("read server cpu: %w", err)
	}
	// The command name (field 2) may hold spaces; fields after its closing
	// parenthesis are fixed: utime and stime are fields 14 and 15.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return Sample{}, fmt.Errorf("read server cpu: /proc/%d/stat is malformed", p.PID)
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 13 {
		return Sample{}, fmt.Errorf("read server cpu: /proc/%d/stat is malformed", p.PID)
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return Sample{}, fmt.Errorf("read server cpu: %w", err)
	}
	rss, err := p.status("VmRSS")
	if err != nil {
		return Sample{}, err
	}
	kib, err := strconv.ParseFloat(strings.TrimSuffix(rss, " kB"), 64)
	if err != nil {
		return Sample{}, fmt.Errorf("read server memory: VmRSS %q: %w", rss, err)
	}
	return Sample{At: time.Now(), CPUSeconds: (utime + stime) / clockTicks, RSSBytes: kib * 1024}, nil
}

// Cores implements Sampler with the number of CPUs the process's affinity
// allows (taskset). It does not see a cgroup CPU quota; pass the cores
// explicitly for a server limited that way.
func (p *ProcSampler) Cores(context.Context) (float64, error) {
	list, err := p.status("Cpus_allowed_list")
	if err != nil {
		return 0, err
	}
	return float64(countCPUs(list)), nil
}

// status returns one field of /proc/PID/status.
func (p *ProcSampler) status(field string) (string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.PID))
	if err != nil {
		return "", fmt.Errorf("read server status: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == field {
			return strings.TrimSpace(v), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read server status: %w", err)
	}
	return "", fmt.Errorf("read server status: /proc/%d/status has no %s", p.PID, field)
}

// countCPUs counts the CPUs in a list such as "0-3,8,10-11".
func countCPUs(list string) int {
	n := 0
	for part := range strings.SplitSeq(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			n++
			continue
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 == nil && err2 == nil && b >= a {
			n += b - a + 1
		}
	}
	return n
}

// Monitor samples a server at a fixed interval in the background.
type Monitor struct {
	sampler  Sampler
	interval time.Duration
	stop     context.CancelFunc
	done     chan struct{}

	mu      sync.Mutex
	samples []Sample
	err     error
}

// StartMonitor takes a first sample, so a wrong address fails before the
// run, and keeps sampling every interval until Stop.
func StartMonitor(ctx context.Context, s Sampler, interval time.Duration) (*Monitor, error) {
	first, err := s.Sample(ctx)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(ctx)
	m := &Monitor{sampler: s, interval: interval, stop: stop, done: make(chan struct{}), samples: []Sample{first}}
	go m.loop(ctx)
	return m, nil
}

func (m *Monitor) loop(ctx context.Context) {
	defer close(m.done)
	tick := time.NewTicker(m.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s, err := m.sampler.Sample(ctx)
		m.mu.Lock()
		if err != nil && ctx.Err() == nil {
			m.err = err
		} else if err == nil {
			m.samples = append(m.samples, s)
		}
		m.mu.Unlock()
	}
}

// Stop takes a last sample and ends sampling. It returns every sample, and
// the last sampling error if the server stopped answering.
func (m *Monitor) Stop(ctx context.Context) ([]Sample, error) {
	m.stop()
	<-m.done
	last, err := m.sampler.Sample(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		m.samples = append(m.samples, last)
	}
	return m.samples, errors.Join(m.err, err)
}

// ServerUsage is the server's resource use over a measured window.
type ServerUsage struct {
	// Source says where the readings came from.
	Source string `json:"source"`
	// Cores is the number of cores the server was allotted.
	Cores float64 `json:"cores"`
	// CPUSeconds is the CPU time the server used in the window.
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUPercent is CPUSeconds over the window, as a share of Cores.
	CPUPercent float64 `json:"cpu_percent"`
	// PeakRSSMiB is the highest resident memory sampled in the window.
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	// RSSMiB lists the samples in the window, to show growth over time.
	RSSMiB []float64 `json:"rss_mib"`
}

// Usage reduces samples to the server's use between start and end: CPU from
// the first sample at or after start to the last at or before end, RSS as
// the peak of the samples in between.
func Usage(samples []Sample, start, end time.Time, cores float64, source string) (ServerUsage, error) {
	u := ServerUsage{Source: source, Cores: cores}
	var in []Sample
	for _, s := range samples {
		if !s.At.Before(start) && !s.At.After(end) {
			in = append(in, s)
		}
	}
	if len(in) < 2 {
		return u, fmt.Errorf("only %d server samples in the measured window; run longer or sample more often", len(in))
	}
	first, last := in[0], in[len(in)-1]
	u.CPUSeconds = last.CPUSeconds - first.CPUSeconds
	if wall := last.At.Sub(first.At).Seconds(); wall > 0 && cores > 0 {
		u.CPUPercent = 100 * u.CPUSeconds / wall / cores
	}
	for _, s := range in {
		mib := s.RSSBytes / (1 << 20)
		u.PeakRSSMiB = max(u.PeakRSSMiB, mib)
		u.RSSMiB = append(u.RSSMiB, float64(int(mib*10))/10)
	}
	return u, nil
}
