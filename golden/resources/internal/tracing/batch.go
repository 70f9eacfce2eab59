package tracing

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Export batching, as the SDK's defaults (OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
// OTEL_BSP_EXPORT_TIMEOUT).
const (
	maxBatch      = 512
	exportTimeout = 30 * time.Second
)

// batcher is a span processor that queues ended, sampled spans in a bounded
// channel and exports them in batches from one goroutine. The SDK's
// BatchSpanProcessor also drops spans when its queue is full, but counts
// them only in a log line at shutdown; this one counts every drop in a
// metric, so an undersized queue or a slow collector shows on the
// dashboard while it happens.
type batcher struct {
	exporter sdktrace.SpanExporter
	queue    chan sdktrace.ReadOnlySpan
	delay    time.Duration
	metrics  *exportMetrics
	log      *slog.Logger

	flush    chan chan struct{}
	stop     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once
	// exports is the context of every export; Shutdown cancels it when
	// its deadline passes, so a hung collector cannot keep the goroutine.
	exports      context.Context
	abortExports context.CancelFunc
}

var _ sdktrace.SpanProcessor = (*batcher)(nil)

func newBatcher(exp sdktrace.SpanExporter, queueSize int, delay time.Duration, m *exportMetrics, log *slog.Logger) *batcher {
	exports, abort := context.WithCancel(context.Background())
	b := &batcher{
		exports:      exports,
		abortExports: abort,
		exporter:     exp,
		queue:        make(chan sdktrace.ReadOnlySpan, queueSize),
		delay:        delay,
		metrics:      m,
		log:          log,
		flush:        make(chan chan struct{}),
		stop:         make(chan struct{}),
		stopped:      make(chan struct{}),
	}
	go b.run()
	return b
}

// OnStart implements sdktrace.SpanProcessor.
func (b *batcher) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd queues s for export, or drops it when the queue is full: it never
// blocks the request that ended the span.
func (b *batcher) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	select {
	case b.queue <- s:
	default:
		b.metrics.dropped.Inc()
	}
}

// ForceFlush exports every span queued so far, within ctx.
func (b *batcher) ForceFlush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case b.flush <- done:
	case <-b.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown exports what is queued and shuts the exporter down, within ctx.
// When ctx ends first, the export under way is abandoned and the goroutine
// stops all the same.
func (b *batcher) Shutdown(ctx context.Context) error {
	b.stopOnce.Do(func() { close(b.stop) })
	select {
	case <-b.stopped:
	case <-ctx.Done():
		b.abortExports()
		<-b.stopped
		return ctx.Err()
	}
	b.abortExports()
	return b.exporter.Shutdown(ctx)
}

// run is the export goroutine: it sends a batch when it is full, when the
// delay passes, on ForceFlush and, what remains, on Shutdown.
func (b *batcher) run() {
	defer close(b.stopped)
	ticker := time.NewTicker(b.delay)
	defer ticker.Stop()
	batch := make([]sdktrace.ReadOnlySpan, 0, maxBatch)
	export := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(b.exports, exportTimeout)
		err := b.exporter.ExportSpans(ctx, batch)
		cancel()
		if err != nil {
			b.metrics.failed.Add(float64(len(batch)))
			b.log.Warn("trace export failed", "spans", len(batch), "err", err)
		} else {
			b.metrics.exported.Add(float64(len(batch)))
		}
		clear(batch) // let the spans be collected
		batch = batch[:0]
	}
	// drain moves what is queued now into batches.
	drain := func() {
		for {
			select {
			case s := <-b.queue:
				if batch = append(batch, s); len(batch) == maxBatch {
					export()
				}
			default:
				return
			}
		}
	}
	for {
		select {
		case s := <-b.queue:
			if batch = append(batch, s); len(batch) == maxBatch {
				export()
			}
		case <-ticker.C:
			export()
		case done := <-b.flush:
			drain()
			export()
			close(done)
		case <-b.stop:
			drain()
			export()
			return
		}
	}
}

// exportMetrics count what happens to sampled spans.
type exportMetrics struct {
	exported, dropped, failed prometheus.Counter
}

// newExportMetrics registers the counters on reg, which adds the service's
// prefix.
func newExportMetrics(reg prometheus.Registerer) (*exportMetrics, error) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &exportMetrics{
		exported: counter("trace_spans_exported_total", "Sampled spans sent to the OTLP collector."),
		dropped:  counter("trace_spans_dropped_total", "Sampled spans dropped because the export queue was full."),
		failed:   counter("trace_spans_failed_total", "Sampled spans the OTLP collector did not accept."),
	}
	for _, c := range []prometheus.Collector{m.exported, m.dropped, m.failed} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
