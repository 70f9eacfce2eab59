package limiter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// manualClock is advanced by the test, so latencies are exact.
type manualClock struct{ ns atomic.Int64 }

func (c *manualClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *manualClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func mustNew(t *testing.T, o Options) *Limiter {
	t.Helper()
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestRejectsPastTheLimitAndAdmitsAfterRelease(t *testing.T) {
	l := mustNew(t, Options{Max: 2, Min: 2, Initial: 2})
	a, ok1 := l.Acquire()
	b, ok2 := l.Acquire()
	if !ok1 || !ok2 {
		t.Fatal("requests under the limit were rejected")
	}
	if _, ok := l.Acquire(); ok {
		t.Fatal("a third request was admitted with a limit of 2")
	}
	a.Release(Success)
	if c, ok := l.Acquire(); !ok {
		t.Fatal("a request was rejected after a slot was freed")
	} else {
		c.Release(Success)
	}
	b.Release(Ignore)
	if l.InFlight() != 0 || l.Shed() != 1 {
		t.Fatalf("InFlight() = %d, Shed() = %d; want 0 and 1", l.InFlight(), l.Shed())
	}
	Token{}.Release(Success) // the zero Token is inert
}

func TestNeverAdmitsMoreThanTheLimit(t *testing.T) {
	const limit = 4
	l := mustNew(t, Options{Max: limit, Min: limit})
	var inside, peak atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 500 {
				tok, ok := l.Acquire()
				if !ok {
					runtime.Gosched()
					continue
				}
				n := inside.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				runtime.Gosched()
				inside.Add(-1)
				tok.Release(Ignore)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > limit {
		t.Fatalf("%d requests ran at once with a limit of %d", p, limit)
	}
}

func TestLimitGrowsWhenFastAndUsedUpToTheCeiling(t *testing.T) {
	clock := &manualClock{}
	l := mustNew(t, Options{Max: 20, Initial: 4, Now: clock.Now})
	for range 1000 {
		// Fill the limit, then complete everything quickly.
		var toks []Token
		for {
			tok, ok := l.Acquire()
			if !ok {
				break
			}
			toks = append(toks, tok)
		}
		clock.Advance(time.Millisecond)
		for _, tok := range toks {
			tok.Release(Success)
		}
		if l.Limit() > 20 {
			t.Fatalf("limit %d passed the ceiling of 20", l.Limit())
		}
	}
	if l.Limit() != 20 {
		t.Fatalf("limit = %d after sustained fast, saturated traffic; want the ceiling 20", l.Limit())
	}
}

func TestSlowRequestsOnAnIdleServerKeepTheLimit(t *testing.T) {
	clock := &manualClock{}
	l := mustNew(t, Options{Max: 100, Initial: 40, Cooldown: time.Nanosecond, Now: clock.Now})
	for range 100 {
		tok, _ := l.Acquire() // one at a time, each far over the threshold
		clock.Advance(time.Second)
		tok.Release(Success)
	}
	if l.Limit() != 40 {
		t.Fatalf("limit = %d after slow requests at low utilization; want it unchanged at 40", l.Limit())
	}
}

func TestLimitDoesNotGrowWhenIdle(t *testing.T) {
	clock := &manualClock{}
	l := mustNew(t, Options{Max: 100, Initial: 10, Now: clock.Now})
	for range 1000 {
		tok, _ := l.Acquire() // one at a time: a tenth of the limit
		clock.Advance(time.Millisecond)
		tok.Release(Success)
	}
	if l.Limit() != 10 {
		t.Fatalf("limit = %d after underused traffic; want it unchanged at 10", l.Limit())
	}
}

func TestOverloadShrinksTheLimitOncePerCooldown(t *testing.T) {
	clock := &manualClock{}
	l := mustNew(t, Options{Max: 20, Initial: 20, Min: 5, Backoff: 0.5, Cooldown: time.Second, Now: clock.Now})
	var toks []Token
	for range 10 {
		tok, _ := l.Acquire()
		toks = append(toks, tok)
	}
	clock.Advance(time.Millisecond)
	for _, tok := range toks {
		tok.Release(Overload) // one burst: ten timeouts at once
	}
	if l.Limit() != 10 {
		t.Fatalf("limit = %d after one burst of overload; want one halving to 10", l.Limit())
	}
	for range 10 {
		tok, _ := l.Acquire()
		clock.Advance(time.Second)
		tok.Release(Overload)
	}
	if l.Limit() != 5 {
		t.Fatalf("limit = %d after sustained overload; want the floor 5", l.Limit())
	}
}

// simulation drives a Limiter with closed-loop clients on a manual clock,
// in steps of a millisecond: an admitted request completes after the
// latency the service model gives for the requests in flight, and its
// client sends the next one at once; a shed client retries after 5ms.
type simulation struct {
	l       *Limiter
	clock   *manualClock
	busy    []simRequest // admitted, in flight
	waiting []time.Time  // clients not in flight, by when they send next
}

type simRequest struct {
	tok Token
	end time.Time
}

func newSimulation(t *testing.T, o Options) *simulation {
	t.Helper()
	clock := &manualClock{}
	clock.Advance(time.Hour) // any start; not the zero time
	o.Now = clock.Now
	return &simulation{l: mustNew(t, o), clock: clock}
}

// run drives clients clients for d and returns how many requests were
// admitted and shed.
func (s *simulation) run(clients int, latency func(inFlight int) time.Duration, d time.Duration) (admitted, shed int) {
	for len(s.busy)+len(s.waiting) < clients {
		s.waiting = append(s.waiting, s.clock.Now())
	}
	s.waiting = s.waiting[:max(0, min(len(s.waiting), clients-len(s.busy)))]
	for end := s.clock.Now().Add(d); s.clock.Now().Before(end); s.clock.Advance(time.Millisecond) {
		now := s.clock.Now()
		busy := s.busy[:0]
		for _, r := range s.busy {
			if r.end.After(now) {
				busy = append(busy, r)
				continue
			}
			r.tok.Release(Success)
			if len(busy)+len(s.waiting) < clients {
				s.waiting = append(s.waiting, now)
			}
		}
		s.busy = busy
		waiting := s.waiting[:0]
		for _, next := range s.waiting {
			if next.After(now) {
				waiting = append(waiting, next)
				continue
			}
			tok, ok := s.l.Acquire()
			if !ok {
				shed++
				waiting = append(waiting, now.Add(5*time.Millisecond))
				continue
			}
			admitted++
			s.busy = append(s.busy, simRequest{tok: tok, end: now.Add(latency(s.l.InFlight()))})
		}
		s.waiting = waiting
	}
	return admitted, shed
}

// constant is a dependency that takes d whatever the load.
func constant(d time.Duration) func(int) time.Duration {
	return func(int) time.Duration { return d }
}

// queueing is a service that does capacity requests at once in base each;
// past that, requests share it and take longer in proportion.
func queueing(base time.Duration, capacity int) func(int) time.Duration {
	return func(inFlight int) time.Duration {
		return time.Duration(float64(base) * max(1, float64(inFlight)/float64(capacity)))
	}
}

// TestUniformlySlowDependencyKeepsTheLimit: every request takes 150ms,
// above the 100ms LatencyThreshold, whatever the load. That is a slow
// dependency, not queueing: the limit must not fall, and once it has grown
// to the load, nothing is shed, at a hundred clients or at four.
func TestUniformlySlowDependencyKeepsTheLimit(t *testing.T) {
	s := newSimulation(t, Options{Max: 200, Initial: 50, LatencyThreshold: 100 * time.Millisecond})
	s.run(100, constant(150*time.Millisecond), 5*time.Second)
	if got := s.l.Limit(); got < 100 {
		t.Fatalf("limit = %d under a uniformly slow dependency with 100 clients; want at least 100", got)
	}
	if _, shed := s.run(100, constant(150*time.Millisecond), 5*time.Second); shed != 0 {
		t.Errorf("%d requests shed with the limit at %d for 100 clients", shed, s.l.Limit())
	}
	if _, shed := s.run(4, constant(150*time.Millisecond), 5*time.Second); shed != 0 {
		t.Errorf("%d requests shed at 4 clients", shed)
	}
	if got := s.l.NoLoadLatency(); got != 150*time.Millisecond {
		t.Errorf("no-load latency = %s, want 150ms", got)
	}
}

// TestQueueingLowersTheLimit: a service that does ten requests at once in
// 20ms each, under a hundred clients. Latency grows with the requests in
// flight, so the limit must come down to where latency is within
// Tolerance of the no-load 20ms (about 20 in flight), and stay above the
// floor.
func TestQueueingLowersTheLimit(t *testing.T) {
	s := newSimulation(t, Options{Max: 200, Initial: 200, Min: 5, LatencyThreshold: time.Millisecond})
	service := queueing(20*time.Millisecond, 10)
	s.run(5, service, 2*time.Second) // light load: the no-load latency
	if got := s.l.NoLoadLatency(); got != 20*time.Millisecond {
		t.Fatalf("no-load latency = %s after light load, want 20ms", got)
	}
	s.run(100, service, 5*time.Second)
	if got := s.l.Limit(); got > 40 || got < 5 {
		t.Fatalf("limit = %d after 5s of queueing with 100 clients; want it between the floor 5 and 40 (at most 80ms latency)", got)
	}
	admitted, shed := s.run(100, service, 5*time.Second)
	if shed == 0 || admitted == 0 {
		t.Errorf("admitted %d, shed %d under sustained overload; want both", admitted, shed)
	}
	if got := s.l.Limit(); got > 40 {
		t.Errorf("limit = %d after 10s of queueing; it crept back up", got)
	}
}

// TestLimitRecoversAfterADependencySlowsDown: a dependency that answered in
// 5ms turns slow (150ms for every request) under a hundred clients. Until
// the no-load latency catches up it reads as queueing and the limit falls,
// to the floor at worst; within one NoLoadWindow it must be back up to the
// load, and shedding must stop.
func TestLimitRecoversAfterADependencySlowsDown(t *testing.T) {
	const window = 10 * time.Second
	s := newSimulation(t, Options{Max: 200, Initial: 200, Min: 20, NoLoadWindow: window})
	s.run(100, constant(5*time.Millisecond), 2*time.Second)
	s.run(100, constant(150*time.Millisecond), 3*time.Second)
	if got := s.l.Limit(); got >= 100 {
		t.Logf("limit %d: the slowdown did not read as queueing at all", got)
	}
	if got := s.l.Limit(); got < 20 {
		t.Fatalf("limit = %d, below the floor 20", got)
	}
	s.run(100, constant(150*time.Millisecond), window)
	if got := s.l.Limit(); got < 100 {
		t.Fatalf("limit = %d one NoLoadWindow after the slowdown; want it back to the 100 clients", got)
	}
	if _, shed := s.run(100, constant(150*time.Millisecond), time.Second); shed != 0 {
		t.Errorf("%d requests shed after recovery", shed)
	}
	if _, shed := s.run(4, constant(150*time.Millisecond), 2*time.Second); shed != 0 {
		t.Errorf("%d requests shed at 4 clients", shed)
	}
}

// TestLimitRecoversWithinSecondsOfTheFloor: from the floor, once the load
// is within capacity, the limit climbs back by about sqrt(limit) per round
// trip and shedding stops within a second of simulated time.
func TestLimitRecoversWithinSecondsOfTheFloor(t *testing.T) {
	s := newSimulation(t, Options{Max: 1000, Initial: 2, Min: 2})
	s.run(150, queueing(20*time.Millisecond, 200), time.Second)
	if got := s.l.Limit(); got < 150 {
		t.Fatalf("limit = %d one second after leaving the floor with 150 clients within capacity; want at least 150", got)
	}
	if _, shed := s.run(150, queueing(20*time.Millisecond, 200), time.Second); shed != 0 {
		t.Errorf("%d requests shed after recovery", shed)
	}
}

// TestMiddlewareShedsWith503AndRecovers: under overload the middleware
// answers 503 with Retry-After before the handler runs; once requests
// finish it admits again.
func TestMiddlewareShedsWith503AndRecovers(t *testing.T) {
	l := mustNew(t, Options{Max: 2, Min: 2, RetryAfter: 1500 * time.Millisecond})
	release := make(chan struct{})
	var ran atomic.Int32
	h := l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran.Add(1)
		if r.URL.Path == "/slow" {
			<-release
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			resp, err := http.Get(srv.URL + "/slow")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	for l.InFlight() < 2 {
		runtime.Gosched()
	}
	resp, err := http.Get(srv.URL + "/fast")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status under overload = %d, want 503", resp.StatusCode)
	}
	if got := resp.Header.Get("Retry-After"); got != "2" {
		t.Fatalf("Retry-After = %q, want 2 (1.5s rounded up)", got)
	}
	if n := ran.Load(); n != 2 {
		t.Fatalf("handler ran %d times; a shed request must not reach it", n)
	}

	close(release)
	wg.Wait()
	resp, err = http.Get(srv.URL + "/fast")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status after the overload passed = %d, want 204", resp.StatusCode)
	}
}

// TestMiddlewareJudgesTheOutcome: the middleware feeds back what happened
// to each request, read from its status and its context.
func TestMiddlewareJudgesTheOutcome(t *testing.T) {
	tests := []struct {
		name      string
		status    int // 0 writes nothing: an implicit 200
		cancel    bool
		wantLimit int
	}{
		{"store timed out", http.StatusGatewayTimeout, false, 5},
		{"store unavailable", http.StatusServiceUnavailable, false, 5},
		{"timed out as the client left", http.StatusGatewayTimeout, true, 5},
		{"client went away", 499, true, 10},
		{"answered", 0, false, 10},
		{"client error", http.StatusNotFound, false, 10},
		{"internal error", http.StatusInternalServerError, false, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One request on a limit of ten: only an overload lowers it.
			clock := &manualClock{}
			clock.Advance(time.Hour) // past any cooldown
			l := mustNew(t, Options{Max: 10, Initial: 10, Backoff: 0.5, Now: clock.Now})
			h := l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.status != 0 {
					w.WriteHeader(tt.status)
				}
			}))
			ctx, cancel := context.WithCancel(context.Background())
			if tt.cancel {
				cancel()
			}
			defer cancel()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
			if l.Limit() != tt.wantLimit || l.InFlight() != 0 {
				t.Fatalf("limit = %d, in flight %d after the request; want %d and 0", l.Limit(), l.InFlight(), tt.wantLimit)
			}
		})
	}
}

