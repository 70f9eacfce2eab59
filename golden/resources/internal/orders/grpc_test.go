package orders_test

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	shopv1 "example.com/shop/api/proto/shop/v1"
	"example.com/shop/internal/orders"
	"example.com/shop/internal/store/memory"
)

// dial serves the API over an in-memory store on a loopback port and
// returns a client.
func dial(t *testing.T) shopv1.OrdersServiceClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	orders.NewGRPCServer(orders.NewService(memory.NewOrders()), slog.New(slog.NewTextHandler(io.Discard, nil))).Register(srv)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return shopv1.NewOrdersServiceClient(cc)
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("got %v (%v), want code %v", got, err, want)
	}
}

func TestGRPCLifecycle(t *testing.T) {
	c := dial(t)
	ctx := t.Context()

	created, err := c.CreateOrder(ctx, &shopv1.CreateOrderRequest{
		Customer:   "alpha",
		TotalCents: 1234567890123,
		Note:       ptr[string]("alpha"),
		PlacedAt:   timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
	})
	if err != nil {
		t.Fatalf("CreateOrder: %v", err)
	}
	if !orders.ValidID(created.GetId()) || created.GetCreateTime() == nil || created.GetUpdateTime() == nil {
		t.Fatalf("CreateOrder returned %v, want an ID and times", created)
	}
	checkSame(t, created, sample())

	got, err := c.GetOrder(ctx, &shopv1.GetOrderRequest{Id: created.GetId()})
	if err != nil {
		t.Fatalf("GetOrder: %v", err)
	}
	checkSame(t, got, sample())

	updated, err := c.UpdateOrder(ctx, &shopv1.UpdateOrderRequest{
		Id:         created.GetId(),
		Customer:   "beta",
		TotalCents: 42,
		Note:       ptr[string]("beta"),
		PlacedAt:   timestamppb.New(time.Date(2027, 6, 7, 8, 9, 10, 123000, time.UTC)),
	})
	if err != nil {
		t.Fatalf("UpdateOrder: %v", err)
	}
	checkSame(t, updated, other())
	if !updated.GetCreateTime().AsTime().Equal(created.GetCreateTime().AsTime()) {
		t.Fatalf("UpdateOrder changed create_time to %v", updated.GetCreateTime().AsTime())
	}

	list, err := c.ListOrders(ctx, &shopv1.ListOrdersRequest{})
	if err != nil || len(list.GetOrders()) != 1 || list.GetOrders()[0].GetId() != created.GetId() || list.GetNextPageToken() != "" {
		t.Fatalf("ListOrders = %v, %v; want the one order and no next page", list, err)
	}

	if _, err := c.DeleteOrder(ctx, &shopv1.DeleteOrderRequest{Id: created.GetId()}); err != nil {
		t.Fatalf("DeleteOrder: %v", err)
	}
	_, err = c.GetOrder(ctx, &shopv1.GetOrderRequest{Id: created.GetId()})
	wantCode(t, err, codes.NotFound)
	_, err = c.UpdateOrder(ctx, &shopv1.UpdateOrderRequest{
		Id:         created.GetId(),
		Customer:   "beta",
		TotalCents: 42,
		Note:       ptr[string]("beta"),
		PlacedAt:   timestamppb.New(time.Date(2027, 6, 7, 8, 9, 10, 123000, time.UTC)),
	})
	wantCode(t, err, codes.NotFound)
	_, err = c.DeleteOrder(ctx, &shopv1.DeleteOrderRequest{Id: created.GetId()})
	wantCode(t, err, codes.NotFound)
}

func TestGRPCInvalidRequests(t *testing.T) {
	c := dial(t)
	ctx := t.Context()
	// A NUL byte is valid UTF-8, so the client sends it; the service
	// refuses it as no store could keep it.
	req := &shopv1.CreateOrderRequest{
		Customer:   "alpha",
		TotalCents: 1234567890123,
		Note:       ptr[string]("alpha"),
		PlacedAt:   timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
	}
	req.Customer = "a\x00b"
	_, err := c.CreateOrder(ctx, req)
	wantCode(t, err, codes.InvalidArgument)
	_, err = c.ListOrders(ctx, &shopv1.ListOrdersRequest{PageSize: -1})
	wantCode(t, err, codes.InvalidArgument)
	_, err = c.ListOrders(ctx, &shopv1.ListOrdersRequest{PageToken: "not-a-token"})
	wantCode(t, err, codes.InvalidArgument)
	_, err = c.GetOrder(ctx, &shopv1.GetOrderRequest{Id: "../etc"})
	wantCode(t, err, codes.NotFound)
}
