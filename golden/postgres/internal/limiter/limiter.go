// Package limiter sheds load before it turns into queueing.
//
// A server past its capacity that keeps accepting work only makes every
// request slow: requests wait in queues until they time out, and the client
// retries add more. A Limiter caps the requests in flight and rejects the
// excess at once, so the admitted ones stay fast and rejected clients can
// retry elsewhere or later.
//
// The cap adapts by AIMD, the rule TCP uses for its congestion window. While
// at least half the limit is in use, each request that completes faster than
// LatencyThreshold raises the limit by 1/limit (about +1 per limit's worth of
// requests) and a slower one multiplies it by Backoff, at most once per
// Cooldown; a request that ends in Overload does so at any utilization. The limit stays within [Min, Max]; Max is the configured
// ceiling.
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
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/orders/internal/counter"
	"example.com/orders/internal/metrics"
)

// Options configure a Limiter. Max is required.
type Options struct {
	// Max is the ceiling: the limit never rises above it.
	Max int
	// Min is the floor the limit never drops below; zero means 1.
	Min int
	// Initial is the starting limit; zero means Max/4, at least Min.
	Initial int
	// LatencyThreshold is the latency a completed request must beat to
	// count as healthy; a slower one lowers the limit. Zero means 100ms.
	LatencyThreshold time.Duration
	// Backoff multiplies the limit on a slow or overloaded completion; zero
	// means 0.9.
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
	// Success: the request completed; its latency is judged against
	// LatencyThreshold.
	Success Outcome = iota
	// Overload: the request failed in a way that signals overload (a
	// deadline exceeded, a dependency refusing work); the limit drops.
	Overload
	// Ignore: the completion says nothing about load (a client error, a
	// canceled request); it only frees the slot.
	Ignore
)

// Limiter is an adaptive concurrency limiter. It is safe for concurrent use
// and lock-free.
type Limiter struct {
	o            Options
	inFlight     atomic.Int64
	limit        atomic.Int64  // the admitted cap, floor(precise)
	precise      atomic.Uint64 // float64 bits of the adaptive limit
	lastDecrease atomic.Int64  // unix nanoseconds
	retryAfter   string

	admitted, shed *counter.Counter
	peak           counter.Max
}

// New returns a Limiter; Options are checked and defaulted.
func New(o Options) (*Limiter, error) {
	if o.Max < 1 {
		return nil, fmt.Errorf("limiter: Max must be at least 1, got %d", o.Max)
	}
	if o.Min <= 0 {
		o.Min = 1
	}
	if o.Min > o.Max {
		return nil, fmt.Errorf("limiter: Min %d is above Max %d; lower Min or raise Max", o.Min, o.Max)
	}
	if o.Initial <= 0 {
		o.Initial = o.Max / 4
	}
	o.Initial = min(max(o.Initial, o.Min), o.Max)
	if o.LatencyThreshold <= 0 {
		o.LatencyThreshold = 100 * time.Millisecond
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
	l.store(float64(o.Initial))
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
	if o == Overload {
		l.decrease(l.o.Now())
		return
	}
	// Latency says something about the limit only while the limit is being
	// used: a slow request on a mostly idle server is slow for its own
	// reasons, and a fast one proves nothing about a higher limit. Without
	// this, a quiet hour of occasional slow requests would ratchet the limit
	// down and the next burst would be shed.
	if used*2 < l.limit.Load() {
		return
	}
	if now := l.o.Now(); now.Sub(t.start) > l.o.LatencyThreshold {
		l.decrease(now)
	} else {
		l.increase()
	}
}

func (l *Limiter) increase() {
	for {
		old := l.precise.Load()
		cur := math.Float64frombits(old)
		next := min(cur+1/cur, float64(l.o.Max))
		if next == cur || l.precise.CompareAndSwap(old, math.Float64bits(next)) {
			l.limit.Store(int64(next))
			return
		}
	}
}

func (l *Limiter) decrease(now time.Time) {
	last := l.lastDecrease.Load()
	if now.UnixNano()-last < int64(l.o.Cooldown) || !l.lastDecrease.CompareAndSwap(last, now.UnixNano()) {
		return // another decrease just happened
	}
	for {
		old := l.precise.Load()
		next := max(math.Float64frombits(old)*l.o.Backoff, float64(l.o.Min))
		if l.precise.CompareAndSwap(old, math.Float64bits(next)) {
			l.limit.Store(int64(next))
			return
		}
	}
}

func (l *Limiter) store(v float64) {
	l.precise.Store(math.Float64bits(v))
	l.limit.Store(int64(v))
}

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
func (l *Limiter) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := l.Acquire()
		if !ok {
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
// the current limit, requests in flight and the peak in flight.
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
