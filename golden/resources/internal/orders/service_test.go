package orders_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/orders"
	"example.com/shop/internal/resource"
	"example.com/shop/internal/store/memory"
)

// sample is a valid order; other is another, for updates.
func sample() *orders.NewOrder {
	return &orders.NewOrder{
		Customer:   "alpha",
		TotalCents: 1234567890123,
		Note:       ptr[string]("alpha"),
		PlacedAt:   timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
	}
}

func other() *orders.NewOrder {
	return &orders.NewOrder{
		Customer:   "beta",
		TotalCents: 42,
		Note:       ptr[string]("beta"),
		PlacedAt:   timestamppb.New(time.Date(2027, 6, 7, 8, 9, 10, 123000, time.UTC)),
	}
}

func TestCreateGetUpdateDelete(t *testing.T) {
	svc := orders.NewService(memory.NewOrders())
	ctx := t.Context()

	created, err := svc.Create(ctx, sample())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !orders.ValidID(created.GetId()) || created.GetCreateTime() == nil || !proto.Equal(created.GetUpdateTime(), created.GetCreateTime()) {
		t.Fatalf("Create returned %v, want an ID and equal creation and update times", created)
	}
	checkSame(t, created, sample())
	got, err := svc.Get(ctx, created.GetId())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	checkSame(t, got, sample())

	updated, err := svc.Update(ctx, created.GetId(), other())
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	checkSame(t, updated, other())
	if !proto.Equal(updated.GetCreateTime(), created.GetCreateTime()) || updated.GetUpdateTime().AsTime().Before(created.GetUpdateTime().AsTime()) {
		t.Fatalf("Update times %v, %v; want the creation time kept and a later update time", updated.GetCreateTime(), updated.GetUpdateTime())
	}
	if got, _ = svc.Get(ctx, created.GetId()); !proto.Equal(got, updated) {
		t.Fatalf("Get after Update = %v, want %v", got, updated)
	}

	if err := svc.Delete(ctx, created.GetId()); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for name, err := range map[string]error{
		"Get":                   func() error { _, err := svc.Get(ctx, created.GetId()); return err }(),
		"Update":                func() error { _, err := svc.Update(ctx, created.GetId(), other()); return err }(),
		"Delete":                svc.Delete(ctx, created.GetId()),
		"Get of a malformed ID": func() error { _, err := svc.Get(ctx, "../etc"); return err }(),
	} {
		if !errors.Is(err, orders.ErrNotFound) {
			t.Errorf("%s after Delete: err = %v, want ErrNotFound", name, err)
		}
	}
}

// TestValidation checks every rule, on Create and on Update alike. The
// rules are what any store keeps, so every store answers the same.
func TestValidation(t *testing.T) {
	svc := orders.NewService(memory.NewOrders())
	ctx := t.Context()
	existing, err := svc.Create(ctx, sample())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	cases := map[string]func(*orders.NewOrder){
		"customer empty":           func(n *orders.NewOrder) { n.Customer = "" },
		"customer with a NUL byte": func(n *orders.NewOrder) { n.Customer = "a\x00b" },
		"customer not UTF-8":       func(n *orders.NewOrder) { n.Customer = "\xff" },
		"customer too long":        func(n *orders.NewOrder) { n.Customer = strings.Repeat("é", resource.MaxTextLen+1) },
		"note with a NUL byte":     func(n *orders.NewOrder) { n.Note = ptr("a\x00b") },
		"note not UTF-8":           func(n *orders.NewOrder) { n.Note = ptr("\xff") },
		"note too long":            func(n *orders.NewOrder) { n.Note = ptr(strings.Repeat("é", resource.MaxTextLen+1)) },
		"placed_at missing":        func(n *orders.NewOrder) { n.PlacedAt = nil },
		"placed_at after year 9999": func(n *orders.NewOrder) {
			n.PlacedAt = timestamppb.New(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
		},
	}
	for name, breakRule := range cases {
		t.Run(name, func(t *testing.T) {
			n := sample()
			breakRule(n)
			if _, err := svc.Create(ctx, n); !errors.Is(err, orders.ErrInvalid) {
				t.Errorf("Create: err = %v, want ErrInvalid", err)
			}
			if _, err := svc.Update(ctx, existing.GetId(), n); !errors.Is(err, orders.ErrInvalid) {
				t.Errorf("Update: err = %v, want ErrInvalid", err)
			}
		})
	}

	// Optional fields may be left out, and stay absent.
	n := sample()
	n.Note = nil
	created, err := svc.Create(ctx, n)
	if err != nil {
		t.Fatalf("Create without the optional fields: %v", err)
	}
	checkSame(t, created, n)
}

func TestListPages(t *testing.T) {
	svc := orders.NewService(memory.NewOrders())
	ctx := t.Context()
	for range 5 {
		if _, err := svc.Create(ctx, sample()); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	var seen []string
	for after := ""; ; {
		page, err := svc.List(ctx, after, 2)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		for _, rec := range page {
			seen = append(seen, rec.GetId())
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].GetId()
	}
	if len(seen) != 5 {
		t.Fatalf("paged through %d orders, want 5", len(seen))
	}
	for i := 1; i < len(seen); i++ {
		if seen[i-1] >= seen[i] {
			t.Fatalf("IDs out of order: %v", seen)
		}
	}
}

// TestEveryWriteInvalidatesTheCache reads through a cache and checks that
// an update and a delete are seen at once.
func TestEveryWriteInvalidatesTheCache(t *testing.T) {
	c, err := cache.New(cache.Options[*orders.Encoded]{MaxEntries: 100, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	svc := orders.NewService(memory.NewOrders(), orders.WithCache(c))
	ctx := t.Context()
	created, err := svc.Create(ctx, sample())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := svc.Get(ctx, created.GetId()); err != nil { // cached from here
		t.Fatalf("Get: %v", err)
	}
	if _, err := svc.Update(ctx, created.GetId(), other()); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got, err := svc.Get(ctx, created.GetId())
	if err != nil {
		t.Fatalf("Get after Update: %v", err)
	}
	checkSame(t, got, other())
	if err := svc.Delete(ctx, created.GetId()); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := svc.Get(ctx, created.GetId()); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("Get after Delete: err = %v, want ErrNotFound", err)
	}
}

// checkSame fails t unless got holds exactly the client-settable
// fields of want, besides its ID and times.
func checkSame(t *testing.T, got *orders.Order, want *orders.NewOrder) {
	t.Helper()
	w := &orders.Order{Id: got.GetId(), CreateTime: got.GetCreateTime(), UpdateTime: got.GetUpdateTime()}
	resource.CopyFields(w, want)
	if !proto.Equal(got, w) {
		t.Fatalf("got %v, want the fields of %v", got, want)
	}
}

// ptr returns a pointer to v, for optional fields.
func ptr[T any](v T) *T { return &v }