// outerRecorder records the status as metrics.Instrument's writer does.
type outerRecorder struct {
	http.ResponseWriter
	status int
}

func (r *outerRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *outerRecorder) Status() int { return r.status }

// TestMiddlewareReadsTheStatusOfAnOuterRecorder: behind a middleware whose
// writer already records the status, the limiter reads it from there and
// passes the writer on unwrapped.
func TestMiddlewareReadsTheStatusOfAnOuterRecorder(t *testing.T) {
	clock := &manualClock{}
	clock.Advance(time.Hour)
	l := mustNew(t, Options{Max: 10, Initial: 10, Backoff: 0.5, Now: clock.Now})
	outer := &outerRecorder{ResponseWriter: httptest.NewRecorder(), status: http.StatusOK}
	h := l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if w != http.ResponseWriter(outer) {
			t.Errorf("the handler got a %T, want the outer recorder itself", w)
		}
		w.WriteHeader(http.StatusGatewayTimeout)
	}))
	h.ServeHTTP(outer, httptest.NewRequest(http.MethodGet, "/", nil))
	if l.Limit() != 5 {
		t.Fatalf("limit = %d after a 504 recorded by the outer writer; want 5", l.Limit())
	}
}

func TestOptions(t *testing.T) {
	for _, o := range []Options{{}, {Max: 2, Min: 3}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted invalid options", o)
		}
	}
	l := mustNew(t, Options{Max: 100})
	if l.Limit() != 25 {
		t.Errorf("default initial limit = %d, want Max/4 = 25", l.Limit())
	}
}

