package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// itemsServer is a real HTTP server on loopback that answers the two
// requests the load generator sends, and counts what it saw.
type itemsServer struct {
	*httptest.Server
	creates, gets atomic.Int64
	http2         atomic.Int64
	// getStatus, when set, answers GETs with this status.
	getStatus int
	// stall, when set, is called before answering each GET.
	stall func()
}

func newItemsServer(t *testing.T, configure func(*itemsServer)) *itemsServer {
	t.Helper()
	s := &itemsServer{}
	if configure != nil {
		configure(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/items", func(w http.ResponseWriter, r *http.Request) {
		n := s.creates.Add(1)
		s.count(r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": fmt.Sprintf("%032x", n), "name": "loadtest", "quantity": 1})
	})
	mux.HandleFunc("GET /v1/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.gets.Add(1)
		s.count(r)
		if s.stall != nil {
			s.stall()
		}
		if s.getStatus != 0 {
			w.WriteHeader(s.getStatus)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": r.PathValue("id"), "name": "loadtest", "quantity": 1})
	})
	s.Server = httptest.NewUnstartedServer(mux)
	s.Config.Protocols = new(http.Protocols)
	s.Config.Protocols.SetHTTP1(true)
	s.Config.Protocols.SetUnencryptedHTTP2(true)
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *itemsServer) count(r *http.Request) {
	if r.ProtoMajor == 2 {
		s.http2.Add(1)
	}
}

func (s *itemsServer) addr() string { return strings.TrimPrefix(s.URL, "http://") }

func newTarget(t *testing.T, tr Transport, addr string) Target {
	t.Helper()
	tgt, err := NewTarget(tr, addr, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tgt.Close() })
	return tgt
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

func TestOpenLoopSendsTheScheduleOverEachTransport(t *testing.T) {
	for _, tr := range []Transport{HTTP1, H2C} {
		t.Run(string(tr), func(t *testing.T) {
			srv := newItemsServer(t, nil)
			cfg := openConfig()
			res, err := Run(context.Background(), newTarget(t, tr, srv.addr()), cfg)
			if err != nil {
				t.Fatal(err)
			}
			// 2000/s for 1.2 s is 2400 requests; the first 400 are warm-up.
			if res.Requests != 2000 || res.Succeeded != 2000 || len(res.Errors) != 0 {
				t.Errorf("measured %d requests, %d succeeded, errors %v; want 2000, 2000, none", res.Requests, res.Succeeded, res.Errors)
			}
			if got := res.Latency.TotalCount(); got != 2000 {
				t.Errorf("histogram holds %d latencies; want 2000", got)
			}
			if res.Window != time.Second || res.CountCapped {
				t.Errorf("window %s, capped %t; want 1s, false", res.Window, res.CountCapped)
			}
			// 10 % of 2400 are creates, plus the 5 seeded items.
			if c, g := srv.creates.Load(), srv.gets.Load(); c != 245 || g != 2160 {
				t.Errorf("server saw %d creates and %d gets; want 245 and 2160", c, g)
			}
			wantHTTP2 := int64(0)
			if tr == H2C {
				wantHTTP2 = srv.creates.Load() + srv.gets.Load()
			}
			if got := srv.http2.Load(); got != wantHTTP2 {
				t.Errorf("server saw %d HTTP/2 requests; want %d", got, wantHTTP2)
			}
		})
	}
}

// TestOpenLoopChargesStallsToQueuedRequests proves there is no coordinated
// omission: one GET stalls for 300 ms with a single worker, and every
// request due during the stall is charged the time it waited, not only the
// stalled one. Requests due in the stall's first half waited at least
// 150 ms whatever the machine's speed, since none could start before the
// stall ended.
func TestOpenLoopChargesStallsToQueuedRequests(t *testing.T) {
	const stall = 300 * time.Millisecond
	var once sync.Once
	srv := newItemsServer(t, func(s *itemsServer) {
		s.stall = func() {
			if s.gets.Load() > 20 {
				once.Do(func() { time.Sleep(stall) })
			}
		}
	})
	cfg := openConfig()
	cfg.Rate, cfg.Workers, cfg.Warmup = 100, 1, 0
	res, err := Run(context.Background(), newTarget(t, HTTP1, srv.addr()), cfg)
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
	for _, mode := range []Mode{Open, Closed} {
		t.Run(string(mode), func(t *testing.T) {
			srv := newItemsServer(t, nil)
			cfg := openConfig()
			cfg.Mode, cfg.Warmup, cfg.Duration, cfg.MaxRequests = mode, 0, time.Hour, 300
			res, err := Run(context.Background(), newTarget(t, H2C, srv.addr()), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !res.CountCapped || res.Requests != 300 {
				t.Errorf("capped %t after %d requests; want true after 300", res.CountCapped, res.Requests)
			}
			if sent := srv.creates.Load() + srv.gets.Load() - int64(cfg.Scenario.Items); sent != 300 {
				t.Errorf("server saw %d requests after seeding; want 300", sent)
			}
		})
	}
}

func TestRunCountsErrorsByKind(t *testing.T) {
	srv := newItemsServer(t, func(s *itemsServer) { s.getStatus = http.StatusServiceUnavailable })
	cfg := openConfig()
	res, err := Run(context.Background(), newTarget(t, HTTP1, srv.addr()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || res.Errors[0].Kind != "http 503" || res.Errors[0].Count != 1800 {
		t.Fatalf("errors %+v; want 1800 of kind http 503", res.Errors)
	}
	if res.Succeeded != 200 || res.ErrorPercent() != 90 {
		t.Errorf("%d succeeded, %g %% failed; want 200 and 90 %%", res.Succeeded, res.ErrorPercent())
	}
}

func TestRunCountsUnfinishedRequestsAsCutOff(t *testing.T) {
	release := make(chan struct{})
	srv := newItemsServer(t, func(s *itemsServer) {
		s.stall = func() { <-release }
	})
	defer close(release)
	cfg := openConfig()
	cfg.Rate, cfg.Warmup, cfg.Duration, cfg.Drain = 100, 0, 200*time.Millisecond, 100*time.Millisecond
	res, err := Run(context.Background(), newTarget(t, H2C, srv.addr()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var cutOff int64
	for _, e := range res.Errors {
		if e.Kind == KindCutOff {
			cutOff = e.Count
		}
	}
	// Every GET hangs until the run gives up; the two creates in 20
	// requests succeed.
	if res.Requests != 20 || cutOff != 18 {
		t.Errorf("measured %d requests, %d cut off (%+v); want 20 and 18", res.Requests, cutOff, res.Errors)
	}
}

func TestRunReportsAnUnreachableService(t *testing.T) {
	srv := newItemsServer(t, nil)
	addr := srv.addr()
	srv.Close()
	_, err := Run(context.Background(), newTarget(t, HTTP1, addr), openConfig())
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
