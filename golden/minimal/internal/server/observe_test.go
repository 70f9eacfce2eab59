package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/minimal/internal/config"
	"example.com/minimal/internal/items"
	"example.com/minimal/internal/metrics"
	"example.com/minimal/internal/reqlog"
	"example.com/minimal/internal/resource"
	"example.com/minimal/internal/server"
	"example.com/minimal/internal/store/memory"
	"example.com/minimal/internal/tracing"
	"example.com/minimal/internal/tracing/tracingtest"
)

// itemRoutePattern is the route the item requests match.
const itemRoutePattern = "GET /v1/items/{id}"

// lockedBuffer is a log destination the server's goroutines write to.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the JSON log lines whose msg is msg.
func (b *lockedBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if line["msg"] == msg {
			out = append(out, line)
		}
	}
	return out
}

// startObserved starts a server whose log is JSON, request-scoped, in the
// returned buffer, with every request access-logged.
func startObserved(t *testing.T, opts ...server.Option) (*running, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	log := slog.New(reqlog.NewHandler(slog.NewJSONHandler(logs, nil)))
	opts = append(opts, server.WithAccessLog(reqlog.NewAccessLog(log, 1)), server.WithRequestIDs(reqlog.IDsGenerate))
	return start(t, nil, opts...), logs
}

func TestHTTPServerSpanContinuesTraceparentOverH1AndH2C(t *testing.T) {
	t.Parallel()
	tr, recv := startTracing(t, "parentbased_always_on")
	r, _ := startObserved(t, server.WithTracing(tr))
	for name, client := range map[string]*http.Client{"h1": http.DefaultClient, "h2c": h2cClient(t)} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://"+r.srv.HTTPAddr()+"/v1/items/"+items.NewID(), nil)
			req.Header.Set("Traceparent", callerParent)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get(reqlog.Header); got != callerTrace {
				t.Errorf("X-Request-Id of a traced request = %q, want its trace id %s", got, callerTrace)
			}
			flush(t, tr)
			span := recv.WaitFor(t, 5*time.Second, "server span continuing the caller's trace", func(s tracingtest.Span) bool {
				return s.TraceID == callerTrace && s.GetName() == itemRoutePattern && s.Attr("network.protocol.version") == map[string]string{"h1": "1.1", "h2c": "2"}[name]
			})
			if span.ParentID != callerSpan {
				t.Errorf("server span's parent = %s, want the caller's span %s", span.ParentID, callerSpan)
			}
			if got := span.Attr("http.response.status_code"); got != "404" {
				t.Errorf("status attribute = %q, want 404", got)
			}
		})
	}
}

func TestHTTPServerSpanStartsATraceWithoutTraceparent(t *testing.T) {
	t.Parallel()
	tr, recv := startTracing(t, "parentbased_always_on")
	r, _ := startObserved(t, server.WithTracing(tr))
	resp, _ := get(t, http.DefaultClient, "http://"+r.srv.HTTPAddr()+"/healthz")
	id := resp.Header.Get(reqlog.Header)
	flush(t, tr)
	span := recv.WaitFor(t, 5*time.Second, "GET /healthz span", func(s tracingtest.Span) bool { return s.GetName() == "GET /healthz" })
	if span.TraceID != id || span.ParentID != "" {
		t.Errorf("root span trace %s parent %q; want the X-Request-Id %s and no parent", span.TraceID, span.ParentID, id)
	}
}
func TestUnsampledTracesExportNothing(t *testing.T) {
	t.Parallel()
	tr, recv := startTracing(t, "parentbased_always_off")
	r := start(t, nil, server.WithTracing(tr))
	get(t, http.DefaultClient, "http://"+r.srv.HTTPAddr()+"/healthz")
	flush(t, tr)
	if spans := recv.Spans(); len(spans) != 0 {
		t.Fatalf("%d spans exported with sampling off", len(spans))
	}
}

