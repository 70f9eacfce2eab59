package metrics

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// sloLatency is the latency objective deploy/prometheus/rules.yaml alerts
// on: P95 under 100 ms.
const sloLatency = 100 * time.Millisecond

// TestLatencyBucketAtObjective checks that the exported histogram has a
// bucket whose bound is exactly the objective: the burn-rate alerts divide
// that bucket by the count, so without it they would count the wrong
// requests as slow.
func TestLatencyBucketAtObjective(t *testing.T) {
	if !slices.IsSorted(LatencyBuckets) {
		t.Fatalf("LatencyBuckets %v are not sorted", LatencyBuckets)
	}
	m := New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(http.ResponseWriter, *http.Request) {})
	m.Instrument(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != Namespace+"_http_request_duration_seconds" {
			continue
		}
		for _, b := range f.GetMetric()[0].GetHistogram().GetBucket() {
			if b.GetUpperBound() == sloLatency.Seconds() {
				return
			}
		}
		t.Fatalf("no bucket at the latency objective %v", sloLatency)
	}
	t.Fatal("the request duration histogram was not exported")
}
