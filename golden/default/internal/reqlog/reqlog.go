// Package reqlog makes log lines request-scoped: a slog handler that adds
// the trace id of the span in the context, and the request id, to every
// record logged with a request's context; the request ids themselves,
// accepted from or returned in X-Request-Id (and gRPC's x-request-id
// metadata); and a sampled access log.
package reqlog

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Handler is a slog.Handler that adds the request's identity to records
// logged with its context (log.InfoContext(ctx, ...)): trace_id and
// span_id when a span is in the context, and request_id when the request
// has one (a traced request has one only when its client sent it).
type Handler struct {
	next slog.Handler
}

// NewHandler returns a Handler writing to next.
func NewHandler(next slog.Handler) *Handler { return &Handler{next: next} }

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name)}
}
