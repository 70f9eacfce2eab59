package lb

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// upstream is a loopback server whose health and latency a test controls.
type upstream struct {
	*httptest.Server
	healthy atomic.Bool
	delay   time.Duration
	served  atomic.Int64
}

func newUpstream(t *testing.T, delay time.Duration) *upstream {
	t.Helper()
	u := &upstream{delay: delay}
	u.healthy.Store(true)
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			if !u.healthy.Load() {
				http.Error(w, "down", http.StatusServiceUnavailable)
			}
			return
		}
		u.served.Add(1)
		time.Sleep(u.delay)
		io.WriteString(w, r.URL.Path)
	}))
	t.Cleanup(u.Close)
	return u
}

func targets(us ...*upstream) []Target {
	var ts []Target
	for _, u := range us {
		ts = append(ts, Target{URL: u.URL})
	}
	return ts
}

func mustNew(t *testing.T, ts []Target, o Options) *Balancer {
	t.Helper()
	b, err := New(ts, o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pickCounts picks n times, completing each pick at once, and counts the
// endpoints chosen by URL.
func pickCounts(t *testing.T, b *Balancer, n int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for range n {
		ep, err := b.Pick()
		if err != nil {
			t.Fatal(err)
		}
		counts[ep.String()]++
		b.Done(ep, time.Millisecond, false)
	}
	return counts
}

func staticTargets(weights ...int) []Target {
	var ts []Target
	for i, w := range weights {
		ts = append(ts, Target{URL: "http://10.0.0." + string(rune('1'+i)) + ":8080", Weight: w})
	}
	return ts
}

func TestRoundRobinIsEven(t *testing.T) {
	b := mustNew(t, staticTargets(1, 1, 1), Options{Policy: RoundRobin})
	for ep, n := range pickCounts(t, b, 300) {
		if n != 100 {
			t.Errorf("%s picked %d times of 300, want 100", ep, n)
		}
	}
}

func TestWeightedHonorsWeightsSmoothly(t *testing.T) {
	b := mustNew(t, staticTargets(3, 1), Options{Policy: Weighted})
	var seq []string
	for range 8 {
		ep, _ := b.Pick()
		seq = append(seq, ep.String()[len("http://10.0.0."):][:1])
		b.Done(ep, time.Millisecond, false)
	}
	// Smooth weighted round-robin interleaves: never three "1"s then a "2"
	// as a naive weighted rotation would.
	if got, want := strings.Join(seq, ""), "11211121"; got != want {
		t.Fatalf("pick sequence %s, want %s", got, want)
	}
}

func TestLeastConnectionsAvoidsBusyEndpoints(t *testing.T) {
	b := mustNew(t, staticTargets(1, 1, 1), Options{Policy: LeastConnections})
	busy, _ := b.Pick() // held in flight
	held, _ := b.Pick() // held in flight
	for range 10 {
		ep, _ := b.Pick()
		if ep == busy || ep == held {
			t.Fatalf("picked %s with a request in flight while another endpoint was idle", ep)
		}
		b.Done(ep, time.Millisecond, false)
	}
}

// TestP2CPrefersTheFasterEndpoint sends real requests to two fast upstreams
// and one that sleeps; once its latency is measured, the slow one only wins
// a comparison it is not part of, so it gets almost nothing.
func TestP2CPrefersTheFasterEndpoint(t *testing.T) {
	fast1, fast2 := newUpstream(t, 0), newUpstream(t, 0)
	slow := newUpstream(t, 40*time.Millisecond)
	b := mustNew(t, targets(fast1, slow, fast2), Options{Policy: P2C})
	client := &http.Client{Transport: b.Transport(http.DefaultTransport)}
	const requests = 40
	for range requests {
		resp, err := client.Get("http://upstream/v1/ping")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "/v1/ping" {
			t.Fatalf("upstream saw path %q, want /v1/ping", body)
		}
	}
	if n := slow.served.Load(); n > 3 {
		t.Fatalf("slow upstream served %d of %d requests; P2C should send it at most the first few", n, requests)
	}
	if fast1.served.Load()+fast2.served.Load()+slow.served.Load() != requests {
		t.Fatal("requests went missing")
	}
}

func TestActiveHealthCheckEjectsAndReadmits(t *testing.T) {
	a, bUp := newUpstream(t, 0), newUpstream(t, 0)
	b := mustNew(t, targets(a, bUp), Options{Policy: RoundRobin})
	a.healthy.Store(false)
	b.CheckNow(context.Background())
	if counts := pickCounts(t, b, 10); counts[a.URL] != 0 {
		t.Fatalf("endpoint failing its health check got %d picks", counts[a.URL])
	}
	a.healthy.Store(true)
	b.CheckNow(context.Background())
	if counts := pickCounts(t, b, 10); counts[a.URL] != 5 {
		t.Fatalf("recovered endpoint got %d of 10 picks, want 5", counts[a.URL])
	}
}

// TestHealthCheckFailsOnRefusedAndHungEndpoints: a check that cannot
// connect, or gets no answer in time, must fail (the seed's always passed).
func TestHealthCheckFailsOnRefusedAndHungEndpoints(t *testing.T) {
	refused := httptest.NewServer(http.NotFoundHandler())
	refused.Close()
	hang := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(hang)
	b := mustNew(t, []Target{{URL: refused.URL}, {URL: hung.URL}}, Options{HealthTimeout: 50 * time.Millisecond})
	b.CheckNow(context.Background())
	if _, err := b.Pick(); err != ErrNoEndpoint {
		t.Fatalf("Pick() err = %v with every endpoint down, want ErrNoEndpoint", err)
	}
}

func TestPassiveEjectionBackoffAndReadmission(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	b := mustNew(t, staticTargets(1, 1), Options{Policy: RoundRobin, MaxFailures: 3, EjectionBase: time.Second, Now: clock})
	bad := b.Endpoints()[0]
	fail := func() {
		b.Pick() // keep in-flight accounting honest
		b.Done(bad, time.Millisecond, true)
	}
	isAvailable := func() bool { return bad.available(clock()) }

	fail()
	fail()
	if !isAvailable() {
		t.Fatal("ejected before MaxFailures consecutive failures")
	}
	fail()
	if isAvailable() {
		t.Fatal("not ejected after MaxFailures consecutive failures")
	}
	if counts := pickCounts(t, b, 4); counts[bad.String()] != 0 {
		t.Fatal("an ejected endpoint was picked")
	}
	advance(time.Second)
	if !isAvailable() {
		t.Fatal("not readmitted after its ejection time")
	}
	fail() // on probation: one failure ejects again, for twice as long
	advance(time.Second)
	if isAvailable() {
		t.Fatal("second ejection did not double the backoff")
	}
	advance(time.Second)
	if !isAvailable() {
		t.Fatal("not readmitted after the doubled backoff")
	}
	b.Done(bad, time.Millisecond, false) // a success clears the record
	fail()
	fail()
	if !isAvailable() {
		t.Fatal("after a success, fewer than MaxFailures failures ejected the endpoint")
	}
}

func TestParseTargets(t *testing.T) {
	ts, err := ParseTargets(" http://a:8080=3, http://b:8080 ,")
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{{URL: "http://a:8080", Weight: 3}, {URL: "http://b:8080", Weight: 1}}
	if len(ts) != 2 || ts[0] != want[0] || ts[1] != want[1] {
		t.Fatalf("ParseTargets = %+v, want %+v", ts, want)
	}
	if _, err := ParseTargets("http://a=0"); err == nil {
		t.Fatal("weight 0 accepted")
	}
	if _, err := New([]Target{{URL: "a:8080"}}, Options{}); err == nil {
		t.Fatal("a URL without scheme accepted")
	}
	for _, p := range []string{"healthz", "/../admin", "/a/../../b", "/a//b", "/a/"} {
		if _, err := New([]Target{{URL: "http://a:8080/api"}}, Options{HealthPath: p}); err == nil {
			t.Errorf("health path %q accepted", p)
		}
	}
	b, err := New([]Target{{URL: "http://a:8080/api"}}, Options{HealthPath: "/ready"})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Endpoints()[0].healthURL; got != "http://a:8080/api/ready" {
		t.Errorf("health URL %q, want it under the base URL", got)
	}
	if _, err := ParsePolicy("fastest"); err == nil {
		t.Fatal("unknown policy accepted")
	}
}

func TestMetrics(t *testing.T) {
	b := mustNew(t, staticTargets(1), Options{})
	reg := prometheus.NewPedanticRegistry()
	if err := b.Register(reg); err != nil {
		t.Fatal(err)
	}
	pickCounts(t, b, 2)
	want := `
# HELP lb_picks_total Requests sent to each upstream endpoint.
# TYPE lb_picks_total counter
lb_picks_total{endpoint="http://10.0.0.1:8080"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "lb_picks_total"); err != nil {
		t.Fatal(err)
	}
}
