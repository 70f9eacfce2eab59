package lb

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/shop/internal/breaker"
)

// Transport returns a RoundTripper that sends each request to an endpoint
// the balancer picks, through next. Requests name only a path: their
// scheme and host are replaced by the endpoint's, and the endpoint's base
// path is prefixed.
//
// An endpoint whose breaker refuses the call is passed over for another;
// with every endpoint down, ejected or refused, the call fails at once
// with ErrNoEndpoint. An idempotent request (GET, HEAD, PUT, DELETE, with
// a body that can be read again) that fails with a transport error or a
// 5xx is sent once more, to another endpoint, after a jittered backoff, if
// the retry budget allows: retries add at most RetryRatio to the load, so
// a struggling upstream is not sent twice its traffic.
func (b *Balancer) Transport(next http.RoundTripper) http.RoundTripper {
	return roundTripper{b: b, next: next}
}

type roundTripper struct {
	b    *Balancer
	next http.RoundTripper
}

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.b.budget.deposit()
	first, err := rt.b.pickAllowed(nil)
	if err != nil {
		return nil, err
	}
	resp, err := rt.send(req, first)
	if !failed(resp, err) || !replayable(req) || req.Context().Err() != nil {
		return resp, err
	}
	second, perr := rt.b.pickAllowed([]*Endpoint{first})
	if perr != nil {
		return resp, err // nowhere else to go: the first answer stands
	}
	if !rt.b.budget.withdraw() {
		rt.b.release(second)
		return resp, err
	}
	if resp != nil {
		// Read a little of the failed answer so its connection can be
		// reused, then drop it for the retry's.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		_ = resp.Body.Close()
	}
	if werr := rt.b.backoff(req.Context()); werr != nil {
		rt.b.release(second)
		return nil, werr
	}
	return rt.send(req, second)
}

// send sends req to ep, which pick counted in flight, and records the
// outcome with the balancer and ep's breaker.
func (rt roundTripper) send(req *http.Request, ep *Endpoint) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Scheme = ep.URL.Scheme
	out.URL.Host = ep.URL.Host
	out.URL.Path = strings.TrimSuffix(ep.URL.Path, "/") + "/" + strings.TrimPrefix(req.URL.Path, "/")
	out.URL.RawPath = ""
	out.Host = ""
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			rt.b.release(ep)
			return nil, fmt.Errorf("lb: read the request body again: %w", err)
		}
		out.Body = body
	}
	start := rt.b.o.Now()
	resp, err := rt.next.RoundTrip(out)
	bad := failed(resp, err)
	rt.b.Done(ep, rt.b.o.Now().Sub(start), bad)
	switch {
	case err != nil && req.Context().Err() != nil:
		// The caller gave up: nothing is learnt about the endpoint.
	case bad:
		ep.breaker.Failure()
	default:
		ep.breaker.Success()
	}
	return resp, err
}

// failed reports whether a call failed on the upstream's side: no answer,
// or a 5xx. A 4xx is the request's fault and the upstream's success.
func failed(resp *http.Response, err error) bool {
	return err != nil || resp.StatusCode >= 500
}

// replayable reports whether req may be sent twice: its method is
// idempotent and its body, if any, can be read again.
func replayable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
	default:
		return false
	}
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// pickAllowed picks an endpoint not in skip whose breaker lets the call
// through, passing over those whose breakers refuse it.
func (b *Balancer) pickAllowed(skip []*Endpoint) (*Endpoint, error) {
	var buf [16]*Endpoint
	skip = append(buf[:0], skip...)
	for {
		ep, err := b.pick(skip)
		if err != nil {
			if len(skip) > 0 && b.anyRefused(skip) {
				return nil, fmt.Errorf("%w: %w", ErrNoEndpoint, breaker.ErrOpen)
			}
			return nil, err
		}
		if ep.breaker.Allow() {
			return ep, nil
		}
		b.release(ep)
		skip = append(skip, ep)
	}
}

// anyRefused reports whether some endpoint in eps has a breaker refusing
// calls.
func (b *Balancer) anyRefused(eps []*Endpoint) bool {
	for _, ep := range eps {
		if ep.breaker.RejectRatio() > 0 {
			return true
		}
	}
	return false
}

// release undoes a pick whose request was never sent.
func (b *Balancer) release(ep *Endpoint) {
	ep.inFlight.Add(-1)
	ep.picks.Add(-1)
}

// backoff waits between RetryBackoff/2 and RetryBackoff, or until ctx
// ends.
func (b *Balancer) backoff(ctx context.Context) error {
	d := b.o.RetryBackoff / 2
	d += rand.N(d + 1) // #nosec G404 -- jitter, not security
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryBudget is a token bucket: each request adds ratio of a token, up to
// burst, and each retry takes a whole one. Over time retries stay within
// ratio of the requests; a quiet service still has burst retries in hand.
type retryBudget struct {
	mu             sync.Mutex
	tokens         float64
	ratio, burst   float64
	retries, spent atomic.Int64
}

func (r *retryBudget) init(o Options) {
	r.ratio = o.RetryRatio
	if r.ratio == 0 {
		r.ratio = 0.1
	}
	r.burst = float64(o.RetryBurst)
	if r.burst <= 0 {
		r.burst = 10
	}
	if r.ratio < 0 {
		r.ratio, r.burst = 0, 0
	}
	r.tokens = r.burst
}

func (r *retryBudget) deposit() {
	r.mu.Lock()
	r.tokens = min(r.tokens+r.ratio, r.burst)
	r.mu.Unlock()
}

// withdraw takes a token for a retry; it reports false, and counts the
// retry as refused, when the budget is spent.
func (r *retryBudget) withdraw() bool {
	r.mu.Lock()
	ok := r.tokens >= 1
	if ok {
		r.tokens--
	}
	r.mu.Unlock()
	if ok {
		r.retries.Add(1)
	} else {
		r.spent.Add(1)
	}
	return ok
}

func (r *retryBudget) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "lb_retries_total", Help: "Failed idempotent upstream calls sent again to another endpoint.",
		}, func() float64 { return float64(r.retries.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "lb_retries_budget_exhausted_total", Help: "Failed idempotent upstream calls not retried because the retry budget was spent.",
		}, func() float64 { return float64(r.spent.Load()) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
