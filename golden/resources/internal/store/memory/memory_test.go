package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"example.com/shop/internal/items"
)

func TestCRUD(t *testing.T) {
	ctx := context.Background()
	s := New()
	it := items.Item{ID: items.NewID(), Name: "widget", Quantity: 3}
	if err := s.Create(ctx, it); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := s.Create(ctx, it); err == nil {
		t.Fatal("Create with a used ID succeeded")
	}
	got, err := s.Get(ctx, it.ID)
	if err != nil || got != it {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, it)
	}
	want := items.Item{ID: it.ID, Name: "gadget", Quantity: 5, CreatedAt: it.CreatedAt}
	if got, err := s.Update(ctx, it.ID, items.NewItem{Name: "gadget", Quantity: 5}); err != nil || got != want {
		t.Fatalf("Update = %+v, %v; want %+v", got, err, want)
	}
	if got, err := s.Get(ctx, it.ID); err != nil || got != want {
		t.Fatalf("Get after Update = %+v, %v; want %+v", got, err, want)
	}
	if _, err := s.Update(ctx, items.NewID(), items.NewItem{Name: "x"}); !errors.Is(err, items.ErrNotFound) {
		t.Fatalf("Update of a missing item: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, it.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx, it.ID); !errors.Is(err, items.ErrNotFound) {
		t.Fatalf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, it.ID); !errors.Is(err, items.ErrNotFound) {
		t.Fatalf("second Delete: err = %v, want ErrNotFound", err)
	}
}

func TestListPagesInIDOrder(t *testing.T) {
	ctx := context.Background()
	s := New()
	for _, id := range []string{"c", "a", "e", "b", "d"} {
		if err := s.Create(ctx, items.Item{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	after := ""
	for {
		page, err := s.List(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, it := range page {
			seen = append(seen, it.ID)
		}
		after = page[len(page)-1].ID
	}
	if fmt.Sprint(seen) != "[a b c d e]" {
		t.Fatalf("pages = %v, want [a b c d e]", seen)
	}
	if page, _ := s.List(ctx, "bb", 10); len(page) != 3 || page[0].ID != "c" {
		t.Fatalf("List after a missing ID = %v, want c, d, e", page)
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	s := New()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				id := fmt.Sprintf("%02d-%03d", w, i)
				if err := s.Create(ctx, items.Item{ID: id}); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Get(ctx, id); err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					if err := s.Delete(ctx, id); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	page, err := s.List(ctx, "", 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 8*100 {
		t.Fatalf("%d items left, want %d", len(page), 8*100)
	}
}
