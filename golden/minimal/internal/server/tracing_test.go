package server_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/minimal/internal/config"
	"example.com/minimal/internal/tracing"
	"example.com/minimal/internal/tracing/tracingtest"
)

// A caller's trace context, as a traceparent header carries it.
const (
	callerTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan   = "00f067aa0ba902b7"
	callerParent = "00-" + callerTrace + "-" + callerSpan + "-01"
)

// startTracing starts tracing into a test receiver, flushed and shut down
// when the test ends.
func startTracing(t *testing.T, sampler string) (*tracing.Tracing, *tracingtest.Receiver) {
	t.Helper()
	recv := tracingtest.NewReceiver(t)
	opts := config.Default().Observability
	opts.TraceEndpoint, opts.TraceSampler = recv.URL, sampler
	tr, err := tracing.New(opts.TracingOptions(), slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr, recv
}

// flush exports the spans ended so far.
func flush(t *testing.T, tr *tracing.Tracing) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
}
