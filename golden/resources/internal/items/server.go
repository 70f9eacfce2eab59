package items

import (
	"context"
	"log/slog"

	"google.golang.org/protobuf/types/known/timestamppb"

	shopv1 "example.com/shop/api/proto/shop/v1"
	"example.com/shop/internal/resource"
)

// Server implements shop.v1.ItemsService, from the messages generated
// from api/proto/shop/v1/shop.proto: the gRPC server and, through the
// generated HTTP/JSON bindings, the HTTP routes call it, so each method is
// written once. The rules live in Service, and errors become
// statuses through resource.Status, which the HTTP bindings answer with the
// HTTP status of their code.
type Server struct {
	svc *Service
	log *slog.Logger
}

// Server implements the strict server interface, which embeds no
// Unimplemented fallback: a method added to the .proto fails to compile
// here, naming the method to write, instead of answering UNIMPLEMENTED.
var _ shopv1.StrictItemsServiceServer = (*Server)(nil)

// NewServer returns a Server over svc. log records failures that clients
// only see as internal errors.
func NewServer(svc *Service, log *slog.Logger) *Server {
	return &Server{svc: svc, log: log}
}

// CreateItem stores a new item.
func (s *Server) CreateItem(ctx context.Context, req *shopv1.CreateItemRequest) (*shopv1.Item, error) {
	it, err := s.svc.Create(ctx, NewItem{Name: req.GetName(), Quantity: req.GetQuantity()})
	if err != nil {
		return nil, resource.Status(ctx, s.log, err)
	}
	return toProto(it), nil
}

// GetItem returns one item.
func (s *Server) GetItem(ctx context.Context, req *shopv1.GetItemRequest) (*shopv1.Item, error) {
	it, err := s.svc.Get(ctx, req.GetId())
	if err != nil {
		return nil, resource.Status(ctx, s.log, err)
	}
	return toProto(it), nil
}

// ListItems returns a page of items. The page token is the opaque cursor
// the previous page returned.
func (s *Server) ListItems(ctx context.Context, req *shopv1.ListItemsRequest) (*shopv1.ListItemsResponse, error) {
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
	resp := &shopv1.ListItemsResponse{Items: make([]*shopv1.Item, len(list)), NextPageToken: nextCursor(list, size)}
	for i, it := range list {
		resp.Items[i] = toProto(it)
	}
	return resp, nil
}

// UpdateItem replaces an item's name and quantity.
func (s *Server) UpdateItem(ctx context.Context, req *shopv1.UpdateItemRequest) (*shopv1.Item, error) {
	it, err := s.svc.Update(ctx, req.GetId(), NewItem{Name: req.GetName(), Quantity: req.GetQuantity()})
	if err != nil {
		return nil, resource.Status(ctx, s.log, err)
	}
	return toProto(it), nil
}

// DeleteItem removes one item.
func (s *Server) DeleteItem(ctx context.Context, req *shopv1.DeleteItemRequest) (*shopv1.DeleteItemResponse, error) {
	if err := s.svc.Delete(ctx, req.GetId()); err != nil {
		return nil, resource.Status(ctx, s.log, err)
	}
	return &shopv1.DeleteItemResponse{}, nil
}

func toProto(it Item) *shopv1.Item {
	return &shopv1.Item{
		Id:         it.ID,
		Name:       it.Name,
		Quantity:   it.Quantity,
		CreateTime: timestamppb.New(it.CreatedAt),
	}
}

// MarshalJSON writes it in the JSON mapping of shop.v1.Item, the one the
// generated HTTP bindings use, so the hand-written routes (the cached GET
// and the batch get) answer in the same shape as the generated ones.
func (it Item) MarshalJSON() ([]byte, error) {
	return toProto(it).AppendJSON(nil), nil
}

// UnmarshalJSON reads it from the JSON mapping of shop.v1.Item, so
// a Go client of this package reads what the routes answer.
func (it *Item) UnmarshalJSON(data []byte) error {
	var p shopv1.Item
	if err := p.UnmarshalJSON(data); err != nil {
		return err
	}
	*it = Item{ID: p.GetId(), Name: p.GetName(), Quantity: p.GetQuantity()}
	if p.GetCreateTime() != nil {
		it.CreatedAt = p.GetCreateTime().AsTime()
	}
	return nil
}
