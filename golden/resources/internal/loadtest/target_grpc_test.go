package loadtest

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	shopv1 "example.com/shop/api/proto/shop/v1"
)

// grpcItems answers the two calls the load generator makes from a
// fakeItems, through the generated service interface.
type grpcItems struct {
	shopv1.UnimplementedItemsServiceServer
	f *fakeItems
}

func (s *grpcItems) CreateItem(context.Context, *shopv1.CreateItemRequest) (*shopv1.Item, error) {
	return &shopv1.Item{Id: s.f.create(), Name: "loadtest", Quantity: 1}, nil
}

func (s *grpcItems) GetItem(_ context.Context, req *shopv1.GetItemRequest) (*shopv1.Item, error) {
	if !s.f.get() {
		return nil, status.Error(codes.Unavailable, "unavailable for the test")
	}
	return &shopv1.Item{Id: req.GetId(), Name: "loadtest", Quantity: 1}, nil
}

// startGRPC serves f over a real gRPC server on loopback and returns its
// address.
func startGRPC(t *testing.T, f *fakeItems) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	shopv1.RegisterItemsServiceServer(srv, &grpcItems{f: f})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

func TestOpenLoopOverGRPC(t *testing.T) {
	paced(t)
	items := &fakeItems{}
	res, err := Run(context.Background(), newTarget(t, GRPC, startGRPC(t, items)), openConfig())
	if err != nil {
		t.Fatal(err)
	}
	// 2000/s for 1.2 s is 2400 calls; the first 400 are warm-up.
	if res.Requests != 2000 || res.Succeeded != 2000 || len(res.Errors) != 0 {
		t.Errorf("measured %d requests, %d succeeded, errors %v; want 2000, 2000, none", res.Requests, res.Succeeded, res.Errors)
	}
	// 10 % of 2400 are creates, plus the 5 seeded items.
	if c, g := items.creates.Load(), items.gets.Load(); c != 245 || g != 2160 {
		t.Errorf("server saw %d creates and %d gets; want 245 and 2160", c, g)
	}
}

func TestGRPCErrorsAreCountedByCode(t *testing.T) {
	t.Parallel()
	res, err := Run(context.Background(), newTarget(t, GRPC, startGRPC(t, &fakeItems{failGets: true})), shortConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || res.Errors[0].Kind != "grpc Unavailable" || res.Errors[0].Count != 360 {
		t.Errorf("errors %+v; want 360 of kind grpc Unavailable", res.Errors)
	}
	if res.Succeeded != 40 || res.ErrorPercent() != 90 {
		t.Errorf("%d succeeded, %g %% failed; want 40 and 90 %%", res.Succeeded, res.ErrorPercent())
	}
}
