package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	demov1 "example.com/demo/api/proto/demo/v1"
	"example.com/demo/internal/config"
	"example.com/demo/internal/limiter"
	"example.com/demo/internal/server"
)

// itemsService is the full name of the gRPC items service.
const itemsService = "demo.v1.ItemsService"

func dialGRPC(t testing.TB, r *running) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(r.srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial gRPC: %v", err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("got %v (%v), want code %v", got, err, want)
	}
}

// healthWatch is an open health Watch stream on one service.
type healthWatch struct {
	stream grpc.ServerStreamingClient[healthpb.HealthCheckResponse]
	cancel context.CancelFunc
}

func watchHealth(t *testing.T, cc *grpc.ClientConn, service string) *healthWatch {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	stream, err := healthpb.NewHealthClient(cc).Watch(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		t.Fatalf("health Watch: %v", err)
	}
	return &healthWatch{stream: stream, cancel: cancel}
}

// wait reads status updates until one reports want.
func (w *healthWatch) wait(t *testing.T, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	for {
		resp, err := w.stream.Recv()
		if err != nil {
			t.Fatalf("health never became %v: %v", want, err)
		}
		if resp.GetStatus() == want {
			return
		}
	}
}

func TestGRPCServesItemsOverTheSharedService(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	cc := dialGRPC(t, r)
	c := demov1.NewItemsServiceClient(cc)
	ctx := t.Context()

	created, err := c.CreateItem(ctx, &demov1.CreateItemRequest{Name: "bolt", Quantity: 5})
	if err != nil {
		t.Fatalf("CreateItem: %v", err)
	}
	// The store behind gRPC is the one behind HTTP.
	if _, err := r.store.Get(ctx, created.GetId()); err != nil {
		t.Fatalf("item created over gRPC is not in the store: %v", err)
	}
	got, err := c.GetItem(ctx, &demov1.GetItemRequest{Id: created.GetId()})
	if err != nil || got.GetName() != "bolt" {
		t.Fatalf("GetItem = %v, %v", got, err)
	}
	list, err := c.ListItems(ctx, &demov1.ListItemsRequest{})
	if err != nil || len(list.GetItems()) != 1 {
		t.Fatalf("ListItems = %v, %v", list, err)
	}
	stream, err := c.StreamItems(ctx, &demov1.StreamItemsRequest{})
	if err != nil {
		t.Fatalf("StreamItems: %v", err)
	}
	first, err := stream.Recv()
	if err != nil || first.GetId() != created.GetId() {
		t.Fatalf("StreamItems sent %v, %v", first, err)
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("StreamItems did not end after the only item: %v", err)
	}
	_, err = c.GetItem(ctx, &demov1.GetItemRequest{Id: strings.Repeat("0", 32)})
	wantCode(t, err, codes.NotFound)
}

func TestGRPCHealthReportsServing(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	cc := dialGRPC(t, r)
	for _, service := range []string{"", itemsService} {
		watchHealth(t, cc, service).wait(t, healthpb.HealthCheckResponse_SERVING)
		resp, err := healthpb.NewHealthClient(cc).Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Check(%q) = %v, %v", service, resp, err)
		}
	}
	_, err := healthpb.NewHealthClient(cc).Check(t.Context(), &healthpb.HealthCheckRequest{Service: "no.such.Service"})
	wantCode(t, err, codes.NotFound)
}

// listServices asks the reflection service for the registered services.
func listServices(t *testing.T, cc *grpc.ClientConn) ([]string, error) {
	t.Helper()
	stream, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(t.Context())
	if err != nil {
		return nil, err
	}
	req := &reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}
	// Send reports io.EOF when the server has already ended the stream, as
	// it does for an unregistered service; Recv then returns the status.
	if err := stream.Send(req); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	resp, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names, nil
}

func TestGRPCReflection(t *testing.T) {
	t.Parallel()
	names, err := listServices(t, dialGRPC(t, start(t, nil)))
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	if !strings.Contains(strings.Join(names, " "), itemsService) {
		t.Fatalf("reflection lists %v, want %s among them", names, itemsService)
	}

	off := start(t, func(c *config.Config) { c.GRPCReflection = false })
	_, err = listServices(t, dialGRPC(t, off))
	wantCode(t, err, codes.Unimplemented)
}

func TestGRPCRejectsOversizeMessages(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	c := demov1.NewItemsServiceClient(dialGRPC(t, r))
	// One byte over the limit, whatever the encoding adds.
	name := strings.Repeat("x", config.Default().GRPCMaxMsgBytes)
	_, err := c.CreateItem(t.Context(), &demov1.CreateItemRequest{Name: name})
	wantCode(t, err, codes.ResourceExhausted)

	// The connection survives; normal calls go on.
	if _, err := c.CreateItem(t.Context(), &demov1.CreateItemRequest{Name: "small"}); err != nil {
		t.Fatalf("CreateItem after an oversize one: %v", err)
	}
}

