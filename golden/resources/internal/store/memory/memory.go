// Package memory is an in-memory items.Store: the default store, which needs
// nothing else running. Its contents are lost when the process exits, and
// each process has its own: it is a store for one replica, a demo or a
// test. Several replicas would each serve different items, and a cache in
// one would never hear of another's writes; use the Postgres store for them.
package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"example.com/shop/internal/items"
)

// Store is a map guarded by a read-write lock, with the IDs kept sorted so
// List pages in order without sorting on every call.
type Store struct {
	mu    sync.RWMutex
	items map[string]items.Item
	ids   []string // sorted
}

// New returns an empty Store.
func New() *Store {
	return &Store{items: make(map[string]items.Item)}
}

// Create implements items.Store.
func (s *Store) Create(_ context.Context, it items.Item) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.items[it.ID]; ok {
		return fmt.Errorf("item %s already exists", it.ID)
	}
	s.items[it.ID] = it
	i, _ := slices.BinarySearch(s.ids, it.ID)
	s.ids = slices.Insert(s.ids, i, it.ID)
	return nil
}

// Get implements items.Store.
func (s *Store) Get(_ context.Context, id string) (items.Item, error) {
	s.mu.RLock()
	it, ok := s.items[id]
	s.mu.RUnlock()
	if !ok {
		return items.Item{}, items.ErrNotFound
	}
	return it, nil
}

// List implements items.Store.
func (s *Store) List(_ context.Context, after string, limit int) ([]items.Item, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	start, found := slices.BinarySearch(s.ids, after)
	if found {
		start++
	}
	end := min(start+limit, len(s.ids))
	out := make([]items.Item, 0, end-start)
	for _, id := range s.ids[start:end] {
		out = append(out, s.items[id])
	}
	return out, nil
}

// Update implements items.Store.
func (s *Store) Update(_ context.Context, id string, in items.NewItem) (items.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[id]
	if !ok {
		return items.Item{}, items.ErrNotFound
	}
	it.Name, it.Quantity = in.Name, in.Quantity
	s.items[id] = it
	return it, nil
}

// Delete implements items.Store.
func (s *Store) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.items[id]; !ok {
		return items.ErrNotFound
	}
	delete(s.items, id)
	i, _ := slices.BinarySearch(s.ids, id)
	s.ids = slices.Delete(s.ids, i, i+1)
	return nil
}

// Ping implements items.Store; memory is always available.
func (s *Store) Ping(context.Context) error { return nil }
