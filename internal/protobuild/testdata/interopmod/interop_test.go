// Package interop_test checks that the gRPC stubs perfgen generates and the
// ones protoc-gen-go-grpc generates for the same .proto talk to each other
// over a real connection, in both directions and for every kind of RPC.
//
// TestInteropWithProtocGenGoGRPC in internal/protobuild copies this file into
// a temporary module beside both sets of generated code; it is not built as
// part of perfgen.
package interop_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	ours "example.com/shop/api/shop/v1"
	theirs "example.com/shop/theirs/shop/v1"
)

// ourServer implements the service with perfgen's stubs. DeleteProduct is
// left to UnimplementedShopServer.
type ourServer struct {
	ours.UnimplementedShopServer
}

func (ourServer) GetProduct(_ context.Context, req *ours.GetProductRequest) (*ours.Product, error) {
	if req.GetId() == "" {
		return nil, status.Error(codes.InvalidArgument, "id is required")
	}
	return &ours.Product{Id: req.GetId(), Name: "product " + req.GetId(), Price: &ours.Money{Currency: "EUR", Units: 3}}, nil
}

func (ourServer) ListProducts(req *ours.ListProductsRequest, stream ours.Shop_ListProductsServer) error {
	for i := range req.GetPageSize() {
		if err := stream.Send(&ours.Product{Id: strconv.Itoa(int(i))}); err != nil {
			return err
		}
	}
	return nil
}

func (ourServer) ImportProducts(stream grpc.ClientStreamingServer[ours.Product, emptypb.Empty]) error {
	n := 0
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		n++
	}
	stream.SetTrailer(metadata.Pairs("imported", strconv.Itoa(n)))
	return stream.SendAndClose(&emptypb.Empty{})
}

func (ourServer) SyncProducts(stream ours.Shop_SyncProductsServer) error {
	for {
		p, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p.Name = strings.ToUpper(p.GetName())
		if err := stream.Send(p); err != nil {
			return err
		}
	}
}

// theirServer implements part of the service with protoc-gen-go-grpc's stubs.
type theirServer struct {
	theirs.UnimplementedShopServer
}

func (theirServer) GetProduct(_ context.Context, req *theirs.GetProductRequest) (*theirs.Product, error) {
	return &theirs.Product{Id: req.GetId(), Name: "theirs"}, nil
}

func (theirServer) SyncProducts(stream grpc.BidiStreamingServer[theirs.Product, theirs.Product]) error {
	for {
		p, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p.Name = strings.ToUpper(p.GetName())
		if err := stream.Send(p); err != nil {
			return err
		}
	}
}

// connect serves what register registers on a loopback port and returns a
// client connection to it.
func connect(t *testing.T, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	register(s)
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// timeout bounds a test's calls, so a broken stub fails the test instead of
// hanging it.
func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("got code %v (%v), want %v", got, err, want)
	}
}

func TestTheirClientOurServer(t *testing.T) {
	c := theirs.NewShopClient(connect(t, func(s *grpc.Server) { ours.RegisterShopServer(s, ourServer{}) }))
	ctx := timeout(t)

	p, err := c.GetProduct(ctx, &theirs.GetProductRequest{Id: "7"})
	if err != nil {
		t.Fatal(err)
	}
	if p.GetName() != "product 7" || p.GetPrice().GetUnits() != 3 {
		t.Fatalf("GetProduct = %v", p)
	}
	_, err = c.GetProduct(ctx, &theirs.GetProductRequest{})
	wantCode(t, err, codes.InvalidArgument)
	_, err = c.DeleteProduct(ctx, &theirs.GetProductRequest{Id: "7"})
	wantCode(t, err, codes.Unimplemented)

	list, err := c.ListProducts(ctx, &theirs.ListProductsRequest{PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for {
		p, err := list.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.GetId())
	}
	if strings.Join(ids, ",") != "0,1,2" {
		t.Fatalf("ListProducts streamed %v, want 0,1,2", ids)
	}

	var trailer metadata.MD
	imp, err := c.ImportProducts(ctx, grpc.Trailer(&trailer))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := imp.Send(&theirs.Product{Id: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := imp.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	if got := trailer.Get("imported"); len(got) != 1 || got[0] != "4" {
		t.Fatalf("ImportProducts imported %v, want 4", got)
	}

	bidi(t, func(ctx context.Context) (grpc.BidiStreamingClient[theirs.Product, theirs.Product], error) {
		return c.SyncProducts(ctx)
	}, func(name string) *theirs.Product { return &theirs.Product{Name: name} })
}

func TestOurClientTheirServer(t *testing.T) {
	c := ours.NewShopClient(connect(t, func(s *grpc.Server) { theirs.RegisterShopServer(s, theirServer{}) }))
	ctx := timeout(t)

	p, err := c.GetProduct(ctx, &ours.GetProductRequest{Id: "9"})
	if err != nil {
		t.Fatal(err)
	}
	if p.GetId() != "9" || p.GetName() != "theirs" {
		t.Fatalf("GetProduct = %v", p)
	}
	list, err := c.ListProducts(ctx, &ours.ListProductsRequest{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = list.Recv()
	wantCode(t, err, codes.Unimplemented)

	bidi(t, func(ctx context.Context) (grpc.BidiStreamingClient[ours.Product, ours.Product], error) {
		return c.SyncProducts(ctx)
	}, func(name string) *ours.Product { return &ours.Product{Name: name} })
}

// bidi sends two products through a SyncProducts stream and expects them
// back upper-cased, then a clean end of stream.
func bidi[P any, PP interface {
	*P
	GetName() string
}](t *testing.T, open func(context.Context) (grpc.BidiStreamingClient[P, P], error), product func(string) PP) {
	t.Helper()
	s, err := open(timeout(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		if err := s.Send((*P)(product(name))); err != nil {
			t.Fatal(err)
		}
		got, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if n := PP(got).GetName(); n != strings.ToUpper(name) {
			t.Fatalf("SyncProducts echoed %q, want %q", n, strings.ToUpper(name))
		}
	}
	if err := s.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("after CloseSend, Recv = %v, want io.EOF", err)
	}
}
