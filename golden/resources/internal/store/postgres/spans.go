package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// dbSystem marks the store's spans as PostgreSQL's.
var dbSystem = attribute.String("db.system.name", "postgresql")

// TraceSpans has t start a span per query that runs in a traced context,
// named by the query's statement name (get_item), never its SQL text or
// arguments. Queries outside a trace (migrations, pool health checks) get
// none. A nil tp, tracing off, leaves spans off: the query path then pays
// one nil check.
func (t *Tracer) TraceSpans(tp trace.TracerProvider) {
	if tp != nil {
		t.spans = tp.Tracer("example.com/shop/internal/store/postgres")
	}
}

// startSpan starts the span of the query named name, if it is traced.
func (t *Tracer) startSpan(ctx context.Context, name string) (context.Context, trace.Span) {
	if t.spans == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, nil
	}
	return t.spans.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(dbSystem, attribute.String("db.query.summary", name)))
}

// endSpan ends a query's span. A failed query records its SQLSTATE, not
// its message, which can quote the values involved.
func endSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			span.SetAttributes(attribute.String("db.response.status_code", pgErr.Code))
		}
		span.SetStatus(codes.Error, "query failed")
	}
	span.End()
}
