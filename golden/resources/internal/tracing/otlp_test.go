package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"example.com/shop/internal/tracing/tracingtest"
)

var (
	testTraceID = trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	testSpanID  = trace.SpanID{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	testParent  = trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}
	testStart   = time.Unix(1_700_000_000, 123)
)

// testSpans are two spans of one resource from two tracers, using every
// field and attribute type the encoder writes.
func testSpans(t testing.TB) []sdktrace.ReadOnlySpan {
	t.Helper()
	state, err := trace.ParseTraceState("vendor=value")
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "test"))
	server := tracetest.SpanStub{
		Name: "GET /v1/items/{id}",
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: testTraceID, SpanID: testSpanID, TraceFlags: trace.FlagsSampled, TraceState: state,
		}),
		Parent:    trace.NewSpanContext(trace.SpanContextConfig{TraceID: testTraceID, SpanID: testParent, Remote: true}),
		SpanKind:  trace.SpanKindServer,
		StartTime: testStart,
		EndTime:   testStart.Add(time.Millisecond),
		Attributes: []attribute.KeyValue{
			attribute.String("http.route", "/v1/items/{id}"),
			attribute.Int("http.response.status_code", 500),
			attribute.Bool("cached", false),
			attribute.Float64("ratio", 0.25),
			attribute.StringSlice("tags", []string{"a", "b"}),
			attribute.Int64Slice("sizes", []int64{1, -2}),
		},
		Events: []sdktrace.Event{{
			Name: "exception", Time: testStart.Add(time.Microsecond),
			Attributes: []attribute.KeyValue{attribute.String("exception.message", "boom")},
		}},
		Links: []sdktrace.Link{{
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: testTraceID, SpanID: testParent, TraceFlags: trace.FlagsSampled}),
			Attributes:  []attribute.KeyValue{attribute.String("why", "retry")},
		}},
		Status:               sdktrace.Status{Code: codes.Error, Description: "Internal Server Error"},
		DroppedAttributes:    2,
		Resource:             res,
		InstrumentationScope: instrumentation.Scope{Name: "example/internal/tracing", Version: "v1"},
	}
	store := tracetest.SpanStub{
		Name:                 "GetItem",
		SpanContext:          trace.NewSpanContext(trace.SpanContextConfig{TraceID: testTraceID, SpanID: testParent, TraceFlags: trace.FlagsSampled}),
		Parent:               server.SpanContext,
		SpanKind:             trace.SpanKindClient,
		StartTime:            testStart,
		EndTime:              testStart.Add(time.Microsecond),
		Status:               sdktrace.Status{Code: codes.Ok},
		Resource:             res,
		InstrumentationScope: instrumentation.Scope{Name: "store"},
	}
	return []sdktrace.ReadOnlySpan{server.Snapshot(), store.Snapshot(), server.Snapshot()}
}

func str(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func integer(n int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: n}}
}

func TestAppendTracesDecodesWithTheOTLPTypes(t *testing.T) {
	serverSpan := &tracepb.Span{
		TraceId:      testTraceID[:],
		SpanId:       testSpanID[:],
		TraceState:   "vendor=value",
		ParentSpanId: testParent[:],
		Flags:        0x301, // sampled, and the parent is remote
		Name:         "GET /v1/items/{id}",
		Kind:         tracepb.Span_SPAN_KIND_SERVER,

		StartTimeUnixNano: uint64(testStart.UnixNano()),
		EndTimeUnixNano:   uint64(testStart.Add(time.Millisecond).UnixNano()),
		Attributes: []*commonpb.KeyValue{
			{Key: "http.route", Value: str("/v1/items/{id}")},
			{Key: "http.response.status_code", Value: integer(500)},
			{Key: "cached", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{}}},
			{Key: "ratio", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 0.25}}},
			{Key: "tags", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{str("a"), str("b")}}}}},
			{Key: "sizes", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{integer(1), integer(-2)}}}}},
		},
		DroppedAttributesCount: 2,
		Events: []*tracepb.Span_Event{{
			TimeUnixNano: uint64(testStart.Add(time.Microsecond).UnixNano()),
			Name:         "exception",
			Attributes:   []*commonpb.KeyValue{{Key: "exception.message", Value: str("boom")}},
		}},
		Links: []*tracepb.Span_Link{{
			TraceId:    testTraceID[:],
			SpanId:     testParent[:],
			Attributes: []*commonpb.KeyValue{{Key: "why", Value: str("retry")}},
			Flags:      0x101,
		}},
		Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "Internal Server Error"},
	}
	want := &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name", Value: str("test")}}},
		ScopeSpans: []*tracepb.ScopeSpans{
			{
				Scope: &commonpb.InstrumentationScope{Name: "example/internal/tracing", Version: "v1"},
				Spans: []*tracepb.Span{serverSpan, serverSpan},
			},
			{
				Scope: &commonpb.InstrumentationScope{Name: "store"},
				Spans: []*tracepb.Span{{
					TraceId:           testTraceID[:],
					SpanId:            testParent[:],
					ParentSpanId:      testSpanID[:],
					Flags:             0x101,
					Name:              "GetItem",
					Kind:              tracepb.Span_SPAN_KIND_CLIENT,
					StartTimeUnixNano: uint64(testStart.UnixNano()),
					EndTimeUnixNano:   uint64(testStart.Add(time.Microsecond).UnixNano()),
					Status:            &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK},
				}},
			},
		},
	}}}

	var got tracepb.TracesData
	if err := proto.Unmarshal(appendTraces(nil, testSpans(t)), &got); err != nil {
		t.Fatalf("the encoding does not parse as OTLP: %v", err)
	}
	if !proto.Equal(&got, want) {
		t.Fatalf("decoded:\n%s\nwant:\n%s", prototext.Format(&got), prototext.Format(want))
	}
}

