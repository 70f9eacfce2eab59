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

func TestSlowCompletionsShrinkTheLimitOncePerCooldown(t *testing.T) {
	clock := &manualClock{}
	l := mustNew(t, Options{Max: 20, Initial: 20, Min: 5, LatencyThreshold: 50 * time.Millisecond, Backoff: 0.5, Now: clock.Now})
	var toks []Token
	for range 10 {
		tok, _ := l.Acquire()
		toks = append(toks, tok)
	}
	clock.Advance(time.Second) // all ten were slow, with half the limit in use
	for _, tok := range toks {
		tok.Release(Success)
	}
	if l.Limit() != 10 {
		t.Fatalf("limit = %d after one burst of slow requests; want one halving to 10", l.Limit())
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
