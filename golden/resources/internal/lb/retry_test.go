package lb

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"example.com/shop/internal/breaker"
)

// server is a loopback upstream that answers every request with status
// and counts what it serves.
type server struct {
	*httptest.Server
	status atomic.Int64
	served atomic.Int64
}

func newServer(t *testing.T, status int) *server {
	t.Helper()
	s := &server{}
	s.status.Store(int64(status))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.served.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(int(s.status.Load()))
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path)
	}))
	t.Cleanup(s.Close)
	return s
}

// client returns a client whose transport balances over b, and the
// registry b's metrics are on.
func client(t *testing.T, b *Balancer) (*http.Client, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := b.Register(reg); err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: b.Transport(http.DefaultTransport)}, reg
}

// do sends method to path and returns the status, or 0 on an error.
func do(t *testing.T, c *http.Client, method, body string) (int, error) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://upstream/v1/items/x", r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// noEjection keeps passive ejection out of the way, so the tests see the
// retries and the breakers alone.
func noEjection() Options {
	return Options{Policy: RoundRobin, MaxFailures: 1 << 20}
}

func TestRetriesLandOnTheHealthyEndpoint(t *testing.T) {
	bad, good := newServer(t, http.StatusInternalServerError), newServer(t, http.StatusOK)
	o := noEjection()
	o.RetryBurst = 100 // every call here may be retried; the budget is tested below
	b := mustNew(t, []Target{{URL: bad.URL}, {URL: good.URL}}, o)
	c, reg := client(t, b)
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodPut} {
		for i := range 4 {
			body := ""
			if method == http.MethodPut {
				body = `{"name":"x"}` // read again for the retry
			}
			code, err := do(t, c, method, body)
			if err != nil || code != http.StatusOK {
				t.Fatalf("%s %d = %d, %v; want 200 from the healthy endpoint", method, i, code, err)
			}
		}
	}
	if bad.served.Load() == 0 {
		t.Fatal("the failing endpoint was never tried: nothing was retried")
	}
	if got, want := metricValue(t, reg, "lb_retries_total"), float64(bad.served.Load()); got != want {
		t.Errorf("lb_retries_total = %v, want %v, one per failed call", got, want)
	}
}

func TestNonIdempotentCallsAreNotRetried(t *testing.T) {
	bad, good := newServer(t, http.StatusInternalServerError), newServer(t, http.StatusOK)
	b := mustNew(t, []Target{{URL: bad.URL}, {URL: good.URL}}, noEjection())
	c, _ := client(t, b)
	var failures int
	for range 10 {
		code, err := do(t, c, http.MethodPost, `{"name":"x"}`)
		if err != nil {
			t.Fatal(err)
		}
		if code == http.StatusInternalServerError {
			failures++
		}
	}
	if failures != 5 || bad.served.Load() != 5 {
		t.Errorf("POSTs: %d failed and the failing endpoint served %d, want 5 and 5 (round-robin, no retry)", failures, bad.served.Load())
	}
}

func TestRetryBudgetBoundsRetries(t *testing.T) {
	a, z := newServer(t, http.StatusBadGateway), newServer(t, http.StatusBadGateway)
	o := noEjection()
	o.Breaker = breaker.Options{MinRequests: 1 << 30} // breakers never refuse here
	b := mustNew(t, []Target{{URL: a.URL}, {URL: z.URL}}, o)
	c, reg := client(t, b)
	const requests = 200
	for range requests {
		if _, err := do(t, c, http.MethodGet, ""); err != nil {
			t.Fatal(err)
		}
	}
	retries := int(metricValue(t, reg, "lb_retries_total"))
	// A full bucket of 10, and a tenth of a token per request.
	if limit := 10 + requests/10; retries > limit || retries < limit-1 {
		t.Errorf("%d retries for %d requests to failing endpoints, want the budget's %d", retries, requests, limit)
	}
	if sent := int(a.served.Load() + z.served.Load()); sent != requests+retries {
		t.Errorf("upstreams served %d calls, want %d requests and %d retries", sent, requests, retries)
	}
	if exhausted := metricValue(t, reg, "lb_retries_budget_exhausted_total"); int(exhausted) != requests-retries {
		t.Errorf("lb_retries_budget_exhausted_total = %v, want %d", exhausted, requests-retries)
	}
}

