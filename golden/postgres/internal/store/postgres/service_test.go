package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"example.com/orders/internal/cache"
	"example.com/orders/internal/items"
)

// TestServiceReadsItsWrites checks, through the items Service and any
// cache it keeps, that no read started after a successful write returns
// what the write replaced: a deleted item is gone at once, even while other
// readers keep it hot. (IDs are chosen by Create, so no read can miss an
// item before it exists.)
func TestServiceReadsItsWrites(t *testing.T) {
	ctx := context.Background()
	s, _, _ := migratedStore(t)
	var opts []items.Option
	c, err := cache.New(cache.Options[*items.Encoded]{MaxEntries: 1000, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	opts = append(opts, items.WithCache(c))
	svc := items.NewService(s, opts...)

	for round := range 20 {
		it, err := svc.Create(ctx, items.NewItem{Name: "hot", Quantity: int64(round)})
		if err != nil {
			t.Fatal(err)
		}
		// Readers keep the item hot, filling any cache, until it is deleted.
		stop := make(chan struct{})
		var readers sync.WaitGroup
		for range 4 {
			readers.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := svc.Get(ctx, it.ID); err != nil && !errors.Is(err, items.ErrNotFound) {
						t.Error(err)
						return
					}
				}
			})
		}
		if got, err := svc.Get(ctx, it.ID); err != nil || got != it {
			t.Fatalf("round %d: Get after Create = %+v, %v; want %+v", round, got, err, it)
		}
		if err := svc.Delete(ctx, it.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Get(ctx, it.ID); !errors.Is(err, items.ErrNotFound) {
			t.Fatalf("round %d: Get after a successful Delete: err = %v, want ErrNotFound (stale read)", round, err)
		}
		close(stop)
		readers.Wait()
		if _, err := svc.Get(ctx, it.ID); !errors.Is(err, items.ErrNotFound) {
			t.Fatalf("round %d: Get once the readers stopped: err = %v, want ErrNotFound", round, err)
		}
	}
}
