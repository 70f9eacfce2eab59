package loadtest

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	demov1 "example.com/demo/api/proto/demo/v1"
)

// itemsGRPCServer is a real gRPC server on loopback that answers the two
// calls the load generator makes, and counts them.
type itemsGRPCServer struct {
	demov1.UnimplementedItemsServiceServer
	creates, gets atomic.Int64
	// getCode, when set, fails every GetItem with this code.
	getCode codes.Code
}

func (s *itemsGRPCServer) CreateItem(context.Context, *demov1.CreateItemRequest) (*demov1.Item, error) {
	return &demov1.Item{Id: fmt.Sprintf("%032x", s.creates.Add(1)), Name: "loadtest", Quantity: 1}, nil
}

func (s *itemsGRPCServer) GetItem(_ context.Context, req *demov1.GetItemRequest) (*demov1.Item, error) {
	s.gets.Add(1)
	if s.getCode != codes.OK {
		return nil, status.Error(s.getCode, "unavailable for the test")
	}
	return &demov1.Item{Id: req.GetId(), Name: "loadtest", Quantity: 1}, nil
}

func startGRPC(t *testing.T, impl *itemsGRPCServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	demov1.RegisterItemsServiceServer(srv, impl)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

func TestOpenLoopOverGRPC(t *testing.T) {
	impl := &itemsGRPCServer{}
	res, err := Run(context.Background(), newTarget(t, GRPC, startGRPC(t, impl)), openConfig())
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 2000 || res.Succeeded != 2000 || len(res.Errors) != 0 {
		t.Errorf("measured %d requests, %d succeeded, errors %v; want 2000, 2000, none", res.Requests, res.Succeeded, res.Errors)
	}
	if c, g := impl.creates.Load(), impl.gets.Load(); c != 245 || g != 2160 {
		t.Errorf("server saw %d creates and %d gets; want 245 and 2160", c, g)
	}
}

func TestGRPCErrorsAreCountedByCode(t *testing.T) {
	impl := &itemsGRPCServer{getCode: codes.Unavailable}
	res, err := Run(context.Background(), newTarget(t, GRPC, startGRPC(t, impl)), openConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || res.Errors[0].Kind != "grpc Unavailable" || res.Errors[0].Count != 1800 {
		t.Errorf("errors %+v; want 1800 of kind grpc Unavailable", res.Errors)
	}
}
