package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything one run measured, as written to its JSON file.
type Report struct {
	// Label names the run in file names and headings, e.g. "h2c".
	Label       string    `json:"label"`
	Transport   Transport `json:"transport"`
	Mode        Mode      `json:"mode"`
	Target      string    `json:"target"`
	RateRPS     float64   `json:"rate_rps,omitempty"`
	Workers     int       `json:"workers"`
	Connections int       `json:"connections"`
	Warmup      string    `json:"warmup"`
	Window      string    `json:"window"`
	// CountCapped reports that the request cap, not the duration, ended
	// the run.
	CountCapped bool `json:"count_capped"`
	// Interrupted reports that the run was stopped (SIGINT) before its end:
	// the figures cover the part of the window that ran.
	Interrupted bool `json:"interrupted,omitempty"`

	Requests      int64        `json:"requests"`
	Succeeded     int64        `json:"succeeded"`
	ThroughputRPS float64      `json:"throughput_rps"`
	ErrorPercent  float64      `json:"error_percent"`
	Errors        []ErrorCount `json:"errors"`
	// Latency summarizes successful requests' latency in milliseconds.
	Latency LatencySummary `json:"latency_ms"`
	// Distribution is latency by percentile, as plotted in the chart.
	Distribution []Point `json:"distribution"`
	// MaxStartLagMillis is the longest a request waited for a free worker
	// past its intended send time; large values mean the load generator was
	// short of workers or CPU (the latencies still include the wait).
	MaxStartLagMillis float64 `json:"max_start_lag_ms"`

	Server *ServerUsage `json:"server,omitempty"`
	// ServerError says why server readings are missing.
	ServerError string `json:"server_error,omitempty"`

	SLO    SLO     `json:"slo"`
	Checks []Check `json:"checks"`
	Pass   bool    `json:"pass"`
}

// LatencySummary holds latency percentiles in milliseconds.
type LatencySummary struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Point is the latency at one percentile.
type Point struct {
	Percentile float64 `json:"percentile"`
	Millis     float64 `json:"ms"`
}

// NewReport assembles a run's report and checks it against slo.
func NewReport(label string, t Transport, target string, cfg Config, conns int, res *Result, server *ServerUsage, slo SLO) *Report {
	h := res.Latency
	ms := func(q float64) float64 { return float64(h.ValueAtQuantile(q)) / 1000 }
	r := &Report{
		Label: label, Transport: t, Mode: cfg.Mode, Target: target,
		Workers: cfg.Workers, Connections: conns,
		Warmup: cfg.Warmup.String(), Window: res.Window.Round(time.Millisecond).String(),
		CountCapped: res.CountCapped,
		Requests:    res.Requests, Succeeded: res.Succeeded,
		ThroughputRPS: math.Round(res.Throughput()*10) / 10,
		ErrorPercent:  res.ErrorPercent(),
		Errors:        res.Errors,
		Latency: LatencySummary{
			P50: ms(50), P90: ms(90), P95: ms(95), P99: ms(99), P999: ms(99.9),
			Max: float64(h.Max()) / 1000, Mean: math.Round(h.Mean()) / 1000,
		},
		MaxStartLagMillis: float64(res.MaxStartLag.Microseconds()) / 1000,
		Server:            server,
		SLO:               slo,
	}
	if cfg.Mode == Open {
		r.RateRPS = cfg.Rate
	}
	if r.Errors == nil {
		r.Errors = []ErrorCount{}
	}
	if h.TotalCount() > 0 {
		for _, p := range chartPercentiles {
			r.Distribution = append(r.Distribution, Point{p, ms(p)})
		}
	}
	r.Checks = Evaluate(slo, cfg.Mode, res, server)
	r.Pass = len(Missed(r.Checks)) == 0
	return r
}

// chartPercentiles are spaced evenly on the chart's 1/(1-p) axis, from the
// minimum out to 99.999 %, then the maximum.
var chartPercentiles = func() []float64 {
	var ps []float64
	for i := 0; i <= 50; i++ {
		p := 100 * (1 - math.Pow(10, -float64(i)/10))
		ps = append(ps, math.Round(p*1e4)/1e4)
	}
	return append(ps, 100)
}()

