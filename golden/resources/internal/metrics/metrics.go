// Package metrics owns the service's Prometheus registry: Go runtime and
// process collectors, and per-route HTTP request metrics whose label values
// are bounded, so no client can grow the number of series.
package metrics

import (
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric the service defines.
const Namespace = "shop"

// LatencyBuckets are the request-latency histograms' upper bounds, in
// seconds. One of them is exactly the latency objective (100 ms), so the
// alert rules count the requests slower than it without interpolating.
var LatencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// UnmatchedRoute labels requests no route matched, so random paths share
// one series.
const UnmatchedRoute = "unmatched"

// Metrics holds the registry and the request metrics.
type Metrics struct {
	// Registry is the registry /metrics serves; components register their
	// own collectors on it.
	Registry *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	panics   prometheus.Counter

	// series caches the children of requests and duration by label values;
	// see (*Metrics).series.
	series   atomic.Pointer[map[seriesKey]*series]
	seriesMu sync.Mutex // serializes adding to series
}

// New returns Metrics on a fresh registry with the Go and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "http_requests_total",
			Help:      "HTTP requests by route pattern, method and status class.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace,
			Name:      "http_request_duration_seconds",
			Help:      "HTTP request latency by route pattern and method.",
			Buckets:   LatencyBuckets,
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "http_requests_in_flight",
			Help:      "HTTP requests being served.",
		}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "panics_recovered_total",
			Help:      "Handler panics recovered and answered with an error.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight, m.panics)
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// PanicRecovered counts one recovered panic.
func (m *Metrics) PanicRecovered() { m.panics.Inc() }

// Instrument wraps a ServeMux-routed handler and records each request under
// the pattern the mux matched (r.Pattern), never the raw path.
//
// The writer it passes on records the status. It is pooled, since every
// request needs one: like any ResponseWriter it must not be used after
// next returns.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		// A writer that already records the status (the server's
		// observability wrapper) is used as it is, not wrapped again.
		sw, ok := w.(StatusWriter)
		var rec *statusRecorder
		if !ok {
			rec = recorders.Get().(*statusRecorder)
			*rec = statusRecorder{ResponseWriter: w, status: http.StatusOK}
			sw = rec
		}
		returned := false
		defer func() {
			m.inFlight.Dec()
			route := r.Pattern
			if route == "" {
				route = UnmatchedRoute
			}
			s := m.seriesFor(seriesKey{route: route, method: methodLabel(r.Method), class: statusClass(sw.Status())})
			s.requests.Inc()
			s.duration.Observe(time.Since(start).Seconds())
			// Only a handler that returned is done with the writer; one
			// that panicked may have left it with a goroutine.
			if rec != nil && returned {
				*rec = statusRecorder{}
				recorders.Put(rec)
			}
		}()
		next.ServeHTTP(sw, r)
		returned = true
	})
}

// recorders holds the statusRecorders Instrument reuses.
var recorders = sync.Pool{New: func() any { return new(statusRecorder) }}

// seriesKey is the label values of one request's series.
type seriesKey struct {
	route, method, class string
}

// series holds the request counter and the latency histogram of one
// seriesKey.
type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// seriesFor returns k's series. WithLabelValues hashes every label value
// and takes the vector's lock on each call; this is on every request's
// path, so each key is resolved once and kept in a copy-on-write map that
// readers load with one atomic read and no lock. The keys are as bounded as
// the labels, so the map stops changing once the service has served each
// route, method and status class it will see.
func (m *Metrics) seriesFor(k seriesKey) *series {
	if cur := m.series.Load(); cur != nil {
		if s, ok := (*cur)[k]; ok {
			return s
		}
	}
	return m.addSeries(k)
}

// addSeries resolves k's series and adds it to the map. It is apart from
// seriesFor, which inlines, so the lock and the copy stay off the stack of
// every request that finds its series.
func (m *Metrics) addSeries(k seriesKey) *series {
	m.seriesMu.Lock()
	defer m.seriesMu.Unlock()
	var cur map[seriesKey]*series
	if p := m.series.Load(); p != nil {
		cur = *p
	}
	if s, ok := cur[k]; ok {
		return s
	}
	next := make(map[seriesKey]*series, len(cur)+1)
	maps.Copy(next, cur)
	s := &series{
		requests: m.requests.WithLabelValues(k.route, k.method, k.class),
		duration: m.duration.WithLabelValues(k.route, k.method),
	}
	next[k] = s
	m.series.Store(&next)
	return s
}

// methodLabel maps the standard methods to themselves and anything else to
// "other".
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// statusClass maps a status code to its class, e.g. 404 -> "4xx".
func statusClass(code int) string {
	if c := code / 100; c >= 1 && c <= 5 {
		return statusClasses[c-1]
	}
	return "other"
}

// StatusWriter is a ResponseWriter that reports the status written through
// it: 200 until the handler writes another.
type StatusWriter interface {
	http.ResponseWriter
	Status() int
}

// RecordStatus returns a writer that reports the status written through it:
// w itself when it already does, as the writer Instrument passes on does, and
// otherwise w wrapped to record it. Middleware that needs the status (the
// concurrency limiter) calls it, so inside Instrument the status is recorded
// once and the writer is not wrapped twice.
func RecordStatus(w http.ResponseWriter) StatusWriter {
	if sw, ok := w.(StatusWriter); ok {
		return sw
	}
	return &statusRecorder{ResponseWriter: w, status: http.StatusOK}
}

// statusRecorder remembers the status a handler wrote. Unwrap lets
// http.ResponseController reach the underlying writer's Flush and deadlines.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status = code
		r.wroteHeader = code >= 200
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(p)
}

// Status returns the status written so far: 200 until the handler writes
// another.
func (r *statusRecorder) Status() int { return r.status }

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
