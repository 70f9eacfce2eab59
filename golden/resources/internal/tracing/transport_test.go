package tracing_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"example.com/shop/internal/tracing"
	"example.com/shop/internal/tracing/tracingtest"
)

func TestTransportSendsTraceparentUnderTheCallersSpan(t *testing.T) {
	recv := tracingtest.NewReceiver(t)
	tr, err := tracing.New(tracing.Options{Endpoint: recv.URL, ServiceName: "test", Sampler: "always_on", QueueSize: 16, BatchDelay: time.Hour}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tr.Shutdown(context.Background()) }()
	got := make(chan string, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Traceparent")
	}))
	defer upstream.Close()

	ctx, parent := tr.TracerProvider().Tracer("test").Start(context.Background(), "handler")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, upstream.URL+"/v1/items/x", nil)
	resp, err := (&http.Client{Transport: tr.Transport(http.DefaultTransport)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	parent.End()
	if req.Header.Get("Traceparent") != "" {
		t.Error("the transport modified the caller's request")
	}
	traceparent := <-got
	traceID := parent.SpanContext().TraceID().String()
	if !strings.HasPrefix(traceparent, "00-"+traceID+"-") {
		t.Fatalf("upstream got traceparent %q, want the caller's trace %s", traceparent, traceID)
	}
	if err := tr.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	client := recv.WaitFor(t, 5*time.Second, "client span", func(s tracingtest.Span) bool {
		return s.GetKind() == tracepb.Span_SPAN_KIND_CLIENT && s.TraceID == traceID
	})
	if client.ParentID != parent.SpanContext().SpanID().String() || !strings.Contains(traceparent, client.SpanID) {
		t.Errorf("client span %s (parent %s) and traceparent %q: want the span under the handler's and named in traceparent", client.SpanID, client.ParentID, traceparent)
	}
}

func TestTransportOffIsTheTransportItself(t *testing.T) {
	var tr *tracing.Tracing
	if got := tr.Transport(http.DefaultTransport); got != http.DefaultTransport {
		t.Fatalf("Transport with tracing off = %T, want the transport it was given", got)
	}
}
