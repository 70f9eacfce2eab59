package loadtest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeItems is what the test servers answer, whichever transport they
// speak: it counts the creates and reads it saw, and can stall or fail
// reads.
type fakeItems struct {
	creates, gets atomic.Int64
	// failGets, when set, fails every read.
	failGets bool
	// stall, when set, is called before answering each read.
	stall func()
}

// create records a create and returns the new item's ID.
func (f *fakeItems) create() string { return fmt.Sprintf("%032x", f.creates.Add(1)) }

// get records a read, stalls if told to, and reports whether it succeeds.
func (f *fakeItems) get() bool {
	f.gets.Add(1)
	if f.stall != nil {
		f.stall()
	}
	return !f.failGets
}

// serve starts f on loopback and returns a target for it over
// DefaultTransport; the tests in this file hold for every transport.
func serve(t *testing.T, f *fakeItems) Target {
	t.Helper()
	return newTarget(t, DefaultTransport, startHTTP(t, f).addr())
}

func newTarget(t *testing.T, tr Transport, addr string) Target {
	t.Helper()
	tgt, err := NewTarget(tr, addr, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tgt.Close() })
	return tgt
}

// paced skips, under -short, a test that counts what a real-time schedule
// sent: on a machine too busy to keep the schedule it would measure the
// machine, not the harness. The full suite (make test) runs it.
func paced(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("paced in real time; runs without -short")
	}
}

func openConfig() Config {
	s := DefaultScenario()
	s.Items = 5
	return Config{
		Mode: Open, Rate: 2000, Workers: 16,
		Warmup: 200 * time.Millisecond, Duration: time.Second, Drain: 5 * time.Second,
		Timeout: 5 * time.Second, MaxRequests: 1_000_000, Scenario: s,
	}
}

// shortConfig is openConfig cut to a quarter of a second, for the tests that
// count what a run sorts rather than what a paced schedule sent: 2000/s for
// 250 ms is 500 requests, the first 100 of them warm-up.
func shortConfig() Config {
	cfg := openConfig()
	cfg.Warmup, cfg.Duration = 50*time.Millisecond, 200*time.Millisecond
	return cfg
}

// TestOpenLoopChargesStallsToQueuedRequests proves there is no coordinated
// omission: one GET stalls for 300 ms with a single worker, and every
// request due during the stall is charged the time it waited, not only the
// stalled one. Requests due in the stall's first half waited at least
// 150 ms whatever the machine's speed, since none could start before the
// stall ended.
func TestOpenLoopChargesStallsToQueuedRequests(t *testing.T) {
	paced(t)
	const stall = 300 * time.Millisecond
	var once sync.Once
	items := &fakeItems{}
	items.stall = func() {
		if items.gets.Load() > 20 {
			once.Do(func() { time.Sleep(stall) })
		}
	}
	cfg := openConfig()
	cfg.Rate, cfg.Workers, cfg.Warmup = 100, 1, 0
	res, err := Run(context.Background(), serve(t, items), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// At 100/s, 15 requests are due in the stall's first 150 ms.
	var atLeast150ms int64
	for _, b := range res.Latency.Distribution() {
		if b.From >= (150 * time.Millisecond).Microseconds() {
			atLeast150ms += b.Count
		}
	}
	if atLeast150ms < 15 {
		t.Errorf("%d requests were charged at least 150 ms; want at least 15 (the stalled one and those queued behind it)", atLeast150ms)
	}
}

func TestRunStopsAtTheRequestCap(t *testing.T) {
	t.Parallel()
	for _, mode := range []Mode{Open, Closed} {
		t.Run(string(mode), func(t *testing.T) {
			items := &fakeItems{}
			cfg := openConfig()
			cfg.Mode, cfg.Warmup, cfg.Duration, cfg.MaxRequests = mode, 0, time.Hour, 300
			res, err := Run(context.Background(), serve(t, items), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !res.CountCapped || res.Requests != 300 {
				t.Errorf("capped %t after %d requests; want true after 300", res.CountCapped, res.Requests)
			}
			if sent := items.creates.Load() + items.gets.Load() - int64(cfg.Scenario.Items); sent != 300 {
				t.Errorf("server saw %d requests after seeding; want 300", sent)
			}
		})
	}
}

func TestRunCountsUnfinishedRequestsAsCutOff(t *testing.T) {
	paced(t)
	release := make(chan struct{})
	items := &fakeItems{stall: func() { <-release }}
	tgt := serve(t, items)
	// Released when the test returns, before the server's cleanup waits for
	// the handlers still in flight.
	defer close(release)
	cfg := openConfig()
	cfg.Rate, cfg.Warmup, cfg.Duration, cfg.Drain = 100, 0, 200*time.Millisecond, 100*time.Millisecond
	res, err := Run(context.Background(), tgt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var cutOff int64
	for _, e := range res.Errors {
		if e.Kind == KindCutOff {
			cutOff = e.Count
		}
	}
	// Every GET hangs until the run gives up, so at least the 18 GETs in 20
	// requests are cut off; the two creates succeed unless a busy machine
	// holds them past the drain too.
	if res.Requests != 20 || cutOff < 18 {
		t.Errorf("measured %d requests, %d cut off (%+v); want 20, at least 18 of them cut off", res.Requests, cutOff, res.Errors)
	}
}

func TestRunReportsAnUnreachableService(t *testing.T) {
	t.Parallel()
	// A port that was just free and is closed again refuses connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), newTarget(t, DefaultTransport, addr), openConfig())
	if err == nil || !strings.Contains(err.Error(), "is the service up?") {
		t.Errorf("err = %v; want one asking whether the service is up", err)
	}
}

func TestConfigCheckNamesEveryProblem(t *testing.T) {
	err := Config{Mode: "fast"}.Check()
	if err == nil {
		t.Fatal("empty config passed its check")
	}
	for _, want := range []string{`mode "fast"`, "workers", "duration", "timeout", "max requests", "scenario"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

// BenchmarkRecord measures what recording one result costs the load
// generator, from every CPU at once as during a run.
func BenchmarkRecord(b *testing.B) {
	rec := newRecorder()
	var lanes atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		lane := int(lanes.Add(1))
		for pb.Next() {
			rec.record(lane, 750*time.Microsecond, 0, nil, false)
		}
	})
}
