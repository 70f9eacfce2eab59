// Package breaker stops calling a dependency that is failing.
//
// A Breaker is the adaptive client-side throttling of Google's SRE book
// ("Handling Overload"), as go-zero and Kratos use it. Over a sliding
// window it counts the calls the service wanted to make (requests,
// rejected ones included) and the calls the dependency served (accepts),
// and refuses a new call locally with probability
//
//	max(0, (requests - K*accepts) / (requests + 1))
//
// While the dependency serves every call, requests never pass K*accepts
// and nothing is refused. When it fails, accepts stop growing and the
// share refused climbs towards 1: the dependency sees a trickle instead of
// the full load, and the callers get an error at once instead of waiting
// for a timeout. There is no open/closed switch to tune: the refusal
// follows the failure rate, and a dependency that fails 10 % of calls is
// not cut off.
//
// Two additions from go-zero make recovery prompt. One call is let through
// at least every ProbeInterval whatever the odds, so a healed dependency is
// noticed even when almost everything is refused. And once a call has
// succeeded since the last failure, the refusal odds shrink with the share
// of the window that has passed without a failure, so the breaker closes
// within one Window of the dependency healing instead of several.
//
// Only the dependency's own failures count against it: the caller reports
// a call as Success (the dependency answered, even "not found" or a
// constraint violation), as Failure (no connection, a timeout, a server
// error), or not at all (the caller gave up: nothing is learnt).
package breaker

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrOpen is the error of a call the breaker refused without making it.
var ErrOpen = errors.New("circuit breaker open: the dependency is failing, call refused")

// RetryAfter is the wait, in whole seconds, suggested to a client whose
// request a breaker refused: a probe gets through within a second, and the
// refusal odds fall within one Window of the dependency healing.
const RetryAfter = "1"

// Options tune a Breaker. Zero values take the defaults, which suit a
// dependency called from tens to thousands of times a second.
type Options struct {
	// K is how many calls the service may make per call the dependency
	// serves before any is refused: 1.5 tolerates a third of calls failing
	// before throttling begins. Zero means 1.5 (go-zero's and Kratos's
	// choice; the SRE book suggests 2).
	K float64
	// Window is how far back calls are counted; zero means 5s.
	Window time.Duration
	// Buckets is how many slices the window slides by; zero means 25, so
	// the window moves in steps of Window/25.
	Buckets int
	// MinRequests is how many calls the window must hold before any is
	// refused, so a few failures at low traffic do not cut a dependency
	// off; zero means 20.
	MinRequests int
	// ProbeInterval is the longest time no call is let through while the
	// breaker refuses calls: the probe that finds out whether the
	// dependency has healed. Zero means 500ms.
	ProbeInterval time.Duration
	// Now is the clock, and Float64 the source of the refusal draws; tests
	// replace them. Nil means time.Now and math/rand/v2's Float64.
	Now     func() time.Time
	Float64 func() float64
}

// bucket holds the calls of one slice of the window.
type bucket struct {
	slot     int64 // the slice's index since the epoch; stale when old
	requests int64
	accepts  int64
	failures int64
}

// Breaker guards one dependency. It is safe for concurrent use, and
// Allow, Success and Failure allocate nothing.
type Breaker struct {
	name  string
	o     Options
	clock func() int64 // nanoseconds on a monotonic clock
	width int64        // nanoseconds per bucket

	mu        sync.Mutex
	buckets   []bucket
	lastPass  int64 // when a call was last let through, on clock
	requests  int64 // sums over the live buckets
	accepts   int64
	refusals  atomic.Int64
	lastRatio atomic.Uint64 // float64 bits of the last refusal odds, for metrics
}

// New returns a Breaker for the dependency name, which labels its metrics.
func New(name string, o Options) *Breaker {
	if o.K <= 0 {
		o.K = 1.5
	}
	if o.Window <= 0 {
		o.Window = 5 * time.Second
	}
	if o.Buckets <= 0 {
		o.Buckets = 25
	}
	if o.MinRequests <= 0 {
		o.MinRequests = 20
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = 500 * time.Millisecond
	}
	if o.Float64 == nil {
		o.Float64 = rand.Float64 // #nosec G404 -- load shedding odds, not security
	}
	// The monotonic clock alone costs half of time.Now, on the path of
	// every call.
	start := time.Now()
	clock := func() int64 { return int64(time.Since(start)) }
	if o.Now != nil {
		clock = func() int64 { return o.Now().UnixNano() }
	}
	return &Breaker{
		name:    name,
		o:       o,
		clock:   clock,
		width:   max(int64(o.Window)/int64(o.Buckets), 1),
		buckets: make([]bucket, o.Buckets),
	}
}

