package memory

import (
	"errors"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"example.com/shop/internal/orders"
	"example.com/shop/internal/resource"
)

// TestOrdersStore holds the in-memory store to the orders.Store contract:
// what is created reads back whole, an update replaces the fields and the
// update time only, pages come in ID order, and a missing order is
// ErrNotFound.
func TestOrdersStore(t *testing.T) {
	s := NewOrders()
	ctx := t.Context()
	now := time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC)
	record := func(n *orders.NewOrder) *orders.Order {
		rec := &orders.Order{Id: orders.NewID(), CreateTime: timestamppb.New(now), UpdateTime: timestamppb.New(now)}
		resource.CopyFields(rec, n)
		return rec
	}

	want := &orders.NewOrder{
		Customer:   "alpha",
		TotalCents: 1234567890123,
		Note:       ptrOrder[string]("alpha"),
		PlacedAt:   timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
	}
	rec := record(want)
	if err := s.Create(ctx, rec); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := s.Create(ctx, rec); err == nil {
		t.Fatal("Create of an existing ID succeeded")
	}
	got, err := s.Get(ctx, rec.GetId())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !proto.Equal(got, rec) {
		t.Fatalf("Get = %v, want %v", got, rec)
	}

	other := &orders.NewOrder{
		Customer:   "beta",
		TotalCents: 42,
		Note:       ptrOrder[string]("beta"),
		PlacedAt:   timestamppb.New(time.Date(2027, 6, 7, 8, 9, 10, 123000, time.UTC)),
	}
	later := now.Add(time.Hour)
	updated, err := s.Update(ctx, rec.GetId(), record(other), later)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	checkSameOrder(t, updated, other)
	if got, err = s.Get(ctx, rec.GetId()); err != nil {
		t.Fatalf("Get: %v", err)
	}
	checkSameOrder(t, got, other)
	if got.GetId() != rec.GetId() || !got.GetCreateTime().AsTime().Equal(now) || !got.GetUpdateTime().AsTime().Equal(later) {
		t.Fatalf("after Update, Get = %v; want ID %s, created at %v, updated at %v", got, rec.GetId(), now, later)
	}

	// An update without the optional fields stores their absence.
	cleared := proto.CloneOf(other)
	cleared.Note = nil
	if _, err := s.Update(ctx, rec.GetId(), record(cleared), later); err != nil {
		t.Fatalf("Update clearing the optional fields: %v", err)
	}
	if got, err = s.Get(ctx, rec.GetId()); err != nil {
		t.Fatalf("Get: %v", err)
	}
	checkSameOrder(t, got, cleared)
	if _, err := s.Update(ctx, orders.NewID(), record(other), later); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("Update of a missing order: err = %v, want ErrNotFound", err)
	}

	ids := []string{rec.GetId()}
	for range 4 {
		r := record(want)
		if err := s.Create(ctx, r); err != nil {
			t.Fatalf("Create: %v", err)
		}
		ids = append(ids, r.GetId())
	}
	slices.Sort(ids)
	var paged []string
	for after := ""; ; {
		page, err := s.List(ctx, after, 2)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		for _, r := range page {
			paged = append(paged, r.GetId())
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].GetId()
	}
	if !slices.Equal(paged, ids) {
		t.Fatalf("pages of 2 listed %v, want %v in ID order", paged, ids)
	}

	if err := s.Delete(ctx, rec.GetId()); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx, rec.GetId()); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, rec.GetId()); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("second Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// checkSameOrder fails t unless got holds exactly the client-settable
// fields of want, besides its ID and times.
func checkSameOrder(t *testing.T, got *orders.Order, want *orders.NewOrder) {
	t.Helper()
	w := &orders.Order{Id: got.GetId(), CreateTime: got.GetCreateTime(), UpdateTime: got.GetUpdateTime()}
	resource.CopyFields(w, want)
	if !proto.Equal(got, w) {
		t.Fatalf("got %v, want the fields of %v", got, want)
	}
}

// ptrOrder returns a pointer to v, for optional fields.
func ptrOrder[T any](v T) *T { return &v }
