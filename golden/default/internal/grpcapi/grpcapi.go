// Package grpcapi serves the items API over gRPC. It translates between the
// messages generated from api/proto/demo/v1/demo.proto and package items, and
// maps items' errors to gRPC status codes. The rules live in items.Service,
// which the HTTP API shares, so both transports behave alike.
package grpcapi

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	demov1 "example.com/demo/api/proto/demo/v1"
	"example.com/demo/internal/items"
)

// Server implements demo.v1.ItemsService.
type Server struct {
	// Embedded by value, so a method added to the .proto answers
	// Unimplemented until it is written here.
	demov1.UnimplementedItemsServiceServer

	svc *items.Service
	log *slog.Logger
}

// New returns a Server over svc. log records failures that clients only see
// as codes.Internal.
func New(svc *items.Service, log *slog.Logger) *Server {
	return &Server{svc: svc, log: log}
}

// Register registers the service with s.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	demov1.RegisterItemsServiceServer(r, s)
}

// CreateItem stores a new item.
func (s *Server) CreateItem(ctx context.Context, req *demov1.CreateItemRequest) (*demov1.Item, error) {
	it, err := s.svc.Create(ctx, items.NewItem{Name: req.GetName(), Quantity: req.GetQuantity()})
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return toProto(it), nil
}

// GetItem returns one item.
func (s *Server) GetItem(ctx context.Context, req *demov1.GetItemRequest) (*demov1.Item, error) {
	it, err := s.svc.Get(ctx, req.GetId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return toProto(it), nil
}

// ListItems returns a page of items. The page token is the ID of the last
// item of the previous page.
func (s *Server) ListItems(ctx context.Context, req *demov1.ListItemsRequest) (*demov1.ListItemsResponse, error) {
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, status.Error(codes.InvalidArgument, "page_size must not be negative")
	case size == 0 || size > items.MaxPageSize:
		size = items.MaxPageSize
	}
	token := req.GetPageToken()
	if token != "" && !items.ValidID(token) {
		return nil, status.Error(codes.InvalidArgument, "page_token is not one this service returned")
	}
	list, err := s.svc.List(ctx, token, size)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	resp := &demov1.ListItemsResponse{Items: make([]*demov1.Item, len(list))}
	for i, it := range list {
		resp.Items[i] = toProto(it)
	}
	if len(list) == size {
		resp.NextPageToken = list[len(list)-1].ID
	}
	return resp, nil
}

// DeleteItem removes one item.
func (s *Server) DeleteItem(ctx context.Context, req *demov1.DeleteItemRequest) (*demov1.DeleteItemResponse, error) {
	if err := s.svc.Delete(ctx, req.GetId()); err != nil {
		return nil, s.status(ctx, err)
	}
	return &demov1.DeleteItemResponse{}, nil
}

// StreamItems sends every item in ID order. It reads one page at a time, so
// memory stays bounded however many items there are, and it stops as soon
// as the client goes away.
func (s *Server) StreamItems(_ *demov1.StreamItemsRequest, stream demov1.ItemsService_StreamItemsServer) error {
	ctx := stream.Context()
	after := ""
	for {
		list, err := s.svc.List(ctx, after, items.MaxPageSize)
		if err != nil {
			return s.status(ctx, err)
		}
		for _, it := range list {
			if err := stream.Send(toProto(it)); err != nil {
				return err
			}
		}
		if len(list) < items.MaxPageSize {
			return nil
		}
		after = list[len(list)-1].ID
	}
}

// status maps an error from items.Service to a gRPC status. Errors the
// client cannot act on are logged and answered as codes.Internal without
// their text, which may describe the store.
func (s *Server) status(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, items.ErrInvalid):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, items.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, items.ErrUnavailable):
		// Before the deadline case: a deadline spent waiting for the store
		// is the store's outage. UNAVAILABLE tells clients to retry.
		return status.Error(codes.Unavailable, "service temporarily unavailable; retry")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	}
	s.log.ErrorContext(ctx, "items service failed", "err", err)
	return status.Error(codes.Internal, "internal error")
}

func toProto(it items.Item) *demov1.Item {
	return &demov1.Item{
		Id:         it.ID,
		Name:       it.Name,
		Quantity:   it.Quantity,
		CreateTime: timestamppb.New(it.CreatedAt),
	}
}