func TestExporterSendsHeadersAndGzip(t *testing.T) {
	recv := tracingtest.NewReceiver(t)
	exp, err := newExporter(recv.URL, ExportOptions{Headers: "Authorization=Bearer%20token", Gzip: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(context.Background(), testSpans(t)); err != nil {
		t.Fatal(err)
	}
	if got := len(recv.Spans()); got != 3 {
		t.Fatalf("the receiver decoded %d spans, want 3", got)
	}
	h := recv.Headers()[0]
	if h.Get("Authorization") != "Bearer token" || h.Get("Content-Encoding") != "gzip" {
		t.Errorf("request headers %v: want the configured Authorization and gzip", h)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestExporterRetriesAnUnavailableCollector(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	exp, err := newExporter(srv.URL+"/v1/traces", ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(context.Background(), testSpans(t)); err != nil {
		t.Fatalf("export after one 503: %v", err)
	}
	if got := calls.Load(); got != 2 {
		t.Fatalf("the collector saw %d requests, want the failed one and its retry", got)
	}
}

func TestExporterReportsRejections(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   []byte
		want   string
	}{
		// partial_success { rejected_spans: 2, error_message: "too old" }
		{"partial success", http.StatusOK, []byte{0x0a, 0x0b, 0x08, 0x02, 0x12, 0x07, 't', 'o', 'o', ' ', 'o', 'l', 'd'}, "rejected 2 spans: too old"},
		{"wrong path", http.StatusNotFound, nil, "/v1/traces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(tc.status)
				_, _ = w.Write(tc.body)
			}))
			defer srv.Close()
			exp, err := newExporter(srv.URL, ExportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			err = exp.ExportSpans(context.Background(), testSpans(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ExportSpans = %v, want an error saying %q", err, tc.want)
			}
			if calls.Load() != 1 {
				t.Errorf("%d requests: a rejection is not retried", calls.Load())
			}
		})
	}
}

func TestExportOptionsFromEnv(t *testing.T) {
	env := map[string]string{
		"OTEL_EXPORTER_OTLP_HEADERS":            "api-key=a%20b, tenant=t1",
		"OTEL_EXPORTER_OTLP_TIMEOUT":            "2000",
		"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT":     "500",
		"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip",
		"OTEL_EXPORTER_OTLP_CERTIFICATE":        "/etc/ca.pem",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	o, err := ExportOptionsFromEnv(lookup)
	if err != nil {
		t.Fatal(err)
	}
	headers, err := parseHeaders(o.Headers)
	if err != nil || headers["api-key"] != "a b" || headers["tenant"] != "t1" || o.Timeout != 500*time.Millisecond || !o.Gzip || o.CACertificate != "/etc/ca.pem" {
		t.Fatalf("ExportOptionsFromEnv = %+v", o)
	}
	for _, bad := range []map[string]string{
		{"OTEL_EXPORTER_OTLP_HEADERS": "novalue"},
		{"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"},
		{"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"},
	} {
		if _, err := ExportOptionsFromEnv(func(k string) (string, bool) { v, ok := bad[k]; return v, ok }); err == nil {
			t.Errorf("ExportOptionsFromEnv(%v) accepted", bad)
		}
	}
}

// BenchmarkAppendTraces encodes a full batch (512 spans) of server spans,
// as the export goroutine does; perfgen's docs/performance.md compares the
// exporter with otlptracehttp.
func BenchmarkAppendTraces(b *testing.B) {
	spans := testSpans(b)[:1]
	for len(spans) < maxBatch {
		spans = append(spans, spans[0])
	}
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = appendTraces(buf[:0], spans)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
}
