package items_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"example.com/shop/internal/items"
	"example.com/shop/internal/store/memory"
)

func TestNewItemValidate(t *testing.T) {
	tests := []struct {
		name string
		in   items.NewItem
		ok   bool
	}{
		{"valid", items.NewItem{Name: "widget", Quantity: 1}, true},
		{"zero quantity", items.NewItem{Name: "widget"}, true},
		{"longest name", items.NewItem{Name: strings.Repeat("é", items.MaxNameLen)}, true},
		{"empty name", items.NewItem{Quantity: 1}, false},
		{"name too long", items.NewItem{Name: strings.Repeat("a", items.MaxNameLen+1)}, false},
		{"invalid UTF-8", items.NewItem{Name: "\xff"}, false},
		{"NUL character", items.NewItem{Name: "a\x00b", Quantity: 1}, false},
		{"negative quantity", items.NewItem{Name: "widget", Quantity: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, items.ErrInvalid) {
				t.Fatalf("Validate() = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestNewIDIsValidAndUnique(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		id := items.NewID()
		if !items.ValidID(id) {
			t.Fatalf("NewID() = %q, not a valid ID", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "xyz", strings.Repeat("g", 32), strings.Repeat("a", 31)} {
		if items.ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestServiceLifecycle(t *testing.T) {
	ctx := context.Background()
	svc := items.NewService(memory.New())
	created, err := svc.Create(ctx, items.NewItem{Name: "widget", Quantity: 2})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if created.CreatedAt.IsZero() || created.CreatedAt.Location().String() != "UTC" {
		t.Fatalf("CreatedAt = %v, want a UTC time", created.CreatedAt)
	}
	got, err := svc.Get(ctx, created.ID)
	if err != nil || got != created {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, created)
	}
	if _, err := svc.Create(ctx, items.NewItem{}); !errors.Is(err, items.ErrInvalid) {
		t.Fatalf("Create(invalid) err = %v, want ErrInvalid", err)
	}
	if _, err := svc.Get(ctx, "not-an-id"); !errors.Is(err, items.ErrNotFound) {
		t.Fatalf("Get(malformed) err = %v, want ErrNotFound", err)
	}
	page, err := svc.List(ctx, "", 0)
	if err != nil || len(page) != 1 {
		t.Fatalf("List(limit 0) = %v, %v; want the one item (limit clamps to 1)", page, err)
	}
	if err := svc.Delete(ctx, created.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := svc.Get(ctx, created.ID); !errors.Is(err, items.ErrNotFound) {
		t.Fatalf("Get after Delete err = %v, want ErrNotFound", err)
	}
}
