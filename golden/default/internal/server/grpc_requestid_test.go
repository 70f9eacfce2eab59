package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	demov1 "example.com/demo/api/proto/demo/v1"
	"example.com/demo/internal/items"
	"example.com/demo/internal/reqlog"
	"example.com/demo/internal/server"
)

// callLog collects the JSON lines a handler logs with its call's context.
type callLog struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (l *callLog) Write(p []byte) (int, error) {
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(p), &line); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	return len(p), nil
}

// last returns the last line logged.
func (l *callLog) last(t *testing.T) map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == 0 {
		t.Fatal("the handler logged nothing")
	}
	return l.lines[len(l.lines)-1]
}

// loggingHandler stands for a handler that logs with its call's context: it
// runs after the built-in interceptors, as the resources' handlers do.
func loggingHandler(logs *callLog) server.Option {
	log := slog.New(reqlog.NewHandler(slog.NewJSONHandler(logs, nil)))
	return server.WithUnaryInterceptors(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		log.InfoContext(ctx, "handling", "method", info.FullMethod)
		return handler(ctx, req)
	})
}

// callWithRequestID calls GetItem, sending id as x-request-id unless it is empty,
// and returns the x-request-id of the response header.
func callWithRequestID(t testing.TB, c demov1.ItemsServiceClient, id string) string {
	t.Helper()
	ctx := context.Background()
	if id != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, reqlog.MetadataKey, id)
	}
	var header metadata.MD
	// An unknown item: NotFound still returns the header.
	_, _ = c.GetItem(ctx, &demov1.GetItemRequest{Id: items.NewID()}, grpc.Header(&header))
	if got := header.Get(reqlog.MetadataKey); len(got) == 1 {
		return got[0]
	} else if len(got) > 1 {
		t.Fatalf("x-request-id %q: want at most one", got)
	}
	return ""
}

func TestGRPCRequestIDRoundTripAndLogLines(t *testing.T) {
	t.Parallel()
	logs := &callLog{}
	r := start(t, nil, server.WithRequestIDs(reqlog.IDsGenerate), loggingHandler(logs))
	c := demov1.NewItemsServiceClient(dialGRPC(t, r))
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
			id := callWithRequestID(t, c, tc.sent)
			switch {
			case tc.echoed && id != tc.sent:
				t.Fatalf("x-request-id = %q, want the client's %q", id, tc.sent)
			case !tc.echoed && (len(id) != 16 || !reqlog.ValidID(id)):
				t.Fatalf("x-request-id = %q, want a new 16-digit id", id)
			}
			line := logs.last(t)
			if method, _ := line["method"].(string); line["request_id"] != id || !strings.HasSuffix(method, "/GetItem") {
				t.Fatalf("handler's log line %v: want request_id %q", line, id)
			}
		})
	}
}

func TestGRPCStreamsGetRequestIDs(t *testing.T) {
	t.Parallel()
	r := start(t, nil, server.WithRequestIDs(reqlog.IDsGenerate))
	c := demov1.NewItemsServiceClient(dialGRPC(t, r))
	for _, sent := range []string{"stream-7", ""} {
		ctx := t.Context()
		if sent != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, reqlog.MetadataKey, sent)
		}
		stream, err := c.StreamItems(ctx, &demov1.StreamItemsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		header, err := stream.Header()
		if err != nil {
			t.Fatal(err)
		}
		got := header.Get(reqlog.MetadataKey)
		switch {
		case len(got) != 1:
			t.Fatalf("sent %q: x-request-id %q, want one", sent, got)
		case sent != "" && got[0] != sent:
			t.Fatalf("x-request-id %q, want the client's %q", got[0], sent)
		case sent == "" && (len(got[0]) != 16 || !reqlog.ValidID(got[0])):
			t.Fatalf("x-request-id %q, want a new 16-digit id", got[0])
		}
	}
}

func TestGRPCRequestIDsAcceptedOrOff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ids        reqlog.IDs
		sent, want string
	}{
		{reqlog.IDsAccept, "from-the-proxy", "from-the-proxy"},
		{reqlog.IDsAccept, "", ""},
		{reqlog.IDsAccept, "not valid", ""},
		{reqlog.IDsOff, "from-the-proxy", ""},
	} {
		logs := &callLog{}
		r := start(t, nil, server.WithRequestIDs(tc.ids), loggingHandler(logs))
		c := demov1.NewItemsServiceClient(dialGRPC(t, r))
		if got := callWithRequestID(t, c, tc.sent); got != tc.want {
			t.Errorf("request ids %d, sent %q: x-request-id %q, want %q", tc.ids, tc.sent, got, tc.want)
		}
		if line := logs.last(t); tc.want == "" && line["request_id"] != nil {
			t.Errorf("request ids %d, sent %q: log line %v, want no request_id", tc.ids, tc.sent, line)
		}
	}
}

func TestGRPCTracedCallIsAnsweredWithItsTraceID(t *testing.T) {
	t.Parallel()
	tr, _ := startTracing(t, "parentbased_always_on")
	logs := &callLog{}
	r := start(t, nil, server.WithTracing(tr), server.WithRequestIDs(reqlog.IDsGenerate), loggingHandler(logs))
	c := demov1.NewItemsServiceClient(dialGRPC(t, r))
	ctx := metadata.AppendToOutgoingContext(t.Context(), "traceparent", callerParent)
	var header metadata.MD
	_, _ = c.GetItem(ctx, &demov1.GetItemRequest{Id: items.NewID()}, grpc.Header(&header))
	if got := header.Get(reqlog.MetadataKey); len(got) != 1 || got[0] != callerTrace {
		t.Fatalf("x-request-id %q, want the trace id %s", got, callerTrace)
	}
	if line := logs.last(t); line["trace_id"] != callerTrace || line["request_id"] != nil {
		t.Fatalf("handler's log line %v: want trace_id %s and no request_id", line, callerTrace)
	}
}

// BenchmarkGRPCRequestIDs measures a unary GetItem over a real loopback
// connection (client included) with each request-ids setting: what
// accepting and generating ids add to a call, against "off", where calls do
// not pass through the request-id interceptor at all.
func BenchmarkGRPCRequestIDs(b *testing.B) {
	for _, bc := range []struct {
		name string
		ids  reqlog.IDs
		sent string
	}{
		{"off", reqlog.IDsOff, ""},
		{"off-with-id", reqlog.IDsOff, "0f8fad5b-d9cb-469f-a165-70867728950e"},
		{"accept-without-id", reqlog.IDsAccept, ""},
		{"accept-with-id", reqlog.IDsAccept, "0f8fad5b-d9cb-469f-a165-70867728950e"},
		{"generate", reqlog.IDsGenerate, ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := start(b, nil, server.WithRequestIDs(bc.ids))
			c := demov1.NewItemsServiceClient(dialGRPC(b, r))
			created, err := c.CreateItem(context.Background(), &demov1.CreateItemRequest{Name: "widget", Quantity: 3})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if bc.sent != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, reqlog.MetadataKey, bc.sent)
			}
			req := &demov1.GetItemRequest{Id: created.GetId()}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.GetItem(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
