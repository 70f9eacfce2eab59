package items

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"example.com/minimal/internal/resource"
)

// MaxPageSize bounds how many items one List call returns.
const MaxPageSize = 100

// MaxBatch bounds how many IDs one BatchGet looks up.
const MaxBatch = 100

// Service applies the items rules on top of a Store. HTTP and gRPC handlers
// both call it, so they behave alike.
type Service struct {
	store        Store
	now          func() time.Time
	batchWorkers int
	storeTimeout time.Duration
}

// An Option configures a Service.
type Option func(*Service)

// WithBatchWorkers bounds the concurrent store lookups of one BatchGet; the
// default is 8.
func WithBatchWorkers(n int) Option {
	return func(s *Service) { s.batchWorkers = max(1, n) }
}

// WithStoreTimeout bounds the store calls a request makes by d, so a slow
// or stalled store fails the request with context.DeadlineExceeded instead
// of holding it. The bound sits where a request can block, and only there:
// a cache hit makes no context and no timer. A caller's deadline that ends
// sooner still wins. Without this option, store calls are bounded only by
// the caller's context.
func WithStoreTimeout(d time.Duration) Option {
	return func(s *Service) { s.storeTimeout = d }
}

// NewService returns a Service over store.
func NewService(store Store, opts ...Option) *Service {
	s := &Service{store: store, now: time.Now, batchWorkers: 8}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Encoded is an item together with its JSON encoding, which the HTTP read
// path writes as it is.
type Encoded = resource.Encoded[Item]

// Create validates n and stores it as a new item.
func (s *Service) Create(ctx context.Context, n NewItem) (Item, error) {
	if err := n.Validate(); err != nil {
		return Item{}, err
	}
	it := Item{ID: NewID(), Name: n.Name, Quantity: n.Quantity, CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	ctx, cancel := resource.StoreContext(ctx, s.storeTimeout)
	defer cancel()
	err := s.store.Create(ctx, it)
	if err != nil {
		return Item{}, fmt.Errorf("create item: %w", err)
	}
	return it, nil
}

// Get returns the item with id.
func (s *Service) Get(ctx context.Context, id string) (Item, error) {
	if !ValidID(id) {
		return Item{}, ErrNotFound
	}
	ctx, cancel := resource.StoreContext(ctx, s.storeTimeout)
	defer cancel()
	return s.store.Get(ctx, id)
}

// GetEncoded returns the item with id and its JSON encoding.
func (s *Service) GetEncoded(ctx context.Context, id string) (*Encoded, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	return s.loadEncoded(ctx, id)
}

// loadEncoded reads an item from the store and encodes it.
func (s *Service) loadEncoded(ctx context.Context, id string) (*Encoded, error) {
	ctx, cancel := resource.StoreContext(ctx, s.storeTimeout)
	defer cancel()
	it, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return resource.Encode(it)
}

// BatchGet looks up to MaxBatch items at once, at most batchWorkers
// concurrently (a bounded errgroup), and returns the ones found in the order
// asked and the IDs not found. An error other than not-found cancels the
// remaining lookups and is returned.
//
// The lookups share one store timeout, so a batch ends within it like any
// other request, however many rounds of lookups it takes.
func (s *Service) BatchGet(ctx context.Context, ids []string) (found []Item, missing []string, err error) {
	if len(ids) > MaxBatch {
		return nil, nil, fmt.Errorf("%w: at most %d IDs per batch, got %d", ErrInvalid, MaxBatch, len(ids))
	}
	ctx, cancel := resource.StoreContext(ctx, s.storeTimeout)
	defer cancel()
	results := make([]Item, len(ids))
	ok := make([]bool, len(ids))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(s.batchWorkers)
	for i, id := range ids {
		g.Go(func() error {
			it, err := s.Get(ctx, id)
			switch {
			case errors.Is(err, ErrNotFound):
				return nil
			case err != nil:
				return err
			}
			results[i], ok[i] = it, true
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, fmt.Errorf("batch get: %w", err)
	}
	found = make([]Item, 0, len(ids))
	for i, id := range ids {
		if ok[i] {
			found = append(found, results[i])
		} else {
			missing = append(missing, id)
		}
	}
	return found, missing, nil
}

// List returns a page of items after the ID after ("" for the first page);
// limit is clamped to [1, MaxPageSize].
func (s *Service) List(ctx context.Context, after string, limit int) ([]Item, error) {
	limit = max(1, min(limit, MaxPageSize))
	ctx, cancel := resource.StoreContext(ctx, s.storeTimeout)
	defer cancel()
	return s.store.List(ctx, after, limit)
}

// Update validates in and replaces the name and quantity of the item with
// id by its, keeping the ID and creation time: a full replacement of what
// a client sets, as PUT means.
func (s *Service) Update(ctx context.Context, id string, in NewItem) (Item, error) {
	if !ValidID(id) {
		return Item{}, ErrNotFound
	}
	if err := in.Validate(); err != nil {
		return Item{}, err
	}
	ctx, cancel := resource.StoreContext(ctx, s.storeTimeout)
	defer cancel()
	return s.store.Update(ctx, id, in)
}

// Delete removes the item with id.
func (s *Service) Delete(ctx context.Context, id string) error {
	if !ValidID(id) {
		return ErrNotFound
	}
	ctx, cancel := resource.StoreContext(ctx, s.storeTimeout)
	defer cancel()
	return s.store.Delete(ctx, id)
}

// Ready reports whether the service can serve requests.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ping(ctx) }
