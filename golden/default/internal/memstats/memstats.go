// Package memstats reports the process's memory as Prometheus metrics and
// derives a Go memory limit from the container's.
//
// The numbers come from runtime/metrics, read at scrape time: they cost
// nothing between scrapes and, unlike runtime.ReadMemStats, reading them
// does not stop the world. Peak RSS is the kernel's own high-water mark
// (VmHWM), so there is no peak to track, and no race in tracking it.
package memstats

import (
	"bufio"
	"bytes"
	"io/fs"
	"math"
	"os"
	"runtime/metrics"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// sample names, from runtime/metrics.
const (
	heapLive   = "/gc/heap/live:bytes"
	heapObjs   = "/memory/classes/heap/objects:bytes"
	totalMem   = "/memory/classes/total:bytes"
	gcCycles   = "/gc/cycles/total:gc-cycles"
	gcPauses   = "/sched/pauses/total/gc:seconds"
	goroutines = "/sched/goroutines:goroutines"
	memLimit   = "/gc/gomemlimit:bytes"
	gcPercent  = "/gc/gogc:percent"
)

// pauseBuckets are the upper bounds GC pauses are reported in. The runtime's
// own histogram has hundreds of buckets; these are the ones worth a series.
var pauseBuckets = []float64{10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3}

// Collector exports memory telemetry. It is safe for concurrent scrapes.
type Collector struct {
	fsys fs.FS // for /proc/self/status

	heapLive, heapObjs, total, cycles, pauses, goroutines, limit, peakRSS *prometheus.Desc
}

// NewCollector returns a Collector reading the real /proc.
func NewCollector() *Collector { return newCollector(os.DirFS("/")) }

func newCollector(fsys fs.FS) *Collector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &Collector{
		fsys:       fsys,
		heapLive:   d("memory_heap_live_bytes", "Heap memory occupied by live objects, as of the last GC."),
		heapObjs:   d("memory_heap_objects_bytes", "Heap memory occupied by live objects and dead ones not yet swept."),
		total:      d("memory_runtime_total_bytes", "All memory mapped by the Go runtime."),
		cycles:     d("memory_gc_cycles_total", "Completed GC cycles."),
		pauses:     d("memory_gc_pause_seconds", "Stop-the-world GC pause lengths (sum estimated from the runtime's bucket midpoints)."),
		goroutines: d("goroutines", "Live goroutines."),
		limit:      d("memory_limit_bytes", "The Go runtime's soft memory limit (GOMEMLIMIT)."),
		peakRSS:    d("memory_peak_rss_bytes", "Peak resident set size of the process (VmHWM)."),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.heapLive, c.heapObjs, c.total, c.cycles, c.pauses, c.goroutines, c.limit, c.peakRSS} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	samples := []metrics.Sample{
		{Name: heapLive}, {Name: heapObjs}, {Name: totalMem}, {Name: gcCycles},
		{Name: gcPauses}, {Name: goroutines}, {Name: memLimit},
	}
	metrics.Read(samples)
	gauge := func(d *prometheus.Desc, s metrics.Sample) {
		if v, ok := uint64Value(s); ok {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
		}
	}
	gauge(c.heapLive, samples[0])
	gauge(c.heapObjs, samples[1])
	gauge(c.total, samples[2])
	if v, ok := uint64Value(samples[3]); ok {
		ch <- prometheus.MustNewConstMetric(c.cycles, prometheus.CounterValue, float64(v))
	}
	if s := samples[4]; s.Value.Kind() == metrics.KindFloat64Histogram {
		count, sum, buckets := rebucket(s.Value.Float64Histogram(), pauseBuckets)
		ch <- prometheus.MustNewConstHistogram(c.pauses, count, sum, buckets)
	}
	gauge(c.goroutines, samples[5])
	gauge(c.limit, samples[6])
	if rss, ok := peakRSS(c.fsys); ok {
		ch <- prometheus.MustNewConstMetric(c.peakRSS, prometheus.GaugeValue, float64(rss))
	}
}

// uint64Value returns s's value if it is an integer. A name this Go
// version does not know reads as metrics.KindBad.
func uint64Value(s metrics.Sample) (uint64, bool) {
	if s.Value.Kind() != metrics.KindUint64 {
		return 0, false
	}
	return s.Value.Uint64(), true
}

// rebucket folds a runtime histogram into cumulative counts at bounds. A
// runtime bucket counts toward the first bound at or above its upper edge,
// so no pause is ever reported as shorter than it was.
func rebucket(h *metrics.Float64Histogram, bounds []float64) (count uint64, sum float64, cumulative map[float64]uint64) {
	perBound := make([]uint64, len(bounds))
	for i, n := range h.Counts {
		if n == 0 {
			continue
		}
		lo, hi := h.Buckets[i], h.Buckets[i+1]
		count += n
		if math.IsInf(hi, 1) {
			sum += lo * float64(n) // an open bucket: its lower edge is all we know
		} else {
			sum += (max(lo, 0) + hi) / 2 * float64(n)
		}
		for j, b := range bounds {
			if hi <= b {
				perBound[j] += n
				break
			}
		}
	}
	cumulative = make(map[float64]uint64, len(bounds))
	var running uint64
	for j, b := range bounds {
		running += perBound[j]
		cumulative[b] = running
	}
	return count, sum, cumulative
}

// peakRSS reads VmHWM from /proc/self/status. It reports false where there
// is no /proc (not Linux), and the metric is then left out.
func peakRSS(fsys fs.FS) (int64, bool) {
	data, err := fs.ReadFile(fsys, "proc/self/status")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:"))
		if !ok {
			continue
		}
		fields := bytes.Fields(rest)
		if len(fields) != 2 || string(fields[1]) != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
		if err != nil {
			return 0, false
		}
		return kb << 10, true
	}
	return 0, false
}
