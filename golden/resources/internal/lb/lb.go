// Package lb spreads outbound requests over a fixed set of upstream
// endpoints and keeps unhealthy ones out of rotation.
//
// Four policies pick an endpoint: round-robin; smooth weighted round-robin
// (nginx's: weights are honored without bursts); least connections; and
// power of two choices (P2C) over a peak-EWMA latency estimate, which picks
// two endpoints at random and sends to the one whose latency times in-flight
// requests is lower. P2C reacts to a slowing endpoint within a request or two
// and never herds every client onto the same "best" endpoint.
//
// An endpoint leaves rotation in two ways. Active health checks GET its
// health path every interval and mark it down until a check passes again.
// Passive ejection watches real traffic: after MaxFailures consecutive
// failures the endpoint is ejected for a backoff that doubles with each
// ejection; when the backoff ends it is readmitted on probation, where one
// failure ejects it again and one success clears its record.
//
// Each endpoint also has a circuit breaker (package breaker) that refuses
// calls locally in proportion to its recent failures, and an idempotent
// call that fails is retried once on another endpoint, within a retry
// budget (retry.go).
package lb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/shop/internal/breaker"
)

// Policy names an endpoint selection policy.
type Policy string

// The policies a Balancer offers.
const (
	RoundRobin       Policy = "round-robin"
	Weighted         Policy = "weighted"
	LeastConnections Policy = "least-connections"
	P2C              Policy = "p2c"
)

// ParsePolicy parses a policy name.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(s); p {
	case RoundRobin, Weighted, LeastConnections, P2C:
		return p, nil
	}
	return "", fmt.Errorf("unknown balancing policy %q; use round-robin, weighted, least-connections or p2c", s)
}

// ErrNoEndpoint is returned when every endpoint is down, ejected or
// refused by its breaker.
var ErrNoEndpoint = errors.New("lb: no healthy upstream endpoint")

// Target is one upstream as configured.
type Target struct {
	// URL is the endpoint's base URL, e.g. http://10.0.0.7:8080.
	URL string
	// Weight is the endpoint's share under the weighted policy; zero means 1.
	Weight int
}

// ParseTargets parses a comma-separated list of base URLs, each optionally
// followed by =WEIGHT: "http://a:8080=3,http://b:8080".
func ParseTargets(s string) ([]Target, error) {
	var out []Target
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		t := Target{URL: part, Weight: 1}
		if i := strings.LastIndexByte(part, '='); i > 0 {
			w, err := strconv.Atoi(part[i+1:])
			if err != nil || w < 1 {
				return nil, fmt.Errorf("upstream %q: weight must be a positive integer", part)
			}
			t = Target{URL: part[:i], Weight: w}
		}
		out = append(out, t)
	}
	return out, nil
}

// Options configure a Balancer.
type Options struct {
	// Policy selects endpoints; zero means P2C.
	Policy Policy
	// HealthPath is requested by active checks, relative to each
	// endpoint's base URL; zero means /healthz. It must be a clean absolute
	// path: no "..", "." or empty segments.
	HealthPath string
	// HealthInterval is the time between active checks; zero means 5s.
	HealthInterval time.Duration
	// HealthTimeout bounds one check; zero means 1s.
	HealthTimeout time.Duration
	// HealthClient makes the checks; zero means a plain http.Client. The
	// per-check timeout comes from HealthTimeout either way.
	HealthClient *http.Client
	// MaxFailures is how many consecutive failed requests eject an endpoint;
	// zero means 5.
	MaxFailures int
	// EjectionBase is the first ejection's length; later ones double, up to
	// EjectionMax. Zeros mean 1s and 30s.
	EjectionBase, EjectionMax time.Duration
	// DecayTime is the peak-EWMA time constant: how fast an endpoint's
	// latency estimate forgets a slow response; zero means 10s.
	DecayTime time.Duration
	// Breaker tunes each endpoint's circuit breaker; zero values take the
	// breaker's defaults.
	Breaker breaker.Options
	// RetryRatio is the retry budget: retries may add at most this share
	// to the requests sent, plus RetryBurst. Zero means 0.1; a negative
	// value turns retries off.
	RetryRatio float64
	// RetryBurst is how many retries the budget holds when full, for a
	// burst of failures at low traffic; zero means 10.
	RetryBurst int
	// RetryBackoff bounds the wait before a retry, drawn at random between
	// half of it and all of it so retries do not arrive in step; zero
	// means 25ms.
	RetryBackoff time.Duration
	// Now is the clock; tests replace it. Zero means time.Now.
	Now func() time.Time
}

// Endpoint is one upstream and what the balancer knows about it.
type Endpoint struct {
	// URL is the endpoint's base URL.
	URL       *url.URL
	weight    int
	name      string
	healthURL string // URL joined with Options.HealthPath

	inFlight atomic.Int64
	healthy  atomic.Bool // the last active check passed
	breaker  *breaker.Breaker

	mu         sync.Mutex
	ewma       float64 // peak-EWMA latency, nanoseconds
	lastRTT    time.Time
	failures   int // consecutive
	ejections  int // consecutive ejections, for the backoff
	ejectUntil time.Time
	probation  bool
	current    int // smooth weighted round-robin state, under Balancer.mu

	picks, ejectionsTotal atomic.Int64
}

