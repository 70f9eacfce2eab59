package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/resource"
)

// MaxPageSize bounds how many orders one List call returns.
const MaxPageSize = 100

// Service applies the orders rules on top of a Store. The gRPC server
// and the HTTP bindings both call it, so they behave alike.
type Service struct {
	store        Store
	now          func() time.Time
	storeTimeout time.Duration
	// reads is nil without a cache.
	reads *resource.CacheAside[*Encoded]
}

// An Option configures a Service.
type Option func(*Service)

// WithStoreTimeout bounds the store calls a request makes by d, so a slow
// or stalled store fails the request with context.DeadlineExceeded instead
// of holding it. A caller's deadline that ends sooner still wins.
func WithStoreTimeout(d time.Duration) Option {
	return func(s *Service) { s.storeTimeout = d }
}

// WithCache puts c in front of the store for reads (cache-aside, see
// resource.CacheAside): Get and GetEncoded read through it, and every
// write (create, update, delete) invalidates the order's entry. c holds
// each order with its JSON encoding, so a hit serves HTTP without
// encoding.
func WithCache(c *cache.Cache[*Encoded]) Option {
	return func(s *Service) { s.reads = resource.NewCacheAside(c, s.loadEncoded) }
}

// NewService returns a Service over store.
func NewService(store Store, opts ...Option) *Service {
	s := &Service{store: store, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Encoded is an order together with its JSON encoding, which the HTTP
// read path writes as it is.
type Encoded = resource.Encoded[*Order]

// newRecord returns the order n describes, with id and the times.
func newRecord(id string, n *NewOrder, created, updated time.Time) *Order {
	rec := &Order{Id: id, CreateTime: timestamppb.New(created), UpdateTime: timestamppb.New(updated)}
	resource.CopyFields(rec, n)
	return rec
}

// nowUTC returns the current time as every store keeps it: UTC, to the
// microsecond.
func (s *Service) nowUTC() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Create validates n and stores it as a new order.
func (s *Service) Create(ctx context.Context, n *NewOrder) (*Order, error) {
	if err := Validate(n); err != nil {
		return nil, err
	}
	now := s.nowUTC()
	rec := newRecord(NewID(), n, now, now)
	ctx, cancel := resource.StoreContext(ctx, s.storeTimeout)
	defer cancel()
	err := s.store.Create(ctx, rec)
	s.invalidate(rec.GetId())
	if err != nil {
		return nil, fmt.Errorf("create order: %w", err)
	}
	return rec, nil
}

// Get returns the order with id.
func (s *Service) Get(ctx context.Context, id string) (*Order, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	if s.reads != nil {
		e, err := s.GetEncoded(ctx, id)
		if err != nil {
			return nil, err
		}
		return e.Value, nil
	}
	ctx, cancel := resource.StoreContext(ctx, s.storeTimeout)
	defer cancel()
	return s.store.Get(ctx, id)
}

// GetEncoded returns the order with id and its JSON encoding. With a
// cache, a hit costs a map lookup and no encoding; concurrent misses on one
// ID share one store read.
func (s *Service) GetEncoded(ctx context.Context, id string) (*Encoded, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	if s.reads != nil {
		e, err := s.reads.Get(ctx, id)
		if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrUnavailable) {
			// The deadline ran out waiting on a load, that is on the
			// store: report it as the store itself does, so clients get
			// 503 (retry) and not a timeout.
			err = fmt.Errorf("get order: %w: %w", ErrUnavailable, err)
		}
		return e, err
	}
	return s.loadEncoded(ctx, id)
}

// loadEncoded reads an order from the store and encodes it, for the cache.
func (s *Service) loadEncoded(ctx context.Context, id string) (*Encoded, error) {
	ctx, cancel := resource.StoreContext(ctx, s.storeTimeout)
	defer cancel()
	rec, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return resource.Encode(rec)
}

// Update validates n and replaces every client-settable field of the
// order with id by n's (a full replacement, as HTTP PUT means).
func (s *Service) Update(ctx context.Context, id string, n *NewOrder) (*Order, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	if err := Validate(n); err != nil {
		return nil, err
	}
	ctx, cancel := resource.StoreContext(ctx, s.storeTimeout)
	defer cancel()
	now := s.nowUTC()
	rec, err := s.store.Update(ctx, id, newRecord(id, n, now, now), now)
	s.invalidate(id)
	if err != nil {
		return nil, fmt.Errorf("update order: %w", err)
	}
	return rec, nil
}

// List returns a page of orders after the ID after ("" for the first
// page); limit is clamped to [1, MaxPageSize].
func (s *Service) List(ctx context.Context, after string, limit int) ([]*Order, error) {
	limit = max(1, min(limit, MaxPageSize))
	ctx, cancel := resource.StoreContext(ctx, s.storeTimeout)
	defer cancel()
	return s.store.List(ctx, after, limit)
}

// Delete removes the order with id.
func (s *Service) Delete(ctx context.Context, id string) error {
	if !ValidID(id) {
		return ErrNotFound
	}
	ctx, cancel := resource.StoreContext(ctx, s.storeTimeout)
	defer cancel()
	err := s.store.Delete(ctx, id)
	s.invalidate(id)
	return err
}

// invalidate drops id's cached order. Every write calls it after the
// store changed, whatever the outcome: a failed write may still have
// happened.
func (s *Service) invalidate(id string) {
	if s.reads != nil {
		s.reads.Invalidate(id)
	}
}

// Ready reports whether the service can serve requests.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ping(ctx) }
