package breaker

import (
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// clock is advanced by the test.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// newTest returns a breaker on a manual clock whose draws are always draw,
// so a call is refused exactly when the odds exceed draw.
func newTest(draw float64) (*Breaker, *clock) {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	b := New("db", Options{Now: c.now, Float64: func() float64 { return draw }})
	return b, c
}

// call makes one call that succeeds or fails; it reports whether the call
// was let through.
func call(b *Breaker, ok bool) bool {
	if !b.Allow() {
		return false
	}
	if ok {
		b.Success()
	} else {
		b.Failure()
	}
	return true
}

func TestHealthyDependencyIsNeverRefused(t *testing.T) {
	b, c := newTest(0)
	for i := range 10_000 {
		if !call(b, true) {
			t.Fatalf("call %d refused while every call succeeds", i)
		}
		c.advance(time.Millisecond)
	}
	if r := b.RejectRatio(); r != 0 {
		t.Errorf("RejectRatio = %v, want 0", r)
	}
}

func TestOddsFollowTheFormula(t *testing.T) {
	b, _ := newTest(1) // a draw of 1 never refuses: the odds are only read
	for range 30 {
		call(b, true)
	}
	for range 70 {
		call(b, false)
	}
	// 100 requests, 30 accepts: (100 - 1.5*30) / 101.
	if got, want := b.RejectRatio(), 55.0/101; math.Abs(got-want) > 1e-9 {
		t.Errorf("RejectRatio = %v, want %v", got, want)
	}
}

func TestFewCallsAreNeverRefused(t *testing.T) {
	b, _ := newTest(0)
	for i := range 19 {
		if !call(b, false) {
			t.Fatalf("call %d refused below MinRequests", i)
		}
	}
	if r := b.RejectRatio(); r != 0 {
		t.Errorf("RejectRatio = %v below MinRequests, want 0", r)
	}
}

func TestFailingDependencyIsCutToProbes(t *testing.T) {
	b, c := newTest(0.5)
	for range 20 {
		call(b, false)
	}
	// Every call now fails; those let through are the probes, one per
	// ProbeInterval, and the draws under the odds.
	passed := 0
	for range 2000 {
		if call(b, false) {
			passed++
		}
		c.advance(time.Millisecond) // 1,000 calls a second
	}
	// A probe every 500ms over two seconds, and no more: the odds stay
	// above the draw of 0.5.
	if passed != 3 {
		t.Errorf("%d of 2000 calls let through, want the 3 probes", passed)
	}
	if got := b.Refusals(); got != int64(2000-passed) {
		t.Errorf("Refusals = %d, want %d", got, 2000-passed)
	}
}

func TestFailuresSlideOutOfTheWindow(t *testing.T) {
	b, c := newTest(0)
	for range 100 {
		call(b, false)
	}
	if r := b.RejectRatio(); r < 0.9 {
		t.Fatalf("RejectRatio = %v after 100 failures, want over 0.9", r)
	}
	c.advance(5 * time.Second) // one Window
	if r := b.RejectRatio(); r != 0 {
		t.Errorf("RejectRatio = %v a Window later, want 0", r)
	}
}

func TestBreakerClosesWhenTheDependencyHeals(t *testing.T) {
	b, c := newTest(0.5)
	for range 2000 {
		call(b, false)
		c.advance(time.Millisecond)
	}
	if r := b.RejectRatio(); r < 0.9 {
		t.Fatalf("RejectRatio = %v after 2s of failures, want over 0.9", r)
	}

	// Healed: calls keep coming at 1,000 a second and succeed when let
	// through. Within a Window and a probe interval nothing is refused.
	var closedAfter time.Duration
	for elapsed := time.Duration(0); elapsed < 10*time.Second; elapsed += time.Millisecond {
		call(b, true)
		c.advance(time.Millisecond)
		if b.RejectRatio() == 0 {
			closedAfter = elapsed
			break
		}
	}
	if closedAfter == 0 || closedAfter > 5500*time.Millisecond {
		t.Fatalf("closed %v after the dependency healed, want within a Window and a probe interval (5.5s)", closedAfter)
	}
	for i := range 1000 {
		if !call(b, true) {
			t.Fatalf("call %d refused after the breaker closed", i)
		}
		c.advance(time.Millisecond)
	}
}

func TestPartialFailureIsThrottledNotCut(t *testing.T) {
	b, c := newTest(0.5)
	// One call in ten fails: well under what K tolerates.
	for i := range 5000 {
		call(b, i%10 != 0)
		c.advance(time.Millisecond)
	}
	if n := b.Refusals(); n != 0 {
		t.Errorf("%d calls refused with 10 %% failing, want none", n)
	}
}

func TestMetrics(t *testing.T) {
	b, _ := newTest(0)
	reg := prometheus.NewRegistry()
	if err := b.Register(reg); err != nil {
		t.Fatal(err)
	}
	// A second breaker registers the same metrics for its own dependency.
	if err := New("upstream", Options{}).Register(reg); err != nil {
		t.Fatal(err)
	}
	for range 40 {
		call(b, false)
	}
	const want = `
# HELP breaker_open 1 while the dependency's breaker refuses some calls locally, 0 while it lets every call through.
# TYPE breaker_open gauge
breaker_open{dependency="db"} 1
breaker_open{dependency="upstream"} 0
# HELP breaker_rejected_total Calls the dependency's breaker refused without making them.
# TYPE breaker_rejected_total counter
breaker_rejected_total{dependency="db"} 20
breaker_rejected_total{dependency="upstream"} 0
`
	// 20 failures open it; the next 20 calls come within the probe
	// interval and are refused.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "breaker_open", "breaker_rejected_total"); err != nil {
		t.Error(err)
	}
}

func TestAllowAllocatesNothing(t *testing.T) {
	b := New("db", Options{})
	if allocs := testing.AllocsPerRun(1000, func() { call(b, true) }); allocs != 0 {
		t.Errorf("a call allocates %v times, want 0", allocs)
	}
}

func BenchmarkAllowSuccess(b *testing.B) {
	br := New("db", Options{})
	b.ReportAllocs()
	for b.Loop() {
		if br.Allow() {
			br.Success()
		}
	}
}

func BenchmarkAllowSuccessParallel(b *testing.B) {
	br := New("db", Options{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if br.Allow() {
				br.Success()
			}
		}
	})
}

func BenchmarkAllowRefusing(b *testing.B) {
	br := New("db", Options{})
	for range 100 {
		if br.Allow() {
			br.Failure()
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if br.Allow() {
			br.Failure()
		}
	}
}
