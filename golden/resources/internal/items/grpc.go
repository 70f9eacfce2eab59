package items

import (
	"google.golang.org/grpc"

	shopv1 "example.com/shop/api/proto/shop/v1"
	"example.com/shop/internal/resource"
)

// RegisterGRPC registers s as the shop.v1.ItemsService gRPC service with r.
func (s *Server) RegisterGRPC(r grpc.ServiceRegistrar) {
	shopv1.RegisterStrictItemsServiceServer(r, s)
}

// StreamItems sends every item in ID order. It reads one page at a time, so
// memory stays bounded however many items there are, and it stops as soon
// as the client goes away. It is gRPC only: streams have no HTTP binding.
func (s *Server) StreamItems(_ *shopv1.StreamItemsRequest, stream shopv1.ItemsService_StreamItemsServer) error {
	ctx := stream.Context()
	after := ""
	for {
		list, err := s.svc.List(ctx, after, MaxPageSize)
		if err != nil {
			return resource.Status(ctx, s.log, err)
		}
		for _, it := range list {
			if err := stream.Send(toProto(it)); err != nil {
				return err
			}
		}
		if len(list) < MaxPageSize {
			return nil
		}
		after = list[len(list)-1].ID
	}
}
