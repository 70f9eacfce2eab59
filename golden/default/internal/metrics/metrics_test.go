package metrics

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestInstrumentLabelsByRoutePattern(t *testing.T) {
	m := New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})
	h := m.Instrument(mux)
	for i := range 50 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, fmt.Sprintf("/v1/things/%d", i), nil))
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("GET /v1/things/{id}", "GET", "4xx")); got != 50 {
		t.Fatalf("requests for the route = %v, want 50", got)
	}
	if n := testutil.CollectAndCount(m.requests); n != 1 {
		t.Fatalf("%d request series for one route, want 1", n)
	}
}

func TestUnmatchedPathsAndOddMethodsShareSeries(t *testing.T) {
	m := New()
	h := m.Instrument(http.NewServeMux())
	methods := []string{http.MethodGet, http.MethodPost, "BREW", "PROPFIND", "X-RANDOM"}
	for i := range 2000 {
		req := httptest.NewRequest(methods[i%len(methods)], fmt.Sprintf("/random/%d/%x", i, i*7919), nil)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	// unmatched x {GET, POST, other} x {4xx}
	if n := testutil.CollectAndCount(m.requests); n != 3 {
		t.Fatalf("%d request series after 2000 random paths, want 3", n)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues(UnmatchedRoute, "other", "4xx")); got != 1200 {
		t.Fatalf("odd-method requests = %v, want 1200", got)
	}
}

// TestPooledRecorderStartsAt200: Instrument reuses its recorders, so one
// that recorded a 404 must not lend it to the next request, whose handler
// writes no status (an implicit 200). A recorder left with a panicking
// handler is not reused at all.
func TestPooledRecorderStartsAt200(t *testing.T) {
	m := New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /missing", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		panic(http.ErrAbortHandler)
	})
	h := m.Instrument(mux)
	serve := func(path string) {
		defer func() { _ = recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	for range 100 {
		serve("/missing")
		serve("/ok")
		serve("/panic")
	}
	for route, class := range map[string]string{"GET /missing": "4xx", "GET /ok": "2xx", "GET /panic": "5xx"} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(route, http.MethodGet, class)); got != 100 {
			t.Errorf("%s %s requests = %v, want 100", route, class, got)
		}
	}
	if n := testutil.CollectAndCount(m.requests); n != 3 {
		t.Errorf("%d request series, want 3: a reused recorder lent a status to another request", n)
	}
}

func TestStatusClass(t *testing.T) {
	for code, want := range map[int]string{100: "1xx", 200: "2xx", 204: "2xx", 301: "3xx", 404: "4xx", 499: "4xx", 503: "5xx", 999: "other"} {
		if got := statusClass(code); got != want {
			t.Errorf("statusClass(%d) = %q, want %q", code, got, want)
		}
	}
}

// TestInstrumentSharesTheStatus: middleware inside Instrument (the
// concurrency limiter) reads the status from Instrument's writer instead of
// wrapping it again.
func TestInstrumentSharesTheStatus(t *testing.T) {
	m := New()
	var before, after int
	h := m.Instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, ok := w.(interface{ Status() int })
		if !ok {
			t.Fatalf("Instrument passes on a %T, which does not report its status", w)
		}
		before = sw.Status()
		w.WriteHeader(http.StatusGatewayTimeout)
		w.WriteHeader(http.StatusOK) // superfluous: the first status stands
		after = sw.Status()
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if before != http.StatusOK || after != http.StatusGatewayTimeout {
		t.Fatalf("Status() = %d before writing and %d after 504; want 200 and 504", before, after)
	}
}

// TestInstrumentCountsEveryRequestUnderConcurrency: concurrent requests that
// add series while others read them are all counted, once each, under the
// right labels.
func TestInstrumentCountsEveryRequestUnderConcurrency(t *testing.T) {
	m := New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "missing" {
			w.WriteHeader(http.StatusNotFound)
		}
	})
	h := m.Instrument(mux)
	const goroutines, perGoroutine = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				id := "found"
				if (g+i)%2 == 0 {
					id = "missing"
				}
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/things/"+id, nil))
			}
		})
	}
	wg.Wait()
	const route, half = "GET /v1/things/{id}", goroutines * perGoroutine / 2
	for class, want := range map[string]float64{"2xx": half, "4xx": half} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(route, http.MethodGet, class)); got != want {
			t.Errorf("%s requests = %v, want %v", class, got, want)
		}
	}
	if n := testutil.CollectAndCount(m.duration); n != 1 {
		t.Errorf("%d latency series for one route and method, want 1", n)
	}
}

// BenchmarkInstrument is what the request metrics add to a routed request:
// compare instrumented with mux.
func BenchmarkInstrument(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {})
	for _, bc := range []struct {
		name    string
		handler http.Handler
	}{
		{"mux", mux},
		{"instrumented", New().Instrument(mux)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/v1/things/42", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				bc.handler.ServeHTTP(w, req)
			}
		})
	}
}
