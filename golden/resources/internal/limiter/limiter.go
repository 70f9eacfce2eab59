// Package limiter sheds load before it turns into queueing.
//
// A server past its capacity that keeps accepting work only makes every
// request slow: requests wait in queues until they time out, and the client
// retries add more. A Limiter caps the requests in flight and rejects the
// excess at once, so the admitted ones stay fast and rejected clients can
// retry elsewhere or later.
//
// The cap follows a latency gradient, as Netflix's Gradient2 and Vegas
// limits do. Queueing shows as latency above what the same requests take
// without load; a slow dependency makes every request slow, loaded or not.
// So the limiter keeps the no-load latency, the lowest latency of the last
// NoLoadWindow, and compares recent latency (an average of the last few
// dozen requests) with it:
//
//   - Recent latency above Tolerance times the no-load latency, and above
//     LatencyThreshold, is queueing: the limit is multiplied by the ratio of
//     the two (the gradient, at least 1/2), at most once per Cooldown.
//   - Otherwise, while at least half the limit is in use, each completion
//     raises the limit by sqrt(limit)/limit: about sqrt(limit) per round
//     trip, so after an overload the limit climbs from the floor back to
//     Max in about 2*sqrt(Max) round trips (a second or two at 20 ms,
//     under ten at 150 ms).
//   - A request that ends in Overload (a timeout, a dependency refusing
//     work) multiplies the limit by Backoff, at most once per Cooldown.
//
// A dependency that turns uniformly slow, 150 ms for every request, raises
// the no-load latency to 150 ms within one NoLoadWindow; until then it
// reads as queueing and may lower the limit, never below Min, the floor
// that keeps a fraction of the capacity serving. The limit stays within
// [Min, Max]; Max is the configured ceiling.
//
// The API is transport-neutral: Acquire before the work, Token.Release after
// it. HTTP middleware is included; gRPC interceptors use the same two calls.
package limiter

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/shop/internal/counter"
	"example.com/shop/internal/metrics"
)

// Options configure a Limiter. Max is required.
type Options struct {
	// Max is the ceiling: the limit never rises above it.
	Max int
	// Min is the floor the limit never drops below; zero means Max/10, at
	// least 1.
	Min int
	// Initial is the starting limit; zero means Max/4, at least Min.
	Initial int
	// Tolerance is how many times the no-load latency recent latency may
	// reach before it counts as queueing; zero means 2.
	Tolerance float64
	// LatencyThreshold is the latency that never counts as queueing, however
	// far above the no-load latency: a service within it (the SLO's P95) is
	// not overloaded. Zero means 100ms.
	LatencyThreshold time.Duration
	// NoLoadWindow is how far back the no-load latency looks: the lowest
	// latency of the last NoLoadWindow (at least half of it). Zero means
	// 30s.
	NoLoadWindow time.Duration
	// Backoff multiplies the limit on an overloaded completion; zero means
	// 0.9.
	Backoff float64
	// Cooldown is the least time between two decreases, so one burst of slow
	// requests lowers the limit once, not once per request; zero means
	// LatencyThreshold.
	Cooldown time.Duration
	// RetryAfter is the wait suggested to shed clients; zero means 1s.
	RetryAfter time.Duration
	// Now is the clock latencies are measured with; zero means time.Now.
	Now func() time.Time
}

// Outcome tells the limiter what a request's completion says about load.
type Outcome int

const (
	// Success: the request completed; its latency is compared with the
	// no-load latency.
	Success Outcome = iota
	// Overload: the request failed in a way that signals overload (a
	// deadline exceeded, a dependency refusing work); the limit drops.
	Overload
	// Ignore: the completion says nothing about load (a client error, a
	// canceled request); it only frees the slot.
	Ignore
)

// recentWeight is the weight of one completion in the recent latency, an
// exponentially weighted average over about the last 1/recentWeight
// completions.
const recentWeight = 0.05

// Limiter is an adaptive concurrency limiter. It is safe for concurrent use;
// Acquire is lock-free, and Release takes a short lock to update the
// latency estimates.
type Limiter struct {
	o          Options
	inFlight   atomic.Int64
	limit      atomic.Int64 // the admitted cap, floor(precise)
	retryAfter string

	mu           sync.Mutex
	precise      float64       // the adaptive limit
	recent       time.Duration // weighted average of recent latencies; 0 before the first
	lastDecrease time.Time
	// The no-load latency is the lower of two half-window minimums: the
	// current half and the one before it.
	noLoadCur, noLoadPrev time.Duration // 0: no sample yet
	halfStart             time.Time
	noLoad                atomic.Int64 // nanoseconds, for the gauge

	admitted, shed *counter.Counter
	peak           counter.Max
}

