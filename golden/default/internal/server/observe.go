package server

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"

	"example.com/demo/internal/reqlog"
	"example.com/demo/internal/tracing"
)

// WithTracing traces every public HTTP request and gRPC call with t,
// in a server span that continues the caller's W3C trace context. A nil t
// (tracing off) adds nothing.
func WithTracing(t *tracing.Tracing) Option {
	return func(s *Server) { s.tracing = t }
}

// WithRequestIDs gives public requests an id for their log lines, as ids
// says: the valid id a request came with (X-Request-Id, or x-request-id
// metadata for gRPC), echoed in the response, and with
// reqlog.IDsGenerate a new one for a request without. A traced request
// without one is answered with its trace id, which its log lines carry.
func WithRequestIDs(ids reqlog.IDs) Option {
	return func(s *Server) { s.requestIDs = ids }
}

// requestID gives a request or call the id it was sent, if valid; else,
// when it is traced (sc), its trace id, which its log lines carry already;
// else, with reqlog.IDsGenerate, a new id. It returns ctx with the id and
// the values that echo it in the response, or ctx as it is and nil when
// the request gets none.
func (s *Server) requestID(ctx context.Context, sent string, sc trace.SpanContext) (context.Context, []string) {
	switch {
	case reqlog.ValidID(sent):
	case sc.IsValid():
		return ctx, []string{sc.TraceID().String()}
	case s.requestIDs == reqlog.IDsGenerate:
		sent = reqlog.NewID()
	default:
		return ctx, nil
	}
	return reqlog.WithRequestID(ctx, sent)
}

// WithAccessLog logs the requests a samples.
func WithAccessLog(a *reqlog.AccessLog) Option {
	return func(s *Server) { s.accessLog = a }
}

// observe wraps the public handler in what makes a request observable: its
// trace span, its request id and its access log line. It is outermost, so
// the span covers shedding and the metrics, and it replaces the request
// (r.WithContext) once, passing the copy on: the mux records the route
// pattern on the copy, where the metrics inside read it and observe reads
// it after serving. With none of them on, next is served as it is.
//
// A request that is neither traced nor logged, the common case, takes
// withRequestID alone. Over HTTP/2 each request runs on a new goroutine
// with a small stack, and every frame on its path counts: the span and the
// log line's locals stay in observeAll's frame, off that path.
func (s *Server) observe(next http.Handler) http.Handler {
	if s.tracing == nil && s.requestIDs == reqlog.IDsOff && s.accessLog == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logged := s.accessLog.Sampled()
		if s.tracing == nil && !logged {
			s.withRequestID(w, r, next)
			return
		}
		s.observeAll(w, r, next, logged)
	})
}

// withRequestID serves r with its request id, if it has or gets one.
func (s *Server) withRequestID(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if ctx := s.httpRequestID(r.Context(), w, r, nil); ctx != r.Context() {
		r = r.WithContext(ctx)
	}
	next.ServeHTTP(w, r)
}

// httpRequestID returns ctx with r's request id (requestID), which it
// echoes in w's X-Request-Id; span is r's span, nil when it is not traced.
func (s *Server) httpRequestID(ctx context.Context, w http.ResponseWriter, r *http.Request, span trace.Span) context.Context {
	if s.requestIDs == reqlog.IDsOff {
		return ctx
	}
	var sc trace.SpanContext
	if span != nil {
		sc = span.SpanContext()
	}
	ctx, echo := s.requestID(ctx, r.Header.Get(reqlog.Header), sc)
	if echo != nil {
		w.Header()[reqlog.Header] = echo
	}
	return ctx
}

// observeAll serves a request that is traced, logged or both.
func (s *Server) observeAll(w http.ResponseWriter, r *http.Request, next http.Handler, logged bool) {
	start := time.Now()
	ctx := r.Context()
	var span trace.Span
	if s.tracing != nil {
		ctx, span = s.tracing.StartServer(r)
	}
	if ctx = s.httpRequestID(ctx, w, r, span); ctx != r.Context() {
		r = r.WithContext(ctx)
	}
	rec := &observedWriter{ResponseWriter: w, status: http.StatusOK}
	if span != nil {
		// Ended by a panic too: net/http's ErrAbortHandler passes
		// through recoverPanics to here.
		defer func() { tracing.EndServer(span, r, rec.status) }()
	}
	next.ServeHTTP(rec, r)
	if logged {
		s.accessLog.Log(ctx, r, rec.status, rec.bytes, time.Since(start))
	}
}

// observedWriter records the status and the size of a response. It is a
// metrics.StatusWriter, so the metrics and the limiter inside use it
// instead of wrapping the writer again.
type observedWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	bytes       int64
}

func (w *observedWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status = code
		w.wroteHeader = code >= 200
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *observedWriter) Write(p []byte) (int, error) {
	w.wroteHeader = true
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Status returns the status written so far: 200 until the handler writes
// another.
func (w *observedWriter) Status() int { return w.status }

func (w *observedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
