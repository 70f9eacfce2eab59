package loadtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// httpItems is a real HTTP server on loopback, speaking HTTP/1.1 and h2c,
// that answers the two requests the load generator sends from a fakeItems
// and counts those that arrived over HTTP/2.
type httpItems struct {
	*httptest.Server
	http2 atomic.Int64
}

func startHTTP(t *testing.T, f *fakeItems) *httpItems {
	t.Helper()
	s := &httpItems{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/items", func(w http.ResponseWriter, r *http.Request) {
		s.count(r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": f.create(), "name": "loadtest", "quantity": "1"})
	})
	mux.HandleFunc("GET /v1/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.count(r)
		if !f.get() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": r.PathValue("id"), "name": "loadtest", "quantity": "1"})
	})
	s.Server = httptest.NewUnstartedServer(mux)
	s.Config.Protocols = new(http.Protocols)
	s.Config.Protocols.SetHTTP1(true)
	s.Config.Protocols.SetUnencryptedHTTP2(true)
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *httpItems) count(r *http.Request) {
	if r.ProtoMajor == 2 {
		s.http2.Add(1)
	}
}

func (s *httpItems) addr() string { return strings.TrimPrefix(s.URL, "http://") }

func TestOpenLoopSendsTheScheduleOverEachHTTPTransport(t *testing.T) {
	paced(t)
	for _, tr := range []Transport{HTTP1, H2C} {
		t.Run(string(tr), func(t *testing.T) {
			items := &fakeItems{}
			srv := startHTTP(t, items)
			res, err := Run(context.Background(), newTarget(t, tr, srv.addr()), openConfig())
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
			if c, g := items.creates.Load(), items.gets.Load(); c != 245 || g != 2160 {
				t.Errorf("server saw %d creates and %d gets; want 245 and 2160", c, g)
			}
			wantHTTP2 := int64(0)
			if tr == H2C {
				wantHTTP2 = items.creates.Load() + items.gets.Load()
			}
			if got := srv.http2.Load(); got != wantHTTP2 {
				t.Errorf("server saw %d HTTP/2 requests; want %d", got, wantHTTP2)
			}
		})
	}
}

func TestHTTPErrorsAreCountedByStatus(t *testing.T) {
	t.Parallel()
	srv := startHTTP(t, &fakeItems{failGets: true})
	res, err := Run(context.Background(), newTarget(t, HTTP1, srv.addr()), shortConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || res.Errors[0].Kind != "http 503" || res.Errors[0].Count != 360 {
		t.Fatalf("errors %+v; want 360 of kind http 503", res.Errors)
	}
	if res.Succeeded != 40 || res.ErrorPercent() != 90 {
		t.Errorf("%d succeeded, %g %% failed; want 40 and 90 %%", res.Succeeded, res.ErrorPercent())
	}
}