// String returns the endpoint's base URL.
func (e *Endpoint) String() string { return e.name }

// Balancer picks endpoints. It is safe for concurrent use.
type Balancer struct {
	o         Options
	endpoints []*Endpoint
	next      atomic.Uint64
	mu        sync.Mutex // smooth weighted round-robin
	budget    retryBudget
}

// New returns a Balancer over targets. Endpoints start healthy; call Run to
// check them actively.
func New(targets []Target, o Options) (*Balancer, error) {
	if len(targets) == 0 {
		return nil, errors.New("lb: no upstream endpoints; list at least one base URL")
	}
	if o.Policy == "" {
		o.Policy = P2C
	}
	if _, err := ParsePolicy(string(o.Policy)); err != nil {
		return nil, err
	}
	if o.HealthPath == "" {
		o.HealthPath = "/healthz"
	}
	if !strings.HasPrefix(o.HealthPath, "/") || path.Clean(o.HealthPath) != o.HealthPath {
		return nil, fmt.Errorf("lb: health path %q: want a clean absolute path such as /healthz", o.HealthPath)
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = 5 * time.Second
	}
	if o.HealthTimeout <= 0 {
		o.HealthTimeout = time.Second
	}
	if o.HealthClient == nil {
		o.HealthClient = &http.Client{}
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = 5
	}
	if o.EjectionBase <= 0 {
		o.EjectionBase = time.Second
	}
	if o.EjectionMax <= 0 {
		o.EjectionMax = 30 * time.Second
	}
	if o.DecayTime <= 0 {
		o.DecayTime = 10 * time.Second
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 25 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	b := &Balancer{o: o}
	b.budget.init(o)
	for _, t := range targets {
		u, err := url.Parse(t.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("lb: upstream %q: want an absolute http:// or https:// base URL", t.URL)
		}
		ep := &Endpoint{URL: u, weight: max(t.Weight, 1), name: u.String()}
		// #nosec G125 -- HealthPath is the operator's setting, checked above to
		// be a clean absolute path, so it cannot climb out of the base URL.
		ep.healthURL = u.JoinPath(o.HealthPath).String()
		ep.healthy.Store(true)
		ep.breaker = breaker.New("upstream "+ep.name, o.Breaker)
		b.endpoints = append(b.endpoints, ep)
	}
	return b, nil
}

// Endpoints returns the balancer's endpoints in configuration order.
func (b *Balancer) Endpoints() []*Endpoint { return b.endpoints }

// available reports whether ep may receive traffic at now.
func (ep *Endpoint) available(now time.Time) bool {
	if !ep.healthy.Load() {
		return false
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return !now.Before(ep.ejectUntil)
}

// Pick chooses an endpoint for one request and counts it in flight. Call
// Done with the outcome when the request completes.
func (b *Balancer) Pick() (*Endpoint, error) { return b.pick(nil) }

// pick is Pick among the available endpoints not in skip.
func (b *Balancer) pick(skip []*Endpoint) (*Endpoint, error) {
	now := b.o.Now()
	var buf [16]*Endpoint
	avail := buf[:0]
	for _, ep := range b.endpoints {
		if ep.available(now) && !slices.Contains(skip, ep) {
			avail = append(avail, ep)
		}
	}
	if len(avail) == 0 {
		return nil, ErrNoEndpoint
	}
	var ep *Endpoint
	switch b.o.Policy {
	case RoundRobin:
		ep = avail[(b.next.Add(1)-1)%uint64(len(avail))]
	case Weighted:
		ep = b.pickWeighted(avail)
	case LeastConnections:
		// Start the scan at a rotating index so ties spread out.
		start := int((b.next.Add(1) - 1) % uint64(len(avail))) // #nosec G115 -- the remainder is below len(avail)
		for i := range avail {
			c := avail[(start+i)%len(avail)]
			if ep == nil || c.inFlight.Load() < ep.inFlight.Load() {
				ep = c
			}
		}
	default:
		ep = b.pickP2C(avail, now)
	}
	ep.inFlight.Add(1)
	ep.picks.Add(1)
	return ep, nil
}

// pickWeighted is nginx's smooth weighted round-robin: every endpoint gains
// its weight, the richest is picked and pays the total.
func (b *Balancer) pickWeighted(avail []*Endpoint) *Endpoint {
	b.mu.Lock()
	defer b.mu.Unlock()
	total := 0
	var best *Endpoint
	for _, ep := range avail {
		ep.current += ep.weight
		total += ep.weight
		if best == nil || ep.current > best.current {
			best = ep
		}
	}
	best.current -= total
	return best
}

// pickP2C compares two distinct random endpoints by cost.
func (b *Balancer) pickP2C(avail []*Endpoint, now time.Time) *Endpoint {
	if len(avail) == 1 {
		return avail[0]
	}
	// Spreading load needs a fast random choice, not an unpredictable one.
	i := rand.IntN(len(avail))     // #nosec G404 -- load spreading, not security
	j := rand.IntN(len(avail) - 1) // #nosec G404 -- load spreading, not security
	if j >= i {
		j++
	}
	a, c := avail[i], avail[j]
	if b.cost(c, now) < b.cost(a, now) {
		return c
	}
	return a
}

// cost is the peak-EWMA latency, decayed for the time since it was last
// measured, times the requests in flight plus one. The decay lets an
// endpoint that was slow once win traffic back; an unmeasured endpoint
// costs nothing, so it is tried.
func (b *Balancer) cost(ep *Endpoint, now time.Time) float64 {
	ep.mu.Lock()
	ewma := ep.ewma
	if !ep.lastRTT.IsZero() {
		ewma *= math.Exp(-float64(now.Sub(ep.lastRTT)) / float64(b.o.DecayTime))
	}
	ep.mu.Unlock()
	return ewma * float64(ep.inFlight.Load()+1)
}

// Done records the outcome of a request sent to ep after Pick: its latency
// and whether it failed (a transport error or a 5xx answer).
func (b *Balancer) Done(ep *Endpoint, rtt time.Duration, failed bool) {
	ep.inFlight.Add(-1)
	now := b.o.Now()
	ep.mu.Lock()
	defer ep.mu.Unlock()
	// Peak EWMA: a slower sample replaces the estimate at once, a faster one
	// is averaged in with a weight that grows with the time since the last.
	sample := float64(rtt)
	if sample > ep.ewma || ep.lastRTT.IsZero() {
		ep.ewma = sample
	} else {
		w := math.Exp(-float64(now.Sub(ep.lastRTT)) / float64(b.o.DecayTime))
		ep.ewma = ep.ewma*w + sample*(1-w)
	}
	ep.lastRTT = now

	if !failed {
		ep.failures, ep.ejections, ep.probation = 0, 0, false
		return
	}
	ep.failures++
	if ep.failures >= b.o.MaxFailures || ep.probation {
		ep.ejections++
		backoff := min(b.o.EjectionBase<<min(ep.ejections-1, 30), b.o.EjectionMax)
		ep.ejectUntil = now.Add(backoff)
		ep.failures, ep.probation = 0, true
		ep.ejectionsTotal.Add(1)
	}
}

// Run checks every endpoint now and then every HealthInterval until ctx
// ends.
func (b *Balancer) Run(ctx context.Context) {
	t := time.NewTicker(b.o.HealthInterval)
	defer t.Stop()
	for {
		b.CheckNow(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CheckNow checks every endpoint's health path concurrently, each within
// HealthTimeout, and marks it healthy only on a 2xx answer: a refused
// connection, a timeout and a 5xx all mark it down.
func (b *Balancer) CheckNow(ctx context.Context) {
	var wg sync.WaitGroup
	for _, ep := range b.endpoints {
		wg.Go(func() { ep.healthy.Store(b.check(ctx, ep)) })
	}
	wg.Wait()
}

func (b *Balancer) check(ctx context.Context, ep *Endpoint) bool {
	ctx, cancel := context.WithTimeout(ctx, b.o.HealthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ep.healthURL, nil)
	if err != nil {
		return false
	}
	resp, err := b.o.HealthClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// Register adds per-endpoint metrics to reg: picks, ejections, health,
// the latency estimate and the breaker's state, and the retries made and
// refused by the budget. Endpoints are configured, so the label is bounded.
func (b *Balancer) Register(reg prometheus.Registerer) error {
	if err := reg.Register(&collector{
		b:         b,
		picks:     prometheus.NewDesc("lb_picks_total", "Requests sent to each upstream endpoint.", []string{"endpoint"}, nil),
		ejections: prometheus.NewDesc("lb_ejections_total", "Passive ejections of each upstream endpoint after consecutive failures.", []string{"endpoint"}, nil),
		up:        prometheus.NewDesc("lb_endpoint_available", "1 when the endpoint passes health checks and is not ejected.", []string{"endpoint"}, nil),
		latency:   prometheus.NewDesc("lb_endpoint_latency_seconds", "Peak-EWMA latency estimate of each endpoint.", []string{"endpoint"}, nil),
	}); err != nil {
		return err
	}
	for _, ep := range b.endpoints {
		if err := ep.breaker.Register(reg); err != nil {
			return err
		}
	}
	return b.budget.register(reg)
}

type collector struct {
	b                             *Balancer
	picks, ejections, up, latency *prometheus.Desc
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.picks
	ch <- c.ejections
	ch <- c.up
	ch <- c.latency
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	now := c.b.o.Now()
	for _, ep := range c.b.endpoints {
		up := 0.0
		if ep.available(now) {
			up = 1
		}
		ep.mu.Lock()
		ewma := ep.ewma
		ep.mu.Unlock()
		ch <- prometheus.MustNewConstMetric(c.picks, prometheus.CounterValue, float64(ep.picks.Load()), ep.name)
		ch <- prometheus.MustNewConstMetric(c.ejections, prometheus.CounterValue, float64(ep.ejectionsTotal.Load()), ep.name)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, ep.name)
		ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, ewma/1e9, ep.name)
	}
}
