package memory

import (
	"errors"
	"slices"
	"testing"
	"time"

	"example.com/shop/internal/orders"
)

// TestOrdersStore holds the in-memory store to the orders.Store contract:
// what is created reads back whole, an update replaces the client-settable
// fields and the update time only, pages come in ID order, and a missing
// order is ErrNotFound.
func TestOrdersStore(t *testing.T) {
	s := NewOrders()
	ctx := t.Context()
	now := time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC)

	want := orders.NewOrder{
		Customer:   "alpha",
		TotalCents: 1234567890123,
		Note:       ptrOrder[string]("alpha"),
		PlacedAt:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	rec := want.Replace(orders.Order{ID: orders.NewID(), CreatedAt: now, UpdatedAt: now})
	if err := s.Create(ctx, rec); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := s.Create(ctx, rec); err == nil {
		t.Fatal("Create of an existing ID succeeded")
	}
	got, err := s.Get(ctx, rec.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	checkSameOrder(t, got, want)
	if got.ID != rec.ID || !got.CreatedAt.Equal(now) || !got.UpdatedAt.Equal(now) {
		t.Fatalf("Get = %+v, want ID %s created and updated at %v", got, rec.ID, now)
	}

	other := orders.NewOrder{
		Customer:   "beta",
		TotalCents: 42,
		Note:       ptrOrder[string]("beta"),
		PlacedAt:   time.Date(2027, 6, 7, 8, 9, 10, 123000, time.UTC),
	}
	later := now.Add(time.Hour)
	updated, err := s.Update(ctx, rec.ID, other, later)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	checkSameOrder(t, updated, other)
	if got, _ = s.Get(ctx, rec.ID); !got.CreatedAt.Equal(now) || !got.UpdatedAt.Equal(later) {
		t.Fatalf("after Update, times are %v and %v, want %v and %v", got.CreatedAt, got.UpdatedAt, now, later)
	}
	checkSameOrder(t, got, other)

	// An update without the optional fields stores their absence.
	cleared := other
	cleared.Note = nil
	if _, err := s.Update(ctx, rec.ID, cleared, later); err != nil {
		t.Fatalf("Update clearing the optional fields: %v", err)
	}
	if got, err = s.Get(ctx, rec.ID); err != nil {
		t.Fatalf("Get: %v", err)
	}
	checkSameOrder(t, got, cleared)
	if _, err := s.Update(ctx, orders.NewID(), other, later); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("Update of a missing order: err = %v, want ErrNotFound", err)
	}

	ids := []string{rec.ID}
	for range 4 {
		r := want.Replace(orders.Order{ID: orders.NewID(), CreatedAt: now, UpdatedAt: now})
		if err := s.Create(ctx, r); err != nil {
			t.Fatalf("Create: %v", err)
		}
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	var paged []string
	for after := ""; ; {
		page, err := s.List(ctx, after, 2)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		for _, r := range page {
			paged = append(paged, r.ID)
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].ID
	}
	if !slices.Equal(paged, ids) {
		t.Fatalf("pages of 2 listed %v, want %v in ID order", paged, ids)
	}

	if err := s.Delete(ctx, rec.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx, rec.ID); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, rec.ID); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("second Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// checkSameOrder fails t unless got holds the client-settable fields of want.
func checkSameOrder(t *testing.T, got orders.Order, want orders.NewOrder) {
	t.Helper()
	if got.Customer != want.Customer {
		t.Errorf("customer = %v, want %v", got.Customer, want.Customer)
	}
	if got.TotalCents != want.TotalCents {
		t.Errorf("total_cents = %v, want %v", got.TotalCents, want.TotalCents)
	}
	if (got.Note == nil) != (want.Note == nil) || (got.Note != nil && *got.Note != *want.Note) {
		t.Errorf("note = %v, want %v", got.Note, want.Note)
	}
	if !got.PlacedAt.Equal(want.PlacedAt) {
		t.Errorf("placed_at = %v, want %v", got.PlacedAt, want.PlacedAt)
	}
}

// ptrOrder returns a pointer to v, for optional fields.
func ptrOrder[T any](v T) *T { return &v }
