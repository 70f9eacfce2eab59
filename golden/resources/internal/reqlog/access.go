package reqlog

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"
)

// AccessLog logs one line per sampled request, at info level, with its
// route pattern, method, status, duration and response bytes; the request's
// trace or request id come from the context through Handler.
type AccessLog struct {
	log      *slog.Logger
	fraction float64
}

// NewAccessLog returns an access log of fraction of the requests (0 to 1),
// or nil when fraction is 0.
func NewAccessLog(log *slog.Logger, fraction float64) *AccessLog {
	if fraction <= 0 {
		return nil
	}
	return &AccessLog{log: log, fraction: fraction}
}

// Sampled decides whether this request is logged.
func (a *AccessLog) Sampled() bool {
	return a != nil && (a.fraction >= 1 || rand.Float64() < a.fraction) // #nosec G404 -- sampling, not a secret
}

// Log writes the line of a request served.
func (a *AccessLog) Log(ctx context.Context, r *http.Request, status int, bytes int64, elapsed time.Duration) {
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "request",
		slog.String("route", route),
		slog.String("method", r.Method),
		slog.Int("status", status),
		slog.Duration("duration", elapsed),
		slog.Int64("bytes", bytes),
	)
}
