package metrics

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestGRPCCountsEachMethodAndCode(t *testing.T) {
	g := New().NewGRPC()
	const get, list = "/demo.v1.Items/Get", "/demo.v1.Items/List"
	errs := []error{
		nil,
		status.Error(codes.NotFound, "no such item"),
		errors.New("not a status: Unknown"),
		status.Error(codes.Code(99), "a code newer than the list"),
	}
	// Concurrent first calls of a method and code must share one series.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, err := range errs {
				g.Start(get).Done(err)
			}
			g.Start(list).Done(nil)
		})
	}
	wg.Wait()
	for _, c := range []struct {
		method, code string
		want         float64
	}{
		{get, "OK", 8}, {get, "NotFound", 8}, {get, "Unknown", 8}, {get, "Code(99)", 8}, {list, "OK", 8},
	} {
		if got := testutil.ToFloat64(g.handled.WithLabelValues(c.method, c.code)); got != c.want {
			t.Errorf("%s %s calls = %v, want %v", c.method, c.code, got, c.want)
		}
	}
	// Only the codes answered are exported.
	if n := testutil.CollectAndCount(g.handled); n != 5 {
		t.Errorf("%d handled series, want 5", n)
	}
	if got := testutil.ToFloat64(g.inFlight.WithLabelValues(get)); got != 0 {
		t.Errorf("%v calls of %s in flight after all ended, want 0", got, get)
	}
	if n := testutil.CollectAndCount(g.duration); n != 2 {
		t.Errorf("%d latency series for two methods, want 2", n)
	}
}

// BenchmarkGRPCCall is what the gRPC metrics add to a call: its series
// kept per method, against resolving the three label sets on every call.
func BenchmarkGRPCCall(b *testing.B) {
	const method = "/demo.v1.Items/Get"
	b.Run("kept", func(b *testing.B) {
		g := New().NewGRPC()
		b.ReportAllocs()
		for b.Loop() {
			g.Start(method).Done(nil)
		}
	})
	b.Run("looked-up", func(b *testing.B) {
		g := New().NewGRPC()
		b.ReportAllocs()
		for b.Loop() {
			begin := time.Now()
			inFlight := g.inFlight.WithLabelValues(method)
			inFlight.Inc()
			inFlight.Dec()
			g.handled.WithLabelValues(method, codes.OK.String()).Inc()
			g.duration.WithLabelValues(method).Observe(time.Since(begin).Seconds())
		}
	})
}
