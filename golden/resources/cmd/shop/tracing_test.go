package main

import (
	"bytes"
	"net/http"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"example.com/shop/internal/items"
	"example.com/shop/internal/tracing/tracingtest"
)

// goroutines returns the stacks of every goroutine.
func goroutines(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 2); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// exporterRunning reports whether stacks show tracing's export goroutine
// or the OTLP exporter.
func exporterRunning(stacks string) bool {
	return strings.Contains(stacks, "/internal/tracing.") || strings.Contains(stacks, "otlptrace")
}

func TestTracingOffRunsNoExporter(t *testing.T) {
	startRun(t)
	if stacks := goroutines(t); exporterRunning(stacks) {
		t.Fatalf("tracing is off but an exporter goroutine runs:\n%s", stacks)
	}
}

func TestTracingExportsTheRequestsSpans(t *testing.T) {
	const (
		callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
		callerSpan  = "00f067aa0ba902b7"
	)
	recv := tracingtest.NewReceiver(t)
	httpAddr, _ := startRun(t, "-otlp-traces-endpoint", recv.URL, "-trace-batch-delay", "50ms")
	if !exporterRunning(goroutines(t)) {
		t.Fatal("tracing is on but no export goroutine shows in the stacks")
	}

	// A miss: the request reaches the store.
	id := items.NewID()
	req, _ := http.NewRequest(http.MethodGet, "http://"+httpAddr+"/v1/items/"+id, nil)
	req.Header.Set("Traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	server := recv.WaitFor(t, 10*time.Second, "the request's server span", func(s tracingtest.Span) bool {
		return s.TraceID == callerTrace && s.GetKind() == tracepb.Span_SPAN_KIND_SERVER && s.GetName() == "GET /v1/items/{id}"
	})
	if server.ParentID != callerSpan || server.Service != "shop" {
		t.Errorf("server span: parent %s, service %q; want the caller's span %s and service shop", server.ParentID, server.Service, callerSpan)
	}
	store := recv.WaitFor(t, 10*time.Second, "the store's span", func(s tracingtest.Span) bool {
		return s.TraceID == callerTrace && s.GetName() == "get_item"
	})
	if store.ParentID != server.SpanID || store.GetKind() != tracepb.Span_SPAN_KIND_CLIENT || store.Attr("db.system.name") != "postgresql" {
		t.Errorf("store span: parent %s, kind %v, db.system.name %q; want a postgresql client span under the server span %s", store.ParentID, store.GetKind(), store.Attr("db.system.name"), server.SpanID)
	}
	for _, kv := range store.GetAttributes() {
		if strings.Contains(kv.GetValue().String(), id) || strings.Contains(kv.GetValue().String(), "SELECT") {
			t.Errorf("store span attribute %s = %v: spans carry the statement's name, never its SQL or arguments", kv.GetKey(), kv.GetValue())
		}
	}
}
