package postgres

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"example.com/shop/internal/metrics"
)

// otherQuery labels statements the tracer was not told about (migrations,
// pings, ad-hoc queries), so arbitrary SQL never becomes a label value.
const otherQuery = "other"

// Tracer is a pgx.QueryTracer and pgx.ConnectTracer. It records every
// query's duration and errors under the statement's name, logs queries
// slower than a threshold as warnings, and times connection attempts. It is
// a prometheus.Collector: register it once.
type Tracer struct {
	log  *slog.Logger
	slow time.Duration
	// spans, when set, starts a span per query (spans.go).
	spans trace.Tracer

	bySQL   map[string]*queryMetrics // SQL text -> metrics, built once
	other   *queryMetrics
	collect []prometheus.Collector

	connectDuration prometheus.Histogram
	connectErrors   prometheus.Counter
	lastConnectLog  atomic.Int64 // unix nanoseconds of the last connect-failure log
}

// connectLogEvery limits connect-failure warnings during an outage, when
// every request and every pool top-up fails to connect; the counter still
// counts each one.
const connectLogEvery = 10 * time.Second

var (
	_ pgx.QueryTracer   = (*Tracer)(nil)
	_ pgx.ConnectTracer = (*Tracer)(nil)
)

// queryMetrics holds one statement's series, resolved once so the hot path
// does no label lookups.
type queryMetrics struct {
	name     string
	duration prometheus.Observer
	errors   prometheus.Counter
}

// queryStart carries a query from TraceQueryStart to TraceQueryEnd. It
// lives in the connection's CustomData and is reused by every query on that
// connection (a connection runs one query at a time), so tracing allocates
// nothing per query.
type queryStart struct {
	m     *queryMetrics
	sql   string
	start time.Time
	span  trace.Span // nil unless the query is traced
}

// queryStartKey is queryStart's key in pgconn.PgConn.CustomData.
const queryStartKey = "shop/tracer.queryStart"

type connectStartKey struct{}

// NewTracer returns a Tracer that names statements by statements (SQL text
// -> name) and logs queries slower than slow on log.
func NewTracer(log *slog.Logger, slow time.Duration, statements map[string]string) *Tracer {
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metrics.Namespace,
		Name:      "db_query_duration_seconds",
		Help:      "Database query latency by statement, pool wait excluded.",
		Buckets:   []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"query"})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace,
		Name:      "db_query_errors_total",
		Help:      "Database queries that returned an error, by statement.",
	}, []string{"query"})
	t := &Tracer{
		log:   log,
		slow:  slow,
		bySQL: make(map[string]*queryMetrics, len(statements)),
		connectDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metrics.Namespace,
			Name:      "db_connect_duration_seconds",
			Help:      "Time to open a database connection, handshake included.",
			Buckets:   []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		connectErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metrics.Namespace,
			Name:      "db_connect_errors_total",
			Help:      "Failed attempts to open a database connection.",
		}),
	}
	byName := make(map[string]*queryMetrics)
	series := func(name string) *queryMetrics {
		if m, ok := byName[name]; ok {
			return m
		}
		m := &queryMetrics{name: name, duration: duration.WithLabelValues(name), errors: errs.WithLabelValues(name)}
		byName[name] = m
		return m
	}
	for sql, name := range statements {
		t.bySQL[sql] = series(name)
	}
	t.other = series(otherQuery)
	t.collect = []prometheus.Collector{duration, errs, t.connectDuration, t.connectErrors}
	return t
}

// TraceQueryStart implements pgx.QueryTracer.
func (t *Tracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	m, ok := t.bySQL[data.SQL]
	if !ok {
		m = t.other
	}
	custom := conn.PgConn().CustomData()
	qs, _ := custom[queryStartKey].(*queryStart)
	if qs == nil {
		qs = new(queryStart)
		custom[queryStartKey] = qs
	}
	*qs = queryStart{m: m, sql: data.SQL, start: time.Now()}
	ctx, qs.span = t.startSpan(ctx, m.name)
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (t *Tracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	slot, _ := conn.PgConn().CustomData()[queryStartKey].(*queryStart)
	if slot == nil || slot.m == nil {
		return
	}
	qs := *slot
	*slot = queryStart{}
	defer endSpan(qs.span, data.Err)
	elapsed := time.Since(qs.start)
	qs.m.duration.Observe(elapsed.Seconds())
	if data.Err != nil {
		qs.m.errors.Inc()
	}
	if elapsed >= t.slow {
		// Arguments are left out: they may carry personal data.
		attrs := []slog.Attr{
			slog.String("query", qs.m.name),
			slog.Duration("duration", elapsed),
			slog.Duration("threshold", t.slow),
			slog.String("sql", qs.sql),
		}
		if data.Err != nil {
			attrs = append(attrs, slog.String("error", data.Err.Error()))
		}
		t.log.LogAttrs(ctx, slog.LevelWarn, "slow query", attrs...)
	}
}

// TraceConnectStart implements pgx.ConnectTracer.
func (t *Tracer) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	return context.WithValue(ctx, connectStartKey{}, time.Now())
}

// TraceConnectEnd implements pgx.ConnectTracer.
func (t *Tracer) TraceConnectEnd(ctx context.Context, data pgx.TraceConnectEndData) {
	if start, ok := ctx.Value(connectStartKey{}).(time.Time); ok {
		t.connectDuration.Observe(time.Since(start).Seconds())
	}
	if data.Err == nil || errors.Is(data.Err, context.Canceled) {
		return // canceled: the pool is closing or the caller left, not a failure
	}
	t.connectErrors.Inc()
	now := time.Now().UnixNano()
	last := t.lastConnectLog.Load()
	if now-last >= int64(connectLogEvery) && t.lastConnectLog.CompareAndSwap(last, now) {
		t.log.LogAttrs(ctx, slog.LevelWarn, "database connect failed", slog.String("error", data.Err.Error()))
	}
}

// Describe implements prometheus.Collector.
func (t *Tracer) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range t.collect {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (t *Tracer) Collect(ch chan<- prometheus.Metric) {
	for _, c := range t.collect {
		c.Collect(ch)
	}
}
