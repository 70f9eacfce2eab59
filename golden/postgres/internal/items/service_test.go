package items_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/orders/internal/cache"
	"example.com/orders/internal/items"
	"example.com/orders/internal/store/memory"
)

// countingStore counts reads of the real store and tracks how many run at
// once; gate, when set, holds every read until it is closed.
type countingStore struct {
	items.Store
	gets, inFlight, peak atomic.Int64
	gate                 chan struct{}
}

func (s *countingStore) Get(ctx context.Context, id string) (items.Item, error) {
	s.gets.Add(1)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	if s.gate != nil {
		<-s.gate
	}
	return s.Store.Get(ctx, id)
}

func create(t *testing.T, svc *items.Service, name string) items.Item {
	t.Helper()
	it, err := svc.Create(context.Background(), items.NewItem{Name: name, Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func TestGetEncodedIsTheItemsJSON(t *testing.T) {
	svc := items.NewService(memory.New())
	it := create(t, svc, "widget")
	e, err := svc.GetEncoded(context.Background(), it.ID)
	if err != nil {
		t.Fatal(err)
	}
	var decoded items.Item
	if err := json.Unmarshal(e.JSON, &decoded); err != nil || decoded != it || e.Item != it {
		t.Fatalf("GetEncoded = %+v (%s), %v; want %+v", e.Item, e.JSON, err, it)
	}
	if e.JSON[len(e.JSON)-1] != '\n' {
		t.Fatal("encoded JSON must end in a newline, as json.Encoder writes it")
	}
}

func newCache(t *testing.T) *cache.Cache[items.Encoded] {
	t.Helper()
	c, err := cache.New(cache.Options[items.Encoded]{MaxEntries: 100, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestCacheAsideReadsThroughAndInvalidatesOnDelete(t *testing.T) {
	ctx := context.Background()
	store := &countingStore{Store: memory.New()}
	svc := items.NewService(store, items.WithCache(newCache(t)))
	it := create(t, svc, "widget")

	for range 5 {
		got, err := svc.Get(ctx, it.ID)
		if err != nil || got != it {
			t.Fatalf("Get = %+v, %v; want %+v", got, err, it)
		}
	}
	if n := store.gets.Load(); n != 1 {
		t.Fatalf("store read %d times for 5 gets, want 1: the cache should serve the rest", n)
	}
	if err := svc.Delete(ctx, it.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Get(ctx, it.ID); !errors.Is(err, items.ErrNotFound) {
		t.Fatalf("Get after Delete err = %v, want ErrNotFound: the cache served a deleted item", err)
	}
}

func TestConcurrentMissesReadTheStoreOnce(t *testing.T) {
	store := &countingStore{Store: memory.New()}
	svc := items.NewService(store, items.WithCache(newCache(t)))
	it := create(t, svc, "widget")
	store.gate = make(chan struct{}) // from now on, reads wait for the test

	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := svc.GetEncoded(context.Background(), it.ID); err != nil {
				t.Error(err)
			}
		})
	}
	for store.inFlight.Load() == 0 {
		time.Sleep(time.Millisecond) // wait for the one load to start
	}
	close(store.gate)
	wg.Wait()
	if n := store.gets.Load(); n != 1 {
		t.Fatalf("10 concurrent gets of one uncached item read the store %d times, want 1", n)
	}
}

func TestBatchGet(t *testing.T) {
	ctx := context.Background()
	store := &countingStore{Store: memory.New()}
	svc := items.NewService(store, items.WithBatchWorkers(3), items.WithCache(newCache(t)))
	var ids []string
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		ids = append(ids, create(t, svc, name).ID)
	}
	absent := items.NewID()
	ask := append([]string{absent}, ids...)

	found, missing, err := svc.BatchGet(ctx, ask)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 || missing[0] != absent {
		t.Fatalf("missing = %v, want [%s]", missing, absent)
	}
	if len(found) != len(ids) {
		t.Fatalf("found %d items, want %d", len(found), len(ids))
	}
	for i, it := range found {
		if it.ID != ids[i] {
			t.Fatalf("found[%d] = %s, want %s: results must keep the order asked", i, it.ID, ids[i])
		}
	}
	if p := store.peak.Load(); p > 3 {
		t.Fatalf("%d store reads ran at once with 3 batch workers", p)
	}

	tooMany := make([]string, items.MaxBatch+1)
	if _, _, err := svc.BatchGet(ctx, tooMany); !errors.Is(err, items.ErrInvalid) {
		t.Fatalf("BatchGet(%d IDs) err = %v, want ErrInvalid", len(tooMany), err)
	}
}

// failingStore fails reads of one ID, as a store with a broken row would.
type failingStore struct {
	items.Store
	bad string
}

var errBroken = errors.New("row is unreadable")

func (s failingStore) Get(ctx context.Context, id string) (items.Item, error) {
	if id == s.bad {
		return items.Item{}, errBroken
	}
	return s.Store.Get(ctx, id)
}

func TestBatchGetReturnsStoreErrors(t *testing.T) {
	bad := items.NewID()
	svc := items.NewService(failingStore{Store: memory.New(), bad: bad})
	_, _, err := svc.BatchGet(context.Background(), []string{items.NewID(), bad, items.NewID()})
	if !errors.Is(err, errBroken) {
		t.Fatalf("BatchGet err = %v, want the store's error", err)
	}
}
