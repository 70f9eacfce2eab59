package tracing

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// stuckExporter blocks every export until release is closed, as a
// collector that stopped answering does.
type stuckExporter struct {
	called  chan struct{}
	release chan struct{}
	once    sync.Once

	mu       sync.Mutex
	exported int
}

func (e *stuckExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.once.Do(func() { close(e.called) })
	select {
	case <-e.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	e.mu.Lock()
	e.exported += len(spans)
	e.mu.Unlock()
	return nil
}

func (e *stuckExporter) Shutdown(context.Context) error { return nil }

func TestFullQueueDropsAndCountsInsteadOfBlocking(t *testing.T) {
	const queue, extra = 4, 5
	exp := &stuckExporter{called: make(chan struct{}), release: make(chan struct{})}
	m, err := newExportMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	b := newBatcher(exp, queue, 10*time.Millisecond, m, slog.New(slog.DiscardHandler))
	provider := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(b))
	tracer := provider.Tracer("test")
	end := func(n int) {
		for range n {
			_, span := tracer.Start(context.Background(), "op")
			span.End()
		}
	}

	end(1)
	<-exp.called // the export goroutine is stuck exporting the first span
	done := make(chan struct{})
	go func() {
		end(queue + extra) // must return at once: ending a span never waits
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ending spans blocked on a stuck exporter")
	}
	if got := testutil.ToFloat64(m.dropped); got != extra {
		t.Errorf("dropped = %v, want the %d spans past the queue's %d", got, extra, queue)
	}

	close(exp.release)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := provider.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.exported); got != 1+queue || exp.exported != 1+queue {
		t.Errorf("exported = %v (exporter saw %d), want %d: the stuck span and the queue", got, exp.exported, 1+queue)
	}
}

func TestShutdownAbandonsAHungExport(t *testing.T) {
	exp := &stuckExporter{called: make(chan struct{}), release: make(chan struct{})} // never released
	m, err := newExportMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	b := newBatcher(exp, 4, 10*time.Millisecond, m, slog.New(slog.DiscardHandler))
	provider := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(b))
	_, span := provider.Tracer("test").Start(context.Background(), "op")
	span.End()
	<-exp.called
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := provider.Shutdown(ctx); err == nil {
		t.Fatal("Shutdown reported success with the export still hung")
	}
	select {
	case <-b.stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the export goroutine outlived Shutdown")
	}
}

func TestUnsampledSpansAreNotQueued(t *testing.T) {
	exp := &stuckExporter{called: make(chan struct{}), release: make(chan struct{})}
	close(exp.release)
	m, err := newExportMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	b := newBatcher(exp, 1, time.Hour, m, slog.New(slog.DiscardHandler))
	provider := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithSpanProcessor(b))
	for range 10 {
		_, span := provider.Tracer("test").Start(context.Background(), "op")
		span.End()
	}
	if err := provider.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if exp.exported != 0 || testutil.ToFloat64(m.dropped) != 0 {
		t.Fatalf("exported %d, dropped %v unsampled spans; want neither", exp.exported, testutil.ToFloat64(m.dropped))
	}
}

func TestOffIsNil(t *testing.T) {
	tr, err := New(Options{}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil || tr != nil {
		t.Fatalf("New without an endpoint = %v, %v; want nil, nil", tr, err)
	}
	if tr.TracerProvider() != nil || tr.Shutdown(context.Background()) != nil {
		t.Fatal("a nil Tracing is not a no-op")
	}
}

func TestSamplerNames(t *testing.T) {
	for _, name := range []string{"always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"} {
		if _, err := Sampler(name, 0.5); err != nil {
			t.Errorf("Sampler(%q): %v", name, err)
		}
	}
	for _, bad := range []struct {
		name string
		arg  float64
	}{
		{"sometimes", 1},
		{"traceidratio", 1.5},
		{"traceidratio", -0.1},
	} {
		if _, err := Sampler(bad.name, bad.arg); err == nil {
			t.Errorf("Sampler(%q, %v) accepted", bad.name, bad.arg)
		}
	}
}
