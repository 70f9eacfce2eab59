package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"example.com/shop/internal/orders"
)

// Orders is an in-memory orders.Store: a map guarded by a read-write
// lock, with the IDs kept sorted so List pages in order without sorting on
// every call. It keeps its own copy of every order and hands out
// copies, so no caller can change what it holds. Its contents are lost
// when the process exits.
type Orders struct {
	mu   sync.RWMutex
	recs map[string]*orders.Order
	ids  []string // sorted
}

// NewOrders returns an empty Orders store.
func NewOrders() *Orders {
	return &Orders{recs: make(map[string]*orders.Order)}
}

// Create implements orders.Store.
func (s *Orders) Create(_ context.Context, rec *orders.Order) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := rec.GetId()
	if _, ok := s.recs[id]; ok {
		return fmt.Errorf("order %s already exists", id)
	}
	s.recs[id] = proto.CloneOf(rec)
	i, _ := slices.BinarySearch(s.ids, id)
	s.ids = slices.Insert(s.ids, i, id)
	return nil
}

// Get implements orders.Store.
func (s *Orders) Get(_ context.Context, id string) (*orders.Order, error) {
	s.mu.RLock()
	rec, ok := s.recs[id]
	s.mu.RUnlock()
	if !ok {
		return nil, orders.ErrNotFound
	}
	return proto.CloneOf(rec), nil
}

// Update implements orders.Store.
func (s *Orders) Update(_ context.Context, id string, rec *orders.Order, now time.Time) (*orders.Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.recs[id]
	if !ok {
		return nil, orders.ErrNotFound
	}
	updated := proto.CloneOf(rec)
	updated.Id, updated.CreateTime, updated.UpdateTime = id, old.GetCreateTime(), timestamppb.New(now)
	s.recs[id] = updated
	return proto.CloneOf(updated), nil
}

// List implements orders.Store.
func (s *Orders) List(_ context.Context, after string, limit int) ([]*orders.Order, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	start, found := slices.BinarySearch(s.ids, after)
	if found {
		start++
	}
	end := min(start+limit, len(s.ids))
	out := make([]*orders.Order, 0, end-start)
	for _, id := range s.ids[start:end] {
		out = append(out, proto.CloneOf(s.recs[id]))
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
