package items

import (
	"context"
	"fmt"
	"time"
)

// MaxPageSize bounds how many items one List call returns.
const MaxPageSize = 100

// Service applies the items rules on top of a Store. HTTP and gRPC handlers
// both call it, so they behave alike.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service over store.
func NewService(store Store) *Service {
	return &Service{store: store, now: time.Now}
}

// Create validates n and stores it as a new item.
func (s *Service) Create(ctx context.Context, n NewItem) (Item, error) {
	if err := n.Validate(); err != nil {
		return Item{}, err
	}
	it := Item{ID: NewID(), Name: n.Name, Quantity: n.Quantity, CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	if err := s.store.Create(ctx, it); err != nil {
		return Item{}, fmt.Errorf("create item: %w", err)
	}
	return it, nil
}

// Get returns the item with id.
func (s *Service) Get(ctx context.Context, id string) (Item, error) {
	if !ValidID(id) {
		return Item{}, ErrNotFound
	}
	return s.store.Get(ctx, id)
}

// List returns a page of items after the ID after; limit is clamped to
// [1, MaxPageSize].
func (s *Service) List(ctx context.Context, after string, limit int) ([]Item, error) {
	limit = max(1, min(limit, MaxPageSize))
	return s.store.List(ctx, after, limit)
}

// Delete removes the item with id.
func (s *Service) Delete(ctx context.Context, id string) error {
	if !ValidID(id) {
		return ErrNotFound
	}
	return s.store.Delete(ctx, id)
}

// Ready reports whether the service can serve requests.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ping(ctx) }
