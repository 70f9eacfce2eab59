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
	if err := json.Unmarshal(e.JSON, &decoded); err != nil || decoded != it || e.Value != it {
		t.Fatalf("GetEncoded = %+v (%s), %v; want %+v", e.Value, e.JSON, err, it)
	}
	if e.JSON[len(e.JSON)-1] != '\n' {
		t.Fatal("encoded JSON must end in a newline, as json.Encoder writes it")
	}
}

func newCache(t *testing.T) *cache.Cache[*items.Encoded] {
	t.Helper()
	c, err := cache.New(cache.Options[*items.Encoded]{MaxEntries: 100, TTL: time.Hour})
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

func TestCacheAsideInvalidatesOnUpdate(t *testing.T) {
	ctx := context.Background()
	svc := items.NewService(memory.New(), items.WithCache(newCache(t)))
	it := create(t, svc, "widget")
	if _, err := svc.GetEncoded(ctx, it.ID); err != nil { // cached now
		t.Fatal(err)
	}
	updated, err := svc.Update(ctx, it.ID, items.NewItem{Name: "gadget", Quantity: 7})
	if err != nil {
		t.Fatal(err)
	}
	e, err := svc.GetEncoded(ctx, it.ID)
	if err != nil || e.Value != updated {
		t.Fatalf("GetEncoded after Update = %+v, %v; want %+v: the cache served the old item", e.Value, err, updated)
	}
	var decoded items.Item
	if err := json.Unmarshal(e.JSON, &decoded); err != nil || decoded != updated {
		t.Fatalf("cached JSON after Update is %s, want the updated item", e.JSON)
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

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	svc := items.NewService(memory.New(), items.WithCache(newCache(t)))
	it := create(t, svc, "widget")

	got, err := svc.Update(ctx, it.ID, items.NewItem{Name: "gadget", Quantity: 9})
	want := items.Item{ID: it.ID, Name: "gadget", Quantity: 9, CreatedAt: it.CreatedAt}
	if err != nil || got != want {
		t.Fatalf("Update = %+v, %v; want %+v: name and quantity replaced, ID and creation time kept", got, err, want)
	}
	if got, err := svc.Get(ctx, it.ID); err != nil || got != want {
		t.Fatalf("Get after Update = %+v, %v; want %+v", got, err, want)
	}

	tests := []struct {
		name string
		id   string
		in   items.NewItem
		want error
	}{
		{"missing item", items.NewID(), items.NewItem{Name: "x"}, items.ErrNotFound},
		{"malformed ID", "nope", items.NewItem{Name: "x"}, items.ErrNotFound},
		{"empty name", it.ID, items.NewItem{}, items.ErrInvalid},
		{"negative quantity", it.ID, items.NewItem{Name: "x", Quantity: -1}, items.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := svc.Update(ctx, tt.id, tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("Update err = %v, want %v", err, tt.want)
			}
		})
	}
	if got, err := svc.Get(ctx, it.ID); err != nil || got != want {
		t.Fatalf("a refused Update changed the item: %+v, %v", got, err)
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

// deadlineStore records when each store call came and its deadline (zero
// for none) and, when block is set, holds each call until its context ends,
// like a stalled database.
type deadlineStore struct {
	items.Store
	block bool
	mu    sync.Mutex
	calls []storeCall
}

type storeCall struct{ entered, deadline time.Time }

func (s *deadlineStore) enter(ctx context.Context) error {
	d, _ := ctx.Deadline()
	s.mu.Lock()
	s.calls = append(s.calls, storeCall{entered: time.Now(), deadline: d})
	s.mu.Unlock()
	if s.block {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (s *deadlineStore) Create(ctx context.Context, it items.Item) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	return s.Store.Create(ctx, it)
}

func (s *deadlineStore) Get(ctx context.Context, id string) (items.Item, error) {
	if err := s.enter(ctx); err != nil {
		return items.Item{}, err
	}
	return s.Store.Get(ctx, id)
}

func (s *deadlineStore) List(ctx context.Context, after string, limit int) ([]items.Item, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	return s.Store.List(ctx, after, limit)
}

func (s *deadlineStore) Update(ctx context.Context, id string, in items.NewItem) (items.Item, error) {
	if err := s.enter(ctx); err != nil {
		return items.Item{}, err
	}
	return s.Store.Update(ctx, id, in)
}

func (s *deadlineStore) Delete(ctx context.Context, id string) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	return s.Store.Delete(ctx, id)
}

func TestStoreTimeoutBoundsEveryStoreCall(t *testing.T) {
	const timeout = 20 * time.Millisecond
	calls := map[string]func(context.Context, *items.Service) error{
		"Create": func(ctx context.Context, svc *items.Service) error {
			_, err := svc.Create(ctx, items.NewItem{Name: "widget", Quantity: 1})
			return err
		},
		"Get": func(ctx context.Context, svc *items.Service) error {
			_, err := svc.Get(ctx, items.NewID())
			return err
		},
		"GetEncoded": func(ctx context.Context, svc *items.Service) error {
			_, err := svc.GetEncoded(ctx, items.NewID())
			return err
		},
		"List": func(ctx context.Context, svc *items.Service) error {
			_, err := svc.List(ctx, "", 10)
			return err
		},
		"Update": func(ctx context.Context, svc *items.Service) error {
			_, err := svc.Update(ctx, items.NewID(), items.NewItem{Name: "widget", Quantity: 1})
			return err
		},
		"Delete": func(ctx context.Context, svc *items.Service) error { return svc.Delete(ctx, items.NewID()) },
		"BatchGet": func(ctx context.Context, svc *items.Service) error {
			_, _, err := svc.BatchGet(ctx, []string{items.NewID(), items.NewID()})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			store := &deadlineStore{Store: memory.New(), block: true}
			opts := []items.Option{items.WithStoreTimeout(timeout)}
			// The cache's own LoadTimeout is far longer: a miss's load
			// must still end at the store timeout.
			opts = append(opts, items.WithCache(newCache(t)))
			svc := items.NewService(store, opts...)
			// The caller's own deadline is far later, so a missing store
			// timeout fails the test instead of hanging it.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := call(ctx, svc); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s on a stalled store: err = %v, want context.DeadlineExceeded", name, err)
			}
			store.mu.Lock()
			defer store.mu.Unlock()
			if len(store.calls) == 0 {
				t.Fatalf("%s did not reach the store", name)
			}
			for _, c := range store.calls {
				if c.deadline.IsZero() || c.deadline.After(c.entered.Add(timeout)) {
					t.Fatalf("%s called the store at %v with deadline %v; want one within the %s store timeout", name, c.entered, c.deadline, timeout)
				}
			}
		})
	}
}

func TestStoreTimeoutKeepsACallersSoonerDeadline(t *testing.T) {
	store := &deadlineStore{Store: memory.New()}
	svc := items.NewService(store, items.WithStoreTimeout(time.Hour))

	soon := time.Now().Add(time.Minute)
	ctx, cancel := context.WithDeadline(context.Background(), soon)
	defer cancel()
	if _, err := svc.List(ctx, "", 10); err != nil {
		t.Fatal(err)
	}
	late := time.Now().Add(2 * time.Hour)
	ctx, cancel = context.WithDeadline(context.Background(), late)
	defer cancel()
	if _, err := svc.List(ctx, "", 10); err != nil {
		t.Fatal(err)
	}
	if got := store.calls[0].deadline; !got.Equal(soon) {
		t.Errorf("store deadline under a caller's sooner one = %v, want the caller's %v", got, soon)
	}
	if got := store.calls[1].deadline; got.IsZero() || !got.Before(late) {
		t.Errorf("store deadline under a caller's later one = %v, want the store timeout's, before %v", got, late)
	}
}

func TestBatchLookupsShareOneStoreTimeout(t *testing.T) {
	store := &deadlineStore{Store: memory.New()}
	svc := items.NewService(store, items.WithStoreTimeout(time.Hour), items.WithBatchWorkers(2))
	if _, _, err := svc.BatchGet(context.Background(), []string{items.NewID(), items.NewID(), items.NewID()}); err != nil {
		t.Fatal(err)
	}
	if len(store.calls) != 3 {
		t.Fatalf("the store saw %d lookups, want 3", len(store.calls))
	}
	for _, c := range store.calls {
		if first := store.calls[0].deadline; c.deadline.IsZero() || !c.deadline.Equal(first) {
			t.Fatalf("lookup deadlines %v and %v; want one shared deadline, so the batch ends within the store timeout", first, c.deadline)
		}
	}
}

func TestCacheHitMakesNoContext(t *testing.T) {
	ctx := context.Background()
	svc := items.NewService(memory.New(), items.WithCache(newCache(t)), items.WithStoreTimeout(time.Second))
	it := create(t, svc, "widget")
	if _, err := svc.GetEncoded(ctx, it.ID); err != nil { // loads it into the cache
		t.Fatal(err)
	}
	// A context with a timeout costs allocations and a timer: a hit,
	// which never blocks, must not pay for one.
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := svc.GetEncoded(ctx, it.ID); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a cache hit allocates %v times; want 0", allocs)
	}
}
