package orders

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"

	shopv1 "example.com/shop/api/proto/shop/v1"
	"example.com/shop/internal/resource"
)

// GRPCServer implements shop.v1.OrdersService, from the messages
// generated from api/proto/shop/v1/orders.proto: the gRPC server and,
// through the generated HTTP/JSON bindings, the HTTP routes, so each
// method is written once. The rules live in Service, and errors become
// gRPC status errors through resource.Status, which the HTTP bindings
// answer with the status of their code.
type GRPCServer struct {
	svc *Service
	log *slog.Logger
}

// GRPCServer implements the strict server interface, which embeds no
// Unimplemented fallback: a method added to the .proto fails to compile
// here, naming the method to write, instead of answering UNIMPLEMENTED.
var _ shopv1.StrictOrdersServiceServer = (*GRPCServer)(nil)

// NewGRPCServer returns a GRPCServer over svc. log records failures that
// clients only see as codes.Internal.
func NewGRPCServer(svc *Service, log *slog.Logger) *GRPCServer {
	return &GRPCServer{svc: svc, log: log}
}

// Register registers the service with r.
func (s *GRPCServer) Register(r grpc.ServiceRegistrar) {
	shopv1.RegisterStrictOrdersServiceServer(r, s)
}

// CreateOrder stores a new order.
func (s *GRPCServer) CreateOrder(ctx context.Context, req *shopv1.CreateOrderRequest) (*shopv1.Order, error) {
	rec, err := s.svc.Create(ctx, req)
	if err != nil {
		return nil, resource.Status(ctx, s.log, err)
	}
	return rec, nil
}

// GetOrder returns one order.
func (s *GRPCServer) GetOrder(ctx context.Context, req *shopv1.GetOrderRequest) (*shopv1.Order, error) {
	rec, err := s.svc.Get(ctx, req.GetId())
	if err != nil {
		return nil, resource.Status(ctx, s.log, err)
	}
	return rec, nil
}

// UpdateOrder replaces the client-settable fields of one order:
// the fields of the request but its id, copied by name.
func (s *GRPCServer) UpdateOrder(ctx context.Context, req *shopv1.UpdateOrderRequest) (*shopv1.Order, error) {
	n := &NewOrder{}
	resource.CopyFields(n, req, "id")
	rec, err := s.svc.Update(ctx, req.GetId(), n)
	if err != nil {
		return nil, resource.Status(ctx, s.log, err)
	}
	return rec, nil
}

// ListOrders returns a page of orders. The page token is the opaque
// cursor the previous page returned.
func (s *GRPCServer) ListOrders(ctx context.Context, req *shopv1.ListOrdersRequest) (*shopv1.ListOrdersResponse, error) {
	size, err := resource.PageSize(int(req.GetPageSize()), MaxPageSize)
	if err != nil {
		return nil, resource.Status(ctx, s.log, err)
	}
	after, err := decodeCursor(req.GetPageToken())
	if err != nil {
		return nil, resource.Status(ctx, s.log, err)
	}
	list, err := s.svc.List(ctx, after, size)
	if err != nil {
		return nil, resource.Status(ctx, s.log, err)
	}
	return &shopv1.ListOrdersResponse{Orders: list, NextPageToken: nextCursor(list, size)}, nil
}

// DeleteOrder removes one order.
func (s *GRPCServer) DeleteOrder(ctx context.Context, req *shopv1.DeleteOrderRequest) (*shopv1.DeleteOrderResponse, error) {
	if err := s.svc.Delete(ctx, req.GetId()); err != nil {
		return nil, resource.Status(ctx, s.log, err)
	}
	return &shopv1.DeleteOrderResponse{}, nil
}