func TestRequestIDRoundTripAndLogLines(t *testing.T) {
	t.Parallel()
	r, logs := startObserved(t)
	url := "http://" + r.srv.HTTPAddr() + "/v1/items/" + items.NewID()
	for _, tc := range []struct {
		name, sent string
		echoed     bool
	}{
		{"valid id is echoed", "req-0f3a:9b/x+y=", true},
		{"none gets a new one", "", false},
		{"too long is replaced", strings.Repeat("a", reqlog.MaxIDLen+1), false},
		{"forged field is replaced", `a" "level":"ERROR`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			if tc.sent != "" {
				req.Header.Set(reqlog.Header, tc.sent)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			id := resp.Header.Get(reqlog.Header)
			switch {
			case tc.echoed && id != tc.sent:
				t.Fatalf("X-Request-Id = %q, want the client's %q", id, tc.sent)
			case !tc.echoed && (len(id) != 16 || !reqlog.ValidID(id)):
				t.Fatalf("X-Request-Id = %q, want a new 16-digit id", id)
			}
			found := false
			for _, line := range logs.lines(t, "request") {
				if line["request_id"] == id {
					found = true
					if line["route"] != itemRoutePattern || line["status"] != float64(http.StatusNotFound) || line["method"] != http.MethodGet {
						t.Errorf("access log line %v: want route %q, method GET, status 404", line, itemRoutePattern)
					}
				}
			}
			if !found {
				t.Fatalf("no access log line with request_id %q", id)
			}
		})
	}
}

func TestLogLinesCarryTheTraceID(t *testing.T) {
	t.Parallel()
	tr, _ := startTracing(t, "parentbased_always_on")
	r, logs := startObserved(t, server.WithTracing(tr))
	req, _ := http.NewRequest(http.MethodGet, "http://"+r.srv.HTTPAddr()+"/healthz", nil)
	req.Header.Set("Traceparent", callerParent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	lines := logs.lines(t, "request")
	if len(lines) != 1 || lines[0]["trace_id"] != callerTrace || lines[0]["span_id"] == "" || lines[0]["request_id"] != nil {
		t.Fatalf("access log lines %v: want one with trace_id %s, a span_id and no request_id", lines, callerTrace)
	}
}

func TestRequestIDsAcceptedOrOff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ids        reqlog.IDs
		sent, want string
	}{
		{reqlog.IDsAccept, "from-the-proxy", "from-the-proxy"},
		{reqlog.IDsAccept, "", ""},
		{reqlog.IDsOff, "from-the-proxy", ""},
	} {
		r := start(t, nil, server.WithRequestIDs(tc.ids))
		req, _ := http.NewRequest(http.MethodGet, "http://"+r.srv.HTTPAddr()+"/healthz", nil)
		if tc.sent != "" {
			req.Header.Set(reqlog.Header, tc.sent)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get(reqlog.Header); got != tc.want {
			t.Errorf("request ids %d, sent %q: X-Request-Id %q, want %q", tc.ids, tc.sent, got, tc.want)
		}
	}
}

// BenchmarkObserve measures the GET /v1/items/{id} through the
// public port's whole handler (observability, metrics, shedding, recovery,
// mux, handler) into a recorder: what tracing, request ids and the access
// log each add to a request, against "off", the server without them.
func BenchmarkObserve(b *testing.B) {
	svc := items.NewService(memory.New())
	it, err := svc.Create(context.Background(), items.NewItem{Name: "widget", Quantity: 3})
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(reqlog.NewHandler(slog.NewJSONHandler(io.Discard, nil)))
	newHandler := func(opts ...server.Option) http.Handler {
		res := []resource.Resource{items.Resource(svc, log, items.HTTPOptions{MaxBodyBytes: 1 << 20})}
		return server.New(config.Default(), log, metrics.New(), res, opts...).PublicHandler()
	}
	// The exporter sends to a receiver that discards, so the benchmark
	// measures the request path, not the collector.
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	defer sink.Close()
	tracer := func(sampler string) *tracing.Tracing {
		opts := config.Default().Observability
		opts.TraceEndpoint, opts.TraceSampler = sink.URL+"/v1/traces", sampler
		tr, err := tracing.New(opts.TracingOptions(), slog.New(slog.DiscardHandler), prometheus.NewRegistry())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
		return tr
	}
	for _, bc := range []struct {
		name    string
		handler http.Handler
	}{
		{"off", newHandler()},
		{"request-ids-accept", newHandler(server.WithRequestIDs(reqlog.IDsAccept))},
		{"request-ids-generate", newHandler(server.WithRequestIDs(reqlog.IDsGenerate))},
		{"access-log", newHandler(server.WithAccessLog(reqlog.NewAccessLog(log, 1)))},
		{"tracing-unsampled", newHandler(server.WithTracing(tracer("always_off")))},
		{"tracing-sampled", newHandler(server.WithTracing(tracer("always_on")))},
		{"tracing-and-ids", newHandler(server.WithRequestIDs(reqlog.IDsAccept), server.WithTracing(tracer("parentbased_always_on")))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/v1/items/"+it.ID, nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				w.Body.Reset()
				bc.handler.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