// WriteTable prints the objectives table and the latency summary.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", r.Label, r.describe())
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OBJECTIVE\tTARGET\tMEASURED\tRESULT")
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Objective, c.Target, c.Measured, verdict(c.Pass))
	}
	_ = tw.Flush()
	l := r.Latency
	fmt.Fprintf(&b, "latency: p50 %s  p90 %s  p95 %s  p99 %s  p99.9 %s  max %s\n",
		millis(l.P50), millis(l.P90), millis(l.P95), millis(l.P99), millis(l.P999), millis(l.Max))
	fmt.Fprintf(&b, "requests: %d measured, %d succeeded, %s/s\n", r.Requests, r.Succeeded, strings.TrimSuffix(perSecond(r.ThroughputRPS), "/s"))
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "error: %s x%d (e.g. %s)\n", e.Kind, e.Count, e.Example)
	}
	if r.Mode == Open {
		// A late start means the generator, not the server, fell behind
		// (too few workers, or its CPU was busy); the latencies above still
		// include the wait, so a large lag makes the run pessimistic.
		fmt.Fprintf(&b, "load generator: worst start lag %s past the intended send time\n", millis(r.MaxStartLagMillis))
	}
	if r.ServerError != "" {
		fmt.Fprintf(&b, "server readings: %s\n", r.ServerError)
	}
	if r.CountCapped {
		fmt.Fprintln(&b, "note: the request cap ended the run before its duration")
	}
	if r.Interrupted {
		fmt.Fprintf(&b, "note: interrupted; a partial report over the %s that ran\n", r.Window)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) describe() string {
	load := fmt.Sprintf("closed loop, %d workers", r.Workers)
	if r.Mode == Open {
		load = "open loop at " + perSecond(r.RateRPS)
	}
	return fmt.Sprintf("%s over %s to %s, %s window after %s warm-up", load, r.Transport, r.Target, r.Window, r.Warmup)
}

