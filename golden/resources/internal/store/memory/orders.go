package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"example.com/shop/internal/orders"
)

// Orders is an in-memory orders.Store: a map guarded by a read-write
// lock, with the IDs kept sorted so List pages in order without sorting on
// every call. Its contents are lost when the process exits.
type Orders struct {
	mu   sync.RWMutex
	recs map[string]orders.Order
	ids  []string // sorted
}

// NewOrders returns an empty Orders store.
func NewOrders() *Orders {
	return &Orders{recs: make(map[string]orders.Order)}
}

// Create implements orders.Store.
func (s *Orders) Create(_ context.Context, rec orders.Order) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.recs[rec.ID]; ok {
		return fmt.Errorf("order %s already exists", rec.ID)
	}
	s.recs[rec.ID] = rec
	i, _ := slices.BinarySearch(s.ids, rec.ID)
	s.ids = slices.Insert(s.ids, i, rec.ID)
	return nil
}

// Get implements orders.Store.
func (s *Orders) Get(_ context.Context, id string) (orders.Order, error) {
	s.mu.RLock()
	rec, ok := s.recs[id]
	s.mu.RUnlock()
	if !ok {
		return orders.Order{}, orders.ErrNotFound
	}
	return rec, nil
}

// Update implements orders.Store.
func (s *Orders) Update(_ context.Context, id string, n orders.NewOrder, now time.Time) (orders.Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.recs[id]
	if !ok {
		return orders.Order{}, orders.ErrNotFound
	}
	rec = n.Replace(rec)
	rec.UpdatedAt = now
	s.recs[id] = rec
	return rec, nil
}

// List implements orders.Store.
func (s *Orders) List(_ context.Context, after string, limit int) ([]orders.Order, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	start, found := slices.BinarySearch(s.ids, after)
	if found {
		start++
	}
	end := min(start+limit, len(s.ids))
	out := make([]orders.Order, 0, end-start)
	for _, id := range s.ids[start:end] {
		out = append(out, s.recs[id])
	}
	return out, nil
}

// Delete implements orders.Store.
func (s *Orders) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.recs[id]; !ok {
		return orders.ErrNotFound
	}
	delete(s.recs, id)
	i, _ := slices.BinarySearch(s.ids, id)
	s.ids = slices.Delete(s.ids, i, i+1)
	return nil
}

// Ping implements orders.Store; memory is always available.
func (s *Orders) Ping(context.Context) error { return nil }
