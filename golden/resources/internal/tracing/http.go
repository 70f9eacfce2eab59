package tracing

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// StartServer continues the trace whose context r carries (a traceparent
// header) or starts one, with a server span named for r's method until
// EndServer names it for its route.
func (t *Tracing) StartServer(r *http.Request) (context.Context, trace.Span) {
	ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	return t.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
}

// EndServer names the span for the route pattern the mux matched ("GET
// /v1/items/{id}"; the raw path would make every item its own span name),
// records the response's status and ends it.
func EndServer(span trace.Span, r *http.Request, status int) {
	if span.IsRecording() {
		if r.Pattern != "" {
			span.SetName(r.Pattern)
		}
		span.SetAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("http.route", route(r.Pattern)),
			attribute.String("url.path", r.URL.Path),
			attribute.Int("http.response.status_code", status),
			attribute.String("network.protocol.version", protocolVersion(r)),
		)
		if status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	}
	span.End()
}

// route is pattern's path: "GET /v1/items/{id}" -> "/v1/items/{id}".
func route(pattern string) string {
	for i := range len(pattern) {
		if pattern[i] == '/' {
			return pattern[i:]
		}
	}
	return pattern
}

func protocolVersion(r *http.Request) string {
	if r.ProtoMajor == 2 {
		return "2"
	}
	return "1.1"
}
