package resource

import (
	"fmt"
	"slices"
	"sync"
)

// A TableCache caches the rows of one table by key, as cache.Cache does.
type TableCache interface {
	// Delete drops key.
	Delete(key string)
	// Clear drops every key.
	Clear()
	// Suspend drops every key and passes reads through to the store until
	// Resume.
	Suspend()
	// Resume ends a Suspend; the cache starts empty.
	Resume()
}

// Caches holds every resource's cache by the table it caches, so that a
// change to a table, made by any replica or by hand, reaches the cache of
// every replica: the Postgres store's listener hears the table's trigger
// (see internal/store/postgres/listen.go) and calls Invalidate, and suspends
// the caches while it cannot hear.
//
// A resource adds its cache once, in its Register function:
//
//	set.Caches.Add("items", c)
type Caches struct {
	mu        sync.RWMutex
	tables    map[string]TableCache
	suspended bool
}

// NewCaches returns an empty registry whose caches are trusted.
func NewCaches() *Caches { return &Caches{tables: map[string]TableCache{}} }

// Add registers c as the cache of table's rows, keyed as the table's id
// column. A cache added while the caches are suspended is suspended too.
func (cs *Caches) Add(table string, c TableCache) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, ok := cs.tables[table]; ok {
		return fmt.Errorf("table %s already has a cache; register each table once", table)
	}
	if cs.suspended {
		c.Suspend()
	}
	cs.tables[table] = c
	return nil
}

// Tables returns the tables that have a cache, sorted.
func (cs *Caches) Tables() []string {
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	tables := make([]string, 0, len(cs.tables))
	for t := range cs.tables {
		tables = append(tables, t)
	}
	slices.Sort(tables)
	return tables
}

// Invalidate drops key from table's cache and reports whether table has
// one.
func (cs *Caches) Invalidate(table, key string) bool {
	cs.mu.RLock()
	c, ok := cs.tables[table]
	cs.mu.RUnlock()
	if ok {
		c.Delete(key)
	}
	return ok
}

// Clear drops every key from table's cache and reports whether table has
// one.
func (cs *Caches) Clear(table string) bool {
	cs.mu.RLock()
	c, ok := cs.tables[table]
	cs.mu.RUnlock()
	if ok {
		c.Clear()
	}
	return ok
}

// Suspend suspends every cache: they drop what they hold and reads go to
// the store until Resume.
func (cs *Caches) Suspend() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.suspended = true
	for _, c := range cs.tables {
		c.Suspend()
	}
}

// Resume resumes every cache; each starts empty.
func (cs *Caches) Resume() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.suspended = false
	for _, c := range cs.tables {
		c.Resume()
	}
}

// Suspended reports whether the caches are suspended.
func (cs *Caches) Suspended() bool {
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	return cs.suspended
}