// TestBreakerStopsCallsToAFailingEndpoint sends steady traffic to two
// endpoints, one failing every call. Its breaker opens: calls go to the
// healthy one, the failing one sees only probes (each retried on the
// healthy one), and every call succeeds.
// When it heals, the probes close the breaker.
func TestBreakerStopsCallsToAFailingEndpoint(t *testing.T) {
	bad, good := newServer(t, http.StatusServiceUnavailable), newServer(t, http.StatusOK)
	o := noEjection()
	o.Breaker = breaker.Options{Window: time.Second}
	// A probe the open breaker lets through fails and is retried on the
	// healthy endpoint; how many probes come depends on timing, so the
	// budget must not run out here (TestRetryBudgetBoundsRetries tests it).
	o.RetryBurst = 1 << 20
	b := mustNew(t, []Target{{URL: bad.URL}, {URL: good.URL}}, o)
	c, reg := client(t, b)
	badEp := b.Endpoints()[0]
	for i := 0; badEp.breaker.RejectRatio() == 0; i++ {
		if i == 200 {
			t.Fatal("the failing endpoint's breaker still lets every call through after 200 calls")
		}
		if _, err := do(t, c, http.MethodGet, ""); err != nil {
			t.Fatal(err)
		}
	}

	const calls = 300
	before := bad.served.Load()
	for i := range calls {
		if code, err := do(t, c, http.MethodGet, ""); err != nil || code != http.StatusOK {
			t.Fatalf("call %d with the breaker open = %d, %v; want 200 from the healthy endpoint", i, code, err)
		}
	}
	reached := bad.served.Load() - before
	t.Logf("breaker open: %d calls, %d reached the failing endpoint", calls, reached)
	if reached > calls/20 {
		t.Errorf("%d of %d calls reached the failing endpoint with its breaker open, want at most %d", reached, calls, calls/20)
	}
	const want = `
# HELP breaker_open 1 while the dependency's breaker refuses some calls locally, 0 while it lets every call through.
# TYPE breaker_open gauge
breaker_open{dependency="upstream BAD"} 1
breaker_open{dependency="upstream GOOD"} 0
`
	exp := strings.NewReplacer("BAD", bad.URL, "GOOD", good.URL).Replace(want)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(exp), "breaker_open"); err != nil {
		t.Error(err)
	}

	bad.status.Store(http.StatusOK)
	for deadline := time.Now().Add(10 * time.Second); badEp.breaker.RejectRatio() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the breaker of the healed endpoint still refuses calls 10s later")
		}
		if _, err := do(t, c, http.MethodGet, ""); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEveryBreakerOpenFailsFast(t *testing.T) {
	a, z := newServer(t, http.StatusInternalServerError), newServer(t, http.StatusInternalServerError)
	o := noEjection()
	o.RetryRatio = -1
	b := mustNew(t, []Target{{URL: a.URL}, {URL: z.URL}}, o)
	c, _ := client(t, b)
	var err error
	for i := 0; err == nil; i++ {
		if i == 1000 {
			t.Fatal("calls still reach the endpoints after 1,000 failures")
		}
		_, err = do(t, c, http.MethodGet, "")
	}
	if !errors.Is(err, ErrNoEndpoint) || !errors.Is(err, breaker.ErrOpen) {
		t.Errorf("call with every breaker open = %v, want ErrNoEndpoint and breaker.ErrOpen", err)
	}
}

// metricValue returns the value of the unlabelled counter or gauge name
// in reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			m := mf.GetMetric()[0]
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}
