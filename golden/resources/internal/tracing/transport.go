package tracing

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Transport traces the requests next sends: a client span per request, a
// child of the span in the request's context, whose context goes out in the
// traceparent header. Off (a nil t), it returns next.
func (t *Tracing) Transport(next http.RoundTripper) http.RoundTripper {
	if t == nil {
		return next
	}
	return &transport{next: next, t: t}
}

type transport struct {
	next http.RoundTripper
	t    *Tracing
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, span := tr.t.tracer.Start(req.Context(), req.Method, trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	// A RoundTripper must not modify its request: send a copy carrying the
	// span and its traceparent.
	req = req.Clone(ctx)
	tr.t.prop.Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := tr.next.RoundTrip(req)
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("http.request.method", req.Method),
			attribute.String("server.address", req.URL.Host),
			attribute.String("url.full", req.URL.Redacted()),
		)
		switch {
		case err != nil:
			span.RecordError(err)
			span.SetStatus(codes.Error, "request failed")
		default:
			span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
			if resp.StatusCode >= http.StatusInternalServerError {
				span.SetStatus(codes.Error, resp.Status)
			}
		}
	}
	return resp, err
}
