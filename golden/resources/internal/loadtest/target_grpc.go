package loadtest

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	shopv1 "example.com/shop/api/proto/shop/v1"
)

// grpcTarget speaks to the gRPC API through the generated client.
type grpcTarget struct {
	conns   []*grpc.ClientConn
	clients []shopv1.ItemsServiceClient
}

// newGRPCTarget opens conns client connections to addr. Each ClientConn
// keeps its own HTTP/2 connection, so the count is honored.
func newGRPCTarget(addr string, conns int) (*grpcTarget, error) {
	t := &grpcTarget{}
	for range conns {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			_ = t.Close()
			return nil, fmt.Errorf("grpc client for %s: %w", addr, err)
		}
		t.conns = append(t.conns, cc)
		t.clients = append(t.clients, shopv1.NewItemsServiceClient(cc))
	}
	return t, nil
}

func (t *grpcTarget) client(lane int) shopv1.ItemsServiceClient {
	return t.clients[lane%len(t.clients)]
}

func (t *grpcTarget) Create(ctx context.Context, lane int) (string, error) {
	it, err := t.client(lane).CreateItem(ctx, &shopv1.CreateItemRequest{Name: "loadtest", Quantity: 1})
	if err != nil {
		return "", grpcError(err)
	}
	return it.GetId(), nil
}

func (t *grpcTarget) Get(ctx context.Context, lane int, id string) error {
	_, err := t.client(lane).GetItem(ctx, &shopv1.GetItemRequest{Id: id})
	return grpcError(err)
}

func (t *grpcTarget) Close() error {
	errs := make([]error, 0, len(t.conns))
	for _, cc := range t.conns {
		errs = append(errs, cc.Close())
	}
	return errors.Join(errs...)
}

// grpcError maps a failed call's status to an error kind: deadlines and
// cancellations as the context errors they are, so the run's cut-off and
// timeouts are told apart, and every other code as "grpc <Code>".
func grpcError(err error) error {
	st, ok := status.FromError(err)
	switch {
	case err == nil:
		return nil
	case !ok:
		return err
	case st.Code() == codes.DeadlineExceeded:
		return fmt.Errorf("%w: %s", context.DeadlineExceeded, st.Message())
	case st.Code() == codes.Canceled:
		return fmt.Errorf("%w: %s", context.Canceled, st.Message())
	default:
		return &StatusError{Kind: "grpc " + st.Code().String()}
	}
}
