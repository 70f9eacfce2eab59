// Package tracing is the service's OpenTelemetry tracing: a tracer provider
// that exports sampled spans over OTLP/HTTP through a bounded queue, the W3C
// trace-context propagator, and the instrumentation of the servers and the
// upstream client.
//
// Tracing is off unless an OTLP endpoint is configured. Off, New returns a
// nil *Tracing, every method of which is a no-op: no provider, no exporter
// goroutine and nothing on the request path.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names the tracer of the service's own spans.
const tracerName = "example.com/demo/internal/tracing"

// Options configure tracing; config.Config fills them from the OTEL_*
// variables and the flags.
type Options struct {
	// Endpoint is the OTLP/HTTP traces URL, such as
	// http://collector:4318/v1/traces. Empty turns tracing off.
	Endpoint string
	// ServiceName is the service.name resource attribute.
	ServiceName string
	// Sampler is one of the OTEL_TRACES_SAMPLER values: always_on,
	// always_off, traceidratio, parentbased_always_on,
	// parentbased_always_off or parentbased_traceidratio.
	Sampler string
	// SamplerArg is the ratio of the traceidratio samplers, 0 to 1.
	SamplerArg float64
	// QueueSize bounds the spans waiting for export; past it new spans are
	// dropped and counted, so a slow collector never blocks a request nor
	// grows memory.
	QueueSize int
	// BatchDelay is the longest a span waits for its batch to be exported.
	BatchDelay time.Duration
	// Export configures the requests to the collector.
	Export ExportOptions
}

// Tracing holds the tracer provider and the propagator. A nil *Tracing is
// tracing turned off.
type Tracing struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator
	batcher  *batcher
}

// Sampler parses name and arg as OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG.
func Sampler(name string, arg float64) (sdktrace.Sampler, error) {
	if arg < 0 || arg > 1 {
		return nil, fmt.Errorf("trace sampler argument %v: want a ratio from 0 to 1", arg)
	}
	switch name {
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(arg), nil
	case "parentbased_always_on", "":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(arg)), nil
	}
	return nil, fmt.Errorf("trace sampler %q: use always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio", name)
}

// New starts tracing as opts say, registering the export metrics on reg
// (they are registered, at zero, when tracing is off too, so dashboards
// and alerts find them). Call Shutdown when the servers have drained.
func New(opts Options, log *slog.Logger, reg prometheus.Registerer) (*Tracing, error) {
	m, err := newExportMetrics(reg)
	if err != nil {
		return nil, err
	}
	if opts.Endpoint == "" {
		return nil, nil
	}
	sampler, err := Sampler(opts.Sampler, opts.SamplerArg)
	if err != nil {
		return nil, err
	}
	if opts.QueueSize <= 0 || opts.BatchDelay <= 0 {
		return nil, fmt.Errorf("trace queue size %d and batch delay %s: must be positive", opts.QueueSize, opts.BatchDelay)
	}
	exp, err := newExporter(opts.Endpoint, opts.Export)
	if err != nil {
		return nil, err
	}
	b := newBatcher(exp, opts.QueueSize, opts.BatchDelay, m, log)
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sampler),
		sdktrace.WithSpanProcessor(b),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", opts.ServiceName))),
	)
	return &Tracing{
		provider: provider,
		tracer:   provider.Tracer(tracerName),
		prop:     propagation.TraceContext{},
		batcher:  b,
	}, nil
}

// TracerProvider returns the provider, or nil when tracing is off: the
// instrumentation of the store and the clients takes nil as "no spans".
func (t *Tracing) TracerProvider() trace.TracerProvider {
	if t == nil {
		return nil
	}
	return t.provider
}

// Propagator returns the W3C trace-context propagator, or nil when tracing
// is off.
func (t *Tracing) Propagator() propagation.TextMapPropagator {
	if t == nil {
		return nil
	}
	return t.prop
}

// ForceFlush exports the spans ended so far, within ctx.
func (t *Tracing) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.ForceFlush(ctx)
}

// Shutdown exports the spans still queued and stops the exporter, within
// ctx's deadline.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}