func TestGRPCPanicIsInternalAndServingContinues(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	c := demov1.NewItemsServiceClient(dialGRPC(t, r))
	created, err := c.CreateItem(t.Context(), &demov1.CreateItemRequest{Name: "fragile"})
	if err != nil {
		t.Fatal(err)
	}
	r.store.panicking.Store(true)
	_, err = c.GetItem(t.Context(), &demov1.GetItemRequest{Id: created.GetId()})
	wantCode(t, err, codes.Internal)
	r.store.panicking.Store(false)
	if _, err := c.GetItem(t.Context(), &demov1.GetItemRequest{Id: created.GetId()}); err != nil {
		t.Fatalf("GetItem after a panic: %v", err)
	}

	_, body := get(t, http.DefaultClient, "http://"+r.srv.AdminAddr()+"/metrics")
	for _, want := range []string{
		`panics_recovered_total 1`,
		`grpc_server_handled_total{code="Internal",method="/` + itemsService + `/GetItem"} 1`,
		`grpc_server_handled_total{code="OK",method="/` + itemsService + `/GetItem"} 1`,
		`grpc_server_handled_total{code="OK",method="/` + itemsService + `/CreateItem"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// waitRefused waits until addr stops accepting connections: the server has
// begun to stop.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		_ = conn.Close()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s still accepts connections", addr)
}

// inFlightGet starts a GetItem that the gated store holds, and returns where
// its outcome will arrive once the store has it.
func inFlightGet(t *testing.T, r *running, c demov1.ItemsServiceClient) <-chan error {
	t.Helper()
	created, err := c.CreateItem(t.Context(), &demov1.CreateItemRequest{Name: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	r.store.gate.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := c.GetItem(context.Background(), &demov1.GetItemRequest{Id: created.GetId()})
		done <- err
	}()
	<-r.store.entered
	return done
}

func TestGRPCGracefulStopLetsInFlightCallsFinish(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	cc := dialGRPC(t, r)
	health := watchHealth(t, cc, itemsService)
	health.wait(t, healthpb.HealthCheckResponse_SERVING)
	done := inFlightGet(t, r, demov1.NewItemsServiceClient(cc))

	r.stop()
	// Shutdown reports NOT_SERVING, then stops accepting, while the call
	// is still held in the store. The watch is a call in flight too: end
	// it, or the graceful stop would wait for it.
	health.wait(t, healthpb.HealthCheckResponse_NOT_SERVING)
	health.cancel()
	waitRefused(t, r.srv.GRPCAddr())
	close(r.store.release)
	if err := <-done; err != nil {
		t.Fatalf("in-flight call failed during graceful stop: %v", err)
	}
	<-r.done
	if r.err != nil {
		t.Fatalf("Serve: %v", r.err)
	}
}

func TestGRPCShutdownDeadlineCutsStuckCalls(t *testing.T) {
	t.Parallel()
	r := start(t, func(c *config.Config) { c.ShutdownTimeout = 100 * time.Millisecond })
	done := inFlightGet(t, r, demov1.NewItemsServiceClient(dialGRPC(t, r)))
	defer close(r.store.release)

	r.stop()
	<-r.done
	wantCode(t, <-done, codes.Unavailable)
}

func TestGRPCShedsCallsPastTheConcurrencyLimit(t *testing.T) {
	t.Parallel()
	lim, err := limiter.New(limiter.Options{Max: 1, Min: 1, Initial: 1, RetryAfter: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, nil, server.WithLimiter(lim))
	cc := dialGRPC(t, r)
	c := demov1.NewItemsServiceClient(cc)
	done := inFlightGet(t, r, c)

	// The one slot is taken: the next call is refused at once, with a
	// pushback for clients that retry.
	var trailer metadata.MD
	_, err = c.CreateItem(t.Context(), &demov1.CreateItemRequest{Name: "one too many"}, grpc.Trailer(&trailer))
	wantCode(t, err, codes.ResourceExhausted)
	if got := trailer.Get("grpc-retry-pushback-ms"); len(got) != 1 || got[0] != "2000" {
		t.Errorf("grpc-retry-pushback-ms = %v, want [2000]", got)
	}
	stream, err := c.StreamItems(t.Context(), &demov1.StreamItemsRequest{})
	if err == nil {
		_, err = stream.Recv()
	}
	wantCode(t, err, codes.ResourceExhausted)
	// Health checks are never shed.
	if _, err := healthpb.NewHealthClient(cc).Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health Check while saturated: %v", err)
	}

	close(r.store.release)
	if err := <-done; err != nil {
		t.Fatalf("admitted call: %v", err)
	}
	r.store.gate.Store(false)
	if _, err := c.CreateItem(t.Context(), &demov1.CreateItemRequest{Name: "room again"}); err != nil {
		t.Fatalf("CreateItem once the slot is free: %v", err)
	}
	_, body := get(t, http.DefaultClient, "http://"+r.srv.AdminAddr()+"/metrics")
	want := `grpc_server_handled_total{code="ResourceExhausted",method="/` + itemsService + `/CreateItem"} 1`
	if !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %s", want)
	}
}
