package reqlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"example.com/shop/internal/reqlog"
)

// logLine logs one line with ctx through a Handler and returns its fields.
func logLine(t *testing.T, ctx context.Context) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	log := slog.New(reqlog.NewHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	log.InfoContext(ctx, "hello")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	return line
}

func TestLinesCarryTheSpansTraceID(t *testing.T) {
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID}))
	line := logLine(t, ctx)
	if line["trace_id"] != traceID.String() || line["span_id"] != spanID.String() || line["component"] != "test" {
		t.Fatalf("line %v: want trace_id, span_id and the logger's own attributes", line)
	}
	if line := logLine(t, context.Background()); line["trace_id"] != nil || line["request_id"] != nil {
		t.Fatalf("line %v outside a request: want no ids", line)
	}
}

func TestLinesCarryTheRequestID(t *testing.T) {
	ctx, header := reqlog.WithRequestID(context.Background(), "abc-123")
	if line := logLine(t, ctx); line["request_id"] != "abc-123" {
		t.Fatalf("line %v: want request_id abc-123", line)
	}
	if len(header) != 1 || header[0] != "abc-123" || reqlog.RequestID(ctx) != "abc-123" {
		t.Fatalf("header %v, RequestID %q: want the id", header, reqlog.RequestID(ctx))
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"0f8fad5b-d9cb-469f-a165-70867728950e": true,
		"req_1.2:3+4/5=":                       true,
		strings.Repeat("a", reqlog.MaxIDLen):   true,
		"":                                     false,
		strings.Repeat("a", reqlog.MaxIDLen+1): false,
		"a b":                                  false,
		`a"b`:                                  false,
		"a\nlevel=ERROR":                       false,
		"ünïcode":                              false,
	} {
		if got := reqlog.ValidID(id); got != want {
			t.Errorf("ValidID(%.20q) = %v, want %v", id, got, want)
		}
	}
}

func TestNewIDsAreValidAndDistinct(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := reqlog.NewID()
		if len(id) != 16 || !reqlog.ValidID(id) || seen[id] {
			t.Fatalf("NewID() = %q: want 16 hex digits, never repeated", id)
		}
		seen[id] = true
	}
}

func TestParseIDs(t *testing.T) {
	for s, want := range map[string]reqlog.IDs{"off": reqlog.IDsOff, "accept": reqlog.IDsAccept, "generate": reqlog.IDsGenerate} {
		if got, err := reqlog.ParseIDs(s); err != nil || got != want {
			t.Errorf("ParseIDs(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := reqlog.ParseIDs("always"); err == nil {
		t.Error(`ParseIDs("always") accepted`)
	}
}