func verdict(pass bool) string {
	if pass {
		return "pass"
	}
	return "FAIL"
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes a human-readable report that shows chart, the
// latency chart file, beside it.
func (r *Report) WriteMarkdown(w io.Writer, chart string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Load test: %s\n\n", r.Label)
	fmt.Fprintf(&b, "%s; %d workers over %d connections.\n\n", capitalize(r.describe()), r.Workers, r.Connections)
	fmt.Fprintf(&b, "**Result: %s**\n\n", map[bool]string{true: "every objective met", false: "objectives missed"}[r.Pass])
	if r.Interrupted {
		fmt.Fprintf(&b, "Interrupted: this partial report covers the %s of the window that ran.\n\n", r.Window)
	}
	b.WriteString("| objective | target | measured | result |\n|---|---|---|---|\n")
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.Objective, c.Target, c.Measured, verdict(c.Pass))
	}
	l := r.Latency
	b.WriteString("\n## Latency\n\n| p50 | p90 | p95 | p99 | p99.9 | max | mean |\n|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n\n", millis(l.P50), millis(l.P90), millis(l.P95), millis(l.P99), millis(l.P999), millis(l.Max), millis(l.Mean))
	if r.Mode == Open {
		b.WriteString("Latency is measured from each request's intended send time, so time spent queued behind a slow response counts.\n\n")
	}
	fmt.Fprintf(&b, "![latency by percentile](%s)\n\n", chart)
	b.WriteString("## Requests\n\n")
	fmt.Fprintf(&b, "%d measured, %d succeeded: %s, %s failed.\n\n", r.Requests, r.Succeeded, perSecond(r.ThroughputRPS), percent(r.ErrorPercent))
	if len(r.Errors) > 0 {
		b.WriteString("| error | count | example |\n|---|---|---|\n")
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "| %s | %d | %s |\n", e.Kind, e.Count, strings.ReplaceAll(e.Example, "|", `\|`))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Server\n\n")
	if s := r.Server; s != nil {
		fmt.Fprintf(&b, "Read from %s: %.2f CPU-seconds in the window, %s of %g cores; peak RSS %s.\n",
			s.Source, s.CPUSeconds, percent(s.CPUPercent), s.Cores, mib(s.PeakRSSMiB))
	} else {
		fmt.Fprintf(&b, "Not measured: %s.\n", r.ServerError)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Chart geometry, in SVG user units.
const (
	chartWidth  = 720
	chartHeight = 400
	padLeft     = 70
	padRight    = 20
	padTop      = 40
	padBottom   = 50
)

// WriteSVG draws latency by percentile: the x axis is 1/(1-p) on a log
// scale, so the tail gets room (the median, 90 %, 99 %, ... are evenly
// spaced), and the y axis is latency on a log scale with the P95 objective
// as a dashed line. The output depends only on the report, so the same run
// always draws the same bytes.
func (r *Report) WriteSVG(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, chartHeight, chartWidth, chartHeight)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartWidth, chartHeight)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="14">%s: latency by percentile</text>`+"\n", padLeft, xmlEscape(r.Label))

	// Axes ranges: whole decades around the data and the objective.
	lo, hi := math.Inf(1), 0.0
	for _, p := range r.Distribution {
		lo, hi = math.Min(lo, p.Millis), math.Max(hi, p.Millis)
	}
	if r.SLO.P95Millis > 0 {
		hi = math.Max(hi, r.SLO.P95Millis)
		lo = math.Min(lo, r.SLO.P95Millis)
	}
	if len(r.Distribution) == 0 {
		lo, hi = 1, 100
	}
	yMin := math.Pow(10, math.Floor(math.Log10(math.Max(lo, 0.001))))
	yMax := math.Pow(10, math.Ceil(math.Log10(math.Max(hi, yMin*10))))
	const xMaxNines = 5 // 99.999 %
	plotW := float64(chartWidth - padLeft - padRight)
	plotH := float64(chartHeight - padTop - padBottom)
	x := func(p float64) float64 {
		nines := float64(xMaxNines)
		if p < 100 {
			nines = math.Min(-math.Log10(1-p/100), xMaxNines)
		}
		return padLeft + plotW*nines/xMaxNines
	}
	y := func(ms float64) float64 {
		ms = math.Max(ms, yMin)
		return padTop + plotH*(1-(math.Log10(ms)-math.Log10(yMin))/(math.Log10(yMax)-math.Log10(yMin)))
	}

	// Grid and labels.
	for i, label := range []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"} {
		gx := padLeft + plotW*float64(i)/xMaxNines
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", gx, padTop, gx, padTop+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", gx, padTop+plotH+18, label)
	}
	for k := math.Log10(yMin); k <= math.Log10(yMax)+0.5; k++ {
		v := math.Pow(10, math.Round(k)) // decades, exact: no accumulated rounding in the labels
		gy := y(v)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", padLeft, gy, padLeft+plotW, gy)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s ms</text>`+"\n", padLeft-6, gy+4, strconv.FormatFloat(v, 'f', -1, 64))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">percentile</text>`+"\n", padLeft+plotW/2, chartHeight-8)
	fmt.Fprintf(&b, `<text x="16" y="%.1f" text-anchor="middle" transform="rotate(-90 16 %.1f)">latency (log scale)</text>`+"\n", padTop+plotH/2, padTop+plotH/2)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%.1f" fill="none" stroke="#888"/>`+"\n", padLeft, padTop, plotW, plotH)

	if r.SLO.P95Millis > 0 {
		ty := y(r.SLO.P95Millis)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#c00" stroke-dasharray="6 4"/>`+"\n", padLeft, ty, padLeft+plotW, ty)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#c00">P95 objective %s</text>`+"\n", padLeft+plotW-4, ty-5, millis(r.SLO.P95Millis))
	}
	if len(r.Distribution) > 0 {
		pts := make([]string, 0, len(r.Distribution))
		for _, p := range r.Distribution {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.Percentile), y(p.Millis)))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#1f5fbf" stroke-width="2"/>`+"\n", strings.Join(pts, " "))
		p95 := r.Latency.P95
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="#1f5fbf"/>`+"\n", x(95), y(p95))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">P95 %s</text>`+"\n", x(95)+6, y(p95)-6, millis(p95))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
