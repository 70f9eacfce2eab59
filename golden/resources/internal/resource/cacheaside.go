package resource

import (
	"context"

	"example.com/shop/internal/cache"
)

// CacheAside reads values through a cache in front of their store: a hit
// costs a map lookup, and concurrent misses on one key share one load
// (the cache's singleflight loader), which runs detached from the caller
// and bounded by the cache's LoadTimeout. Writers call Invalidate after the
// store has changed.
type CacheAside[V any] struct {
	cache *cache.Cache[V]
	load  func(context.Context, string) (V, error)
}

// NewCacheAside returns a CacheAside over c that loads misses with load.
// Make it once, not per read: load is kept as it is, so a method value
// passed here costs one allocation in all rather than one per read.
func NewCacheAside[V any](c *cache.Cache[V], load func(ctx context.Context, key string) (V, error)) *CacheAside[V] {
	return &CacheAside[V]{cache: c, load: load}
}

// Get returns key's value from the cache, loading it on a miss. It is one
// call, so the compiler inlines it and a hit costs what the cache's does.
func (c *CacheAside[V]) Get(ctx context.Context, key string) (V, error) {
	return c.cache.GetOrLoad(ctx, key, c.load)
}

// Invalidate drops key, so the next Get loads it again. Call it after the
// store changed, whatever the write's outcome: a failed write may still
// have happened. A load that read the old value before this point does not
// cache it (see cache.Delete).
func (c *CacheAside[V]) Invalidate(key string) {
	c.cache.Delete(key)
}