// Name returns the dependency's name.
func (b *Breaker) Name() string { return b.name }

// Allow reports whether to make a call. A refused call is counted, as the
// throttling requires; after an allowed one, report its outcome with
// Success or Failure, or with neither when the caller gave up.
func (b *Breaker) Allow() bool {
	now := b.clock()
	b.mu.Lock()
	cur := b.current(now)
	ratio := b.ratio()
	b.lastRatio.Store(math.Float64bits(ratio))
	if ratio > 0 && now-b.lastPass < int64(b.o.ProbeInterval) && b.o.Float64() < ratio {
		cur.requests++
		b.requests++
		b.mu.Unlock()
		b.refusals.Add(1)
		return false
	}
	b.lastPass = now
	b.mu.Unlock()
	return true
}

// Success records an allowed call the dependency served.
func (b *Breaker) Success() { b.record(true) }

// Failure records an allowed call the dependency failed.
func (b *Breaker) Failure() { b.record(false) }

func (b *Breaker) record(ok bool) {
	now := b.clock()
	b.mu.Lock()
	cur := b.current(now)
	cur.requests++
	b.requests++
	if ok {
		cur.accepts++
		b.accepts++
	} else {
		cur.failures++
	}
	b.mu.Unlock()
}

// RejectRatio returns the odds that a call made now is refused.
func (b *Breaker) RejectRatio() float64 {
	now := b.clock()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.current(now)
	r := b.ratio()
	b.lastRatio.Store(math.Float64bits(r))
	return r
}

// Refusals returns how many calls the breaker has refused.
func (b *Breaker) Refusals() int64 { return b.refusals.Load() }

// current returns the bucket of now, emptying the buckets that slid out of
// the window. b.mu must be held.
func (b *Breaker) current(now int64) *bucket {
	slot := now / b.width
	n := int64(len(b.buckets))
	bk := &b.buckets[slot%n]
	if bk.slot != slot {
		// Every bucket older than the window is dropped from the sums;
		// a live one keeps its counts.
		for i := range b.buckets {
			o := &b.buckets[i]
			if o.slot <= slot-n && (o.requests != 0 || o.accepts != 0 || o.failures != 0) {
				b.requests -= o.requests
				b.accepts -= o.accepts
				*o = bucket{slot: o.slot}
			}
		}
		*bk = bucket{slot: slot}
	}
	return bk
}

// ratio is the SRE book's refusal odds, discounted by the share of the
// window that passed without a failure since a call last succeeded. b.mu
// must be held, after current.
func (b *Breaker) ratio() float64 {
	if b.requests < int64(b.o.MinRequests) {
		return 0
	}
	r := (float64(b.requests) - b.o.K*float64(b.accepts)) / float64(b.requests+1)
	if r <= 0 {
		return 0
	}
	// Walk back from the newest slice to the last one with a failure.
	newest := b.buckets[0].slot
	for i := range b.buckets {
		newest = max(newest, b.buckets[i].slot)
	}
	n := int64(len(b.buckets))
	healthy, succeeded := int64(0), false
	for s := newest; s > newest-n; s-- {
		bk := &b.buckets[s%n]
		if bk.slot == s && bk.failures > 0 {
			break
		}
		if bk.slot == s && bk.accepts > 0 {
			succeeded = true
		}
		healthy++
	}
	if succeeded {
		r *= float64(n-healthy) / float64(n)
	}
	return r
}

// Register adds the breaker's metrics to reg, labelled with its
// dependency: whether it is refusing calls, the odds it refuses one, and
// the calls it has refused.
func (b *Breaker) Register(reg prometheus.Registerer) error {
	labels := prometheus.Labels{"dependency": b.name}
	ratio := func() float64 { return math.Float64frombits(b.lastRatio.Load()) }
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Subsystem: "breaker", Name: "open", ConstLabels: labels,
			Help: "1 while the dependency's breaker refuses some calls locally, 0 while it lets every call through.",
		}, func() float64 {
			if b.RejectRatio() > 0 {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Subsystem: "breaker", Name: "reject_ratio", ConstLabels: labels,
			Help: "Odds that the dependency's breaker refuses a call, as of the last call or scrape.",
		}, ratio),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Subsystem: "breaker", Name: "rejected_total", ConstLabels: labels,
			Help: "Calls the dependency's breaker refused without making them.",
		}, func() float64 { return float64(b.refusals.Load()) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
