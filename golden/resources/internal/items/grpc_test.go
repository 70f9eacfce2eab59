package items_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	shopv1 "example.com/shop/api/proto/shop/v1"
	"example.com/shop/internal/items"
	"example.com/shop/internal/store/memory"
)

// blockingStore makes Get wait for its context to end, so a test can run a
// call into its deadline.
type blockingStore struct {
	*memory.Store
}

func (blockingStore) Get(ctx context.Context, _ string) (items.Item, error) {
	<-ctx.Done()
	return items.Item{}, ctx.Err()
}

// dial serves the API over store on a loopback port and returns a client.
func dial(t *testing.T, store items.Store) shopv1.ItemsServiceClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	items.NewServer(items.NewService(store), slog.New(slog.NewTextHandler(io.Discard, nil))).RegisterGRPC(srv)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return shopv1.NewItemsServiceClient(cc)
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("got %v (%v), want code %v", got, err, want)
	}
}

func TestUpdateOverGRPC(t *testing.T) {
	c := dial(t, memory.New())
	ctx := t.Context()
	created, err := c.CreateItem(ctx, &shopv1.CreateItemRequest{Name: "widget", Quantity: 3})
	if err != nil {
		t.Fatalf("CreateItem: %v", err)
	}
	updated, err := c.UpdateItem(ctx, &shopv1.UpdateItemRequest{Id: created.GetId(), Name: "gadget", Quantity: 5})
	if err != nil {
		t.Fatalf("UpdateItem: %v", err)
	}
	if updated.GetId() != created.GetId() || updated.GetName() != "gadget" || updated.GetQuantity() != 5 ||
		!updated.GetCreateTime().AsTime().Equal(created.GetCreateTime().AsTime()) {
		t.Fatalf("UpdateItem returned %v; want %s renamed gadget, quantity 5, same create_time", updated, created.GetId())
	}
	got, err := c.GetItem(ctx, &shopv1.GetItemRequest{Id: created.GetId()})
	if err != nil || got.GetName() != "gadget" || got.GetQuantity() != 5 {
		t.Fatalf("GetItem after UpdateItem = %v, %v", got, err)
	}

	_, err = c.UpdateItem(ctx, &shopv1.UpdateItemRequest{Id: items.NewID(), Name: "x"})
	wantCode(t, err, codes.NotFound)
	_, err = c.UpdateItem(ctx, &shopv1.UpdateItemRequest{Id: created.GetId(), Name: ""})
	wantCode(t, err, codes.InvalidArgument)
}

func TestCreateGetDelete(t *testing.T) {
	c := dial(t, memory.New())
	ctx := t.Context()

	created, err := c.CreateItem(ctx, &shopv1.CreateItemRequest{Name: "widget", Quantity: 3})
	if err != nil {
		t.Fatalf("CreateItem: %v", err)
	}
	if !items.ValidID(created.GetId()) || created.GetName() != "widget" || created.GetQuantity() != 3 {
		t.Fatalf("CreateItem returned %v", created)
	}
	if created.GetCreateTime().AsTime().IsZero() {
		t.Fatal("CreateItem returned no create_time")
	}

	got, err := c.GetItem(ctx, &shopv1.GetItemRequest{Id: created.GetId()})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if got.GetName() != "widget" || !got.GetCreateTime().AsTime().Equal(created.GetCreateTime().AsTime()) {
		t.Fatalf("GetItem = %v, want %v", got, created)
	}

	if _, err := c.DeleteItem(ctx, &shopv1.DeleteItemRequest{Id: created.GetId()}); err != nil {
		t.Fatalf("DeleteItem: %v", err)
	}
	_, err = c.GetItem(ctx, &shopv1.GetItemRequest{Id: created.GetId()})
	wantCode(t, err, codes.NotFound)
	_, err = c.DeleteItem(ctx, &shopv1.DeleteItemRequest{Id: created.GetId()})
	wantCode(t, err, codes.NotFound)
}

func TestInvalidRequests(t *testing.T) {
	c := dial(t, memory.New())
	ctx := t.Context()
	for name, call := range map[string]func() error{
		"empty name": func() error {
			_, err := c.CreateItem(ctx, &shopv1.CreateItemRequest{Quantity: 1})
			return err
		},
		"negative quantity": func() error {
			_, err := c.CreateItem(ctx, &shopv1.CreateItemRequest{Name: "x", Quantity: -1})
			return err
		},
		"name too long": func() error {
			_, err := c.CreateItem(ctx, &shopv1.CreateItemRequest{Name: strings.Repeat("x", items.MaxNameLen+1)})
			return err
		},
		"negative page size": func() error {
			_, err := c.ListItems(ctx, &shopv1.ListItemsRequest{PageSize: -1})
			return err
		},
		"foreign page token": func() error {
			_, err := c.ListItems(ctx, &shopv1.ListItemsRequest{PageToken: "not-a-token"})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) { wantCode(t, call(), codes.InvalidArgument) })
	}
	// A malformed ID names no item.
	_, err := c.GetItem(ctx, &shopv1.GetItemRequest{Id: "../etc"})
	wantCode(t, err, codes.NotFound)
}

// create stores n items and returns their IDs in ID order.
func createOverGRPC(t *testing.T, c shopv1.ItemsServiceClient, n int) map[string]bool {
	t.Helper()
	ids := make(map[string]bool, n)
	for range n {
		it, err := c.CreateItem(t.Context(), &shopv1.CreateItemRequest{Name: "item"})
		if err != nil {
			t.Fatalf("CreateItem: %v", err)
		}
		ids[it.GetId()] = true
	}
	return ids
}

func TestListPagesThroughEveryItemOnce(t *testing.T) {
	c := dial(t, memory.New())
	want := createOverGRPC(t, c, 7)
	seen := map[string]bool{}
	req := &shopv1.ListItemsRequest{PageSize: 3}
	pages := 0
	for {
		resp, err := c.ListItems(t.Context(), req)
		if err != nil {
			t.Fatalf("ListItems: %v", err)
		}
		pages++
		for _, it := range resp.GetItems() {
			if seen[it.GetId()] {
				t.Fatalf("item %s listed twice", it.GetId())
			}
			seen[it.GetId()] = true
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if len(seen) != len(want) || pages != 3 {
		t.Fatalf("listed %d items in %d pages, want %d in 3", len(seen), pages, len(want))
	}
}

func TestStreamItemsSendsEveryItemAcrossStorePages(t *testing.T) {
	c := dial(t, memory.New())
	// More than one store page, and not a multiple of it.
	want := createOverGRPC(t, c, 2*items.MaxPageSize+5)
	stream, err := c.StreamItems(t.Context(), &shopv1.StreamItemsRequest{})
	if err != nil {
		t.Fatalf("StreamItems: %v", err)
	}
	var last string
	n := 0
	for {
		it, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if !want[it.GetId()] || it.GetId() <= last {
			t.Fatalf("item %s is unknown or out of order after %s", it.GetId(), last)
		}
		last = it.GetId()
		n++
	}
	if n != len(want) {
		t.Fatalf("streamed %d items, want %d", n, len(want))
	}
}

func TestDeadlineExceeded(t *testing.T) {
	c := dial(t, blockingStore{memory.New()})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.GetItem(ctx, &shopv1.GetItemRequest{Id: items.NewID()})
	wantCode(t, err, codes.DeadlineExceeded)
}
