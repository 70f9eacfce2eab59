package server_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	shopv1 "example.com/shop/api/proto/shop/v1"
	"example.com/shop/internal/config"
	"example.com/shop/internal/items"
	"example.com/shop/internal/server"
	"example.com/shop/internal/tracing"
	"example.com/shop/internal/tracing/tracingtest"
)

// A caller's trace context, as a traceparent header carries it.
const (
	callerTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan   = "00f067aa0ba902b7"
	callerParent = "00-" + callerTrace + "-" + callerSpan + "-01"
)

// startTracing starts tracing into a test receiver, flushed and shut down
// when the test ends.
func startTracing(t *testing.T, sampler string) (*tracing.Tracing, *tracingtest.Receiver) {
	t.Helper()
	recv := tracingtest.NewReceiver(t)
	opts := config.Default().Observability
	opts.TraceEndpoint, opts.TraceSampler = recv.URL, sampler
	tr, err := tracing.New(opts.TracingOptions(), slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr, recv
}

// flush exports the spans ended so far.
func flush(t *testing.T, tr *tracing.Tracing) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestGRPCServerSpanContinuesTraceparentMetadata(t *testing.T) {
	t.Parallel()
	tr, recv := startTracing(t, "parentbased_always_on")
	r := start(t, nil, server.WithTracing(tr))
	cc, err := grpc.NewClient(r.srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "traceparent", callerParent)
	_, _ = shopv1.NewItemsServiceClient(cc).GetItem(ctx, &shopv1.GetItemRequest{Id: items.NewID()})
	flush(t, tr)
	span := recv.WaitFor(t, 5*time.Second, "gRPC server span", func(s tracingtest.Span) bool {
		return s.TraceID == callerTrace && strings.HasSuffix(s.GetName(), "/GetItem")
	})
	if span.ParentID != callerSpan {
		t.Errorf("gRPC server span's parent = %s, want the caller's span %s", span.ParentID, callerSpan)
	}
}