func TestMetrics(t *testing.T) {
	l := mustNew(t, Options{Max: 1, Min: 1})
	reg := prometheus.NewPedanticRegistry()
	if err := l.Register(reg); err != nil {
		t.Fatal(err)
	}
	tok, _ := l.Acquire()
	l.Acquire()
	tok.Release(Success)
	want := `
# HELP limiter_shed_total Requests rejected because the concurrency limit was reached.
# TYPE limiter_shed_total counter
limiter_shed_total 1
# HELP limiter_peak_in_flight Most requests in flight at once since start.
# TYPE limiter_peak_in_flight gauge
limiter_peak_in_flight 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "limiter_shed_total", "limiter_peak_in_flight"); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	l, _ := New(Options{Max: 1 << 20, Initial: 1 << 20})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok, ok := l.Acquire()
			if !ok {
				b.Error("rejected under the limit")
				return
			}
			tok.Release(Success)
		}
	})
}

// TestRoutedMiddlewareLabelsShedRequests: a shed request never reaches the
// mux, yet carries its route pattern for the metrics.
func TestRoutedMiddlewareLabelsShedRequests(t *testing.T) {
	l := mustNew(t, Options{Max: 1, Min: 1, Initial: 1})
	tok, _ := l.Acquire() // the only slot
	defer tok.Release(Ignore)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/items/{id}", func(http.ResponseWriter, *http.Request) { t.Error("a shed request reached the handler") })
	var pattern string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.RoutedMiddleware(mux, mux).ServeHTTP(w, r)
		pattern = r.Pattern
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/items/42", nil))
	if rec.Code != http.StatusServiceUnavailable || pattern != "GET /v1/items/{id}" {
		t.Fatalf("shed request: status %d, pattern %q; want 503 under GET /v1/items/{id}", rec.Code, pattern)
	}
}