// New returns a Limiter; Options are checked and defaulted.
func New(o Options) (*Limiter, error) {
	if o.Max < 1 {
		return nil, fmt.Errorf("limiter: Max must be at least 1, got %d", o.Max)
	}
	if o.Min <= 0 {
		o.Min = max(o.Max/10, 1)
	}
	if o.Min > o.Max {
		return nil, fmt.Errorf("limiter: Min %d is above Max %d; lower Min or raise Max", o.Min, o.Max)
	}
	if o.Initial <= 0 {
		o.Initial = o.Max / 4
	}
	o.Initial = min(max(o.Initial, o.Min), o.Max)
	if o.Tolerance <= 1 {
		o.Tolerance = 2
	}
	if o.LatencyThreshold <= 0 {
		o.LatencyThreshold = 100 * time.Millisecond
	}
	if o.NoLoadWindow <= 0 {
		o.NoLoadWindow = 30 * time.Second
	}
	if o.Backoff <= 0 || o.Backoff >= 1 {
		o.Backoff = 0.9
	}
	if o.Cooldown <= 0 {
		o.Cooldown = o.LatencyThreshold
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	l := &Limiter{
		o:          o,
		retryAfter: strconv.Itoa(int(math.Ceil(o.RetryAfter.Seconds()))),
		admitted:   counter.New(),
		shed:       counter.New(),
	}
	l.set(float64(o.Initial))
	return l, nil
}

// Token is an admitted request's slot. Release it exactly once.
type Token struct {
	l     *Limiter
	start time.Time
}

// Acquire admits a request if fewer than the limit are in flight. It never
// waits: when it returns false the caller should reject the request at once
// (HTTP 503 with Retry-After, gRPC RESOURCE_EXHAUSTED).
func (l *Limiter) Acquire() (Token, bool) {
	n := l.inFlight.Add(1)
	if n > l.limit.Load() {
		l.inFlight.Add(-1)
		l.shed.Inc()
		return Token{}, false
	}
	l.admitted.Inc()
	l.peak.Observe(n)
	return Token{l: l, start: l.o.Now()}, true
}

// Release frees the slot and adapts the limit to the outcome. Releasing the
// zero Token does nothing.
func (t Token) Release(o Outcome) {
	l := t.l
	if l == nil {
		return
	}
	// inFlight before this release: how much of the limit was in use.
	used := l.inFlight.Add(-1) + 1
	if o == Ignore {
		return
	}
	now := l.o.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if o == Overload {
		l.decrease(now, l.o.Backoff)
		return
	}
	latency := now.Sub(t.start)
	noLoad := l.observe(now, latency)
	// Queueing needs a queue: a slow request on a mostly idle server is
	// slow for its own reasons, and a fast one proves nothing about a
	// higher limit. Without this, a quiet hour of occasional slow requests
	// would ratchet the limit down and the next burst would be shed.
	if float64(used)*2 < l.precise {
		return
	}
	target := max(time.Duration(l.o.Tolerance*float64(noLoad)), l.o.LatencyThreshold)
	if l.recent > target {
		l.decrease(now, max(float64(target)/float64(l.recent), 0.5))
		return
	}
	l.set(min(l.precise+math.Sqrt(l.precise)/l.precise, float64(l.o.Max)))
}

// observe adds a completion's latency to the recent average and the
// no-load minimum, and returns the no-load latency.
func (l *Limiter) observe(now time.Time, latency time.Duration) time.Duration {
	latency = max(latency, time.Nanosecond)
	if l.recent == 0 {
		l.recent = latency
	} else {
		l.recent += time.Duration(recentWeight * float64(latency-l.recent))
	}
	if now.Sub(l.halfStart) >= l.o.NoLoadWindow/2 {
		l.noLoadPrev, l.noLoadCur, l.halfStart = l.noLoadCur, 0, now
	}
	if l.noLoadCur == 0 || latency < l.noLoadCur {
		l.noLoadCur = latency
	}
	noLoad := l.noLoadCur
	if l.noLoadPrev != 0 {
		noLoad = min(noLoad, l.noLoadPrev)
	}
	l.noLoad.Store(int64(noLoad))
	return noLoad
}

// decrease multiplies the limit by factor unless it was lowered less than
// Cooldown ago. It holds l.mu.
func (l *Limiter) decrease(now time.Time, factor float64) {
	if !l.lastDecrease.IsZero() && now.Sub(l.lastDecrease) < l.o.Cooldown {
		return // one burst lowers the limit once
	}
	l.lastDecrease = now
	l.set(max(l.precise*factor, float64(l.o.Min)))
}

// set stores the adaptive limit and the admitted cap. It holds l.mu, or
// runs in New.
func (l *Limiter) set(v float64) {
	l.precise = v
	l.limit.Store(int64(v))
}

// NoLoadLatency returns the latency requests take without load, as the
// limiter measures it: the lowest of the last NoLoadWindow; zero before the
// first completion.
func (l *Limiter) NoLoadLatency() time.Duration { return time.Duration(l.noLoad.Load()) }

// Limit returns the current limit.
func (l *Limiter) Limit() int { return int(l.limit.Load()) }

// InFlight returns the requests currently admitted.
func (l *Limiter) InFlight() int { return int(l.inFlight.Load()) }

// Shed returns how many requests have been rejected.
func (l *Limiter) Shed() int64 { return l.shed.Load() }

// RetryAfter is the Retry-After value, in whole seconds, to send with a
// rejection.
func (l *Limiter) RetryAfter() string { return l.retryAfter }

// overloaded is the body of a shed HTTP request, encoded once.
var overloaded = func() []byte {
	b, _ := json.Marshal(map[string]string{"error": "server overloaded; retry after the Retry-After delay"})
	return append(b, '\n')
}()

// Middleware sheds requests past the limit with 503 Service Unavailable and
// Retry-After before next runs, and feeds each admitted request's outcome
// back into the limit: a 504 or 503 answer (a store call that ran out of
// time, a dependency refusing work) counts as overload, a request whose
// client went away is ignored, and any other answer is judged by its
// latency. Serve health probes and admin endpoints outside it: shedding a
// liveness probe gets a busy instance restarted.
//
// The outcome needs the response's status, which metrics.RecordStatus
// provides: inside metrics.Instrument it is the writer Instrument already
// made; elsewhere it wraps w, which costs an allocation per request.
func (l *Limiter) Middleware(next http.Handler) http.Handler { return l.RoutedMiddleware(nil, next) }

// RoutedMiddleware is Middleware in front of a handler that routes with
// routes (nil for none): a shed request, which never reaches the mux, is
// matched against routes before it is answered, so r.Pattern names its
// route and metrics.Instrument counts the 503 under that route, not as
// unmatched. Admitted requests are routed once, by next.
func (l *Limiter) RoutedMiddleware(routes *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := l.Acquire()
		if !ok {
			if routes != nil && r.Pattern == "" {
				_, r.Pattern = routes.Handler(r)
			}
			h := w.Header()
			h.Set("Retry-After", l.retryAfter)
			h.Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write(overloaded)
			return
		}
		outcome := Ignore // kept if next panics
		defer func() { tok.Release(outcome) }()
		sw := metrics.RecordStatus(w)
		next.ServeHTTP(sw, r)
		outcome = httpOutcome(sw.Status(), r.Context().Err())
	})
}

