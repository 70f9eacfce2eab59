package orders

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

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
	var n NewOrder
	var err error
	n.Customer = req.GetCustomer()
	n.TotalCents = req.GetTotalCents()
	n.Note = req.Note
	if n.PlacedAt, err = timeOf("placed_at", req.GetPlacedAt()); err != nil {
		return nil, resource.Status(ctx, s.log, err)
	}
	rec, err := s.svc.Create(ctx, n)
	if err != nil {
		return nil, resource.Status(ctx, s.log, err)
	}
	return toProto(rec), nil
}

// GetOrder returns one order.
func (s *GRPCServer) GetOrder(ctx context.Context, req *shopv1.GetOrderRequest) (*shopv1.Order, error) {
	rec, err := s.svc.Get(ctx, req.GetId())
	if err != nil {
		return nil, resource.Status(ctx, s.log, err)
	}
	return toProto(rec), nil
}

// UpdateOrder replaces the client-settable fields of one order.
func (s *GRPCServer) UpdateOrder(ctx context.Context, req *shopv1.UpdateOrderRequest) (*shopv1.Order, error) {
	var n NewOrder
	var err error
	n.Customer = req.GetCustomer()
	n.TotalCents = req.GetTotalCents()
	n.Note = req.Note
	if n.PlacedAt, err = timeOf("placed_at", req.GetPlacedAt()); err != nil {
		return nil, resource.Status(ctx, s.log, err)
	}
	rec, err := s.svc.Update(ctx, req.GetId(), n)
	if err != nil {
		return nil, resource.Status(ctx, s.log, err)
	}
	return toProto(rec), nil
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
	resp := &shopv1.ListOrdersResponse{Orders: make([]*shopv1.Order, len(list)), NextPageToken: nextCursor(list, size)}
	for i, rec := range list {
		resp.Orders[i] = toProto(rec)
	}
	return resp, nil
}

// DeleteOrder removes one order.
func (s *GRPCServer) DeleteOrder(ctx context.Context, req *shopv1.DeleteOrderRequest) (*shopv1.DeleteOrderResponse, error) {
	if err := s.svc.Delete(ctx, req.GetId()); err != nil {
		return nil, resource.Status(ctx, s.log, err)
	}
	return &shopv1.DeleteOrderResponse{}, nil
}

// timeOf returns the time ts holds, the zero time for none (which
// Validate refuses for a required field), or an invalid-argument error
// naming field for a Timestamp out of its range.
func timeOf(field string, ts *timestamppb.Timestamp) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, fmt.Errorf("%w: %s: %w", ErrInvalid, field, err)
	}
	return ts.AsTime(), nil
}

func toProto(rec Order) *shopv1.Order {
	m := &shopv1.Order{
		Id:         rec.ID,
		Customer:   rec.Customer,
		TotalCents: rec.TotalCents,
		Note:       rec.Note,
		PlacedAt:   timestamppb.New(rec.PlacedAt),
		CreateTime: timestamppb.New(rec.CreatedAt),
		UpdateTime: timestamppb.New(rec.UpdatedAt),
	}
	return m
}

// MarshalJSON writes rec in the JSON mapping of shop.v1.Order, the one
// the generated HTTP bindings use, so the cached GET answers in the same
// shape as the generated routes.
func (rec Order) MarshalJSON() ([]byte, error) {
	return toProto(rec).AppendJSON(nil), nil
}

// UnmarshalJSON reads rec from the JSON mapping of shop.v1.Order, so
// a Go client of this package reads what the routes answer.
func (rec *Order) UnmarshalJSON(data []byte) error {
	var m shopv1.Order
	if err := m.UnmarshalJSON(data); err != nil {
		return err
	}
	*rec = Order{
		ID:         m.GetId(),
		Customer:   m.GetCustomer(),
		TotalCents: m.GetTotalCents(),
		Note:       m.Note,
		CreatedAt:  m.GetCreateTime().AsTime(),
		UpdatedAt:  m.GetUpdateTime().AsTime(),
	}
	if m.GetPlacedAt() != nil {
		rec.PlacedAt = m.GetPlacedAt().AsTime()
	}
	return nil
}