// httpOutcome judges a completed HTTP request by what happened to it: its
// response status, and its context's error once the handler returned. The
// status comes first: a store call that timed out while the client also
// left still timed out.
func httpOutcome(status int, ctxErr error) Outcome {
	switch {
	case status == http.StatusGatewayTimeout || status == http.StatusServiceUnavailable:
		return Overload
	case ctxErr != nil:
		return Ignore
	default:
		return Success
	}
}

// Register adds the limiter's metrics to reg: admitted and shed requests,
// the current limit, the no-load latency, requests in flight and the peak
// in flight.
func (l *Limiter) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Subsystem: "limiter", Name: "admitted_total", Help: "Requests admitted by the concurrency limiter.",
		}, func() float64 { return float64(l.admitted.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Subsystem: "limiter", Name: "shed_total", Help: "Requests rejected because the concurrency limit was reached.",
		}, func() float64 { return float64(l.shed.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Subsystem: "limiter", Name: "limit", Help: "Current adaptive concurrency limit.",
		}, func() float64 { return float64(l.Limit()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Subsystem: "limiter", Name: "no_load_latency_seconds", Help: "Latency of requests without load, as the limiter measures it: the lowest of its window.",
		}, func() float64 { return l.NoLoadLatency().Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Subsystem: "limiter", Name: "in_flight", Help: "Requests admitted and not yet finished.",
		}, func() float64 { return float64(l.InFlight()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Subsystem: "limiter", Name: "peak_in_flight", Help: "Most requests in flight at once since start.",
		}, func() float64 { return float64(l.peak.Load()) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
