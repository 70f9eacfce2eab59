// Package cache is an in-process, sharded LRU cache with expiry.
//
// Keys hash to one of a power-of-two number of shards; each shard is a map
// plus a doubly linked list in recency order under its own mutex, so Get,
// Set and eviction are O(1) and goroutines working on different keys rarely
// wait for each other. A shard keeps its entries in one slice and the list
// links, as int32 indexes, in another: moving an entry to the front writes a
// few bytes of a small array that stays in the core's cache, instead of
// three entries scattered over the heap, and no two shards ever write to
// the same cache line (which entries allocated one by one do, since
// neighbouring allocations belong to random shards). Entries are not
// allocated one by one either: an evicted entry's slot is reused. Recency is kept per shard: with many shards the
// cache evicts approximately, not exactly, the least recently used entry of
// the whole cache, which is the usual price of not having one global lock.
// Within a shard eviction is LRU, with one shortcut: a hit on an entry that
// is already among the most recent quarter of its shard does not move it
// (memcached likewise bumps an item at most once a minute). Such an entry is
// far from eviction either way, and skipping the move saves the writes.
//
// The key's 64-bit seeded hash is computed once and used both to pick the
// shard and as the shard's map key, so a lookup hashes the string once and
// the map compares integers; the entry's key is then checked, and two keys
// that collide simply replace each other, which a cache may always do.
//
// With a TTL, entries are checked against a clock that a background
// goroutine advances every Resolution, not against time.Now on every Get:
// reading the clock is one of the larger costs of a Get on virtual machines.
// Call Close to stop it.
//
// GetOrLoad collapses concurrent misses on one key into a single load
// (singleflight), so an expiring hot key does not stampede the store.
package cache

import (
	"context"
	"errors"
	"hash/maphash"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"
)

// Options configure a Cache. MaxEntries is required.
type Options[V any] struct {
	// MaxEntries bounds the number of entries; the cache never holds more.
	MaxEntries int
	// MaxBytes, when positive, also bounds the sum of Cost over all entries.
	MaxBytes int64
	// Cost returns the size an entry counts against MaxBytes. It is required
	// when MaxBytes is set.
	Cost func(key string, value V) int64
	// TTL is how long an entry stays fresh after it is set; zero keeps
	// entries until they are evicted or deleted.
	TTL time.Duration
	// Resolution is how often the expiry clock advances, so entries may be
	// served up to Resolution past their TTL. Zero picks TTL/64, clamped to
	// [1ms, 1s].
	Resolution time.Duration
	// Shards is the number of shards, rounded up to a power of two. Zero
	// picks 8 x GOMAXPROCS. There are never more shards than MaxEntries.
	Shards int
	// LoadTimeout bounds one GetOrLoad load, which runs detached from the
	// cancellation of the caller that started it; zero means 10s.
	LoadTimeout time.Duration
	// Now, when set, replaces the background clock: every Get reads it.
	// Tests use it to control time.
	Now func() time.Time
}

// Cache is a sharded LRU cache from string keys to values of type V. It is
// safe for concurrent use. Values are shared, not copied: callers must not
// modify a value after Set or after Get returns it.
type Cache[V any] struct {
	shards      []shard[V]
	mask        uint64
	seed        maphash.Seed
	ttl         time.Duration
	cost        func(string, V) int64
	now         func() time.Time
	clock       *clock
	loadTimeout time.Duration
	group       singleflight.Group
	loads       atomic.Int64
}

// entry is one cached value.
type entry[V any] struct {
	key     string
	hash    uint64
	value   V
	expires int64 // unix nanoseconds; 0 never expires
	cost    int64
	stamp   uint64 // the shard's tick when the entry last moved to the front
}

// link is an entry's place in its shard's recency list, as slot indexes.
type link struct{ prev, next int32 }

// shard is one lock's worth of the cache. Slot 0 is the sentinel of a
// circular list: links[0].next is the most recently used entry,
// links[0].prev the least.
type shard[V any] struct {
	mu         sync.Mutex
	index      map[uint64]int32 // key hash -> slot
	entries    []entry[V]       // by slot; entries[0] is unused
	links      []link           // by slot
	free       []int32          // slots emptied by Delete or expiry
	bytes      int64
	maxEntries int
	maxBytes   int64
	// tick counts moves to the front. An entry moved at tick t is at most
	// tick-t places from the front, so an entry whose tick-t is below
	// fresh is in the shard's most recent quarter and a hit need not move
	// it.
	tick, fresh uint64
	// The counters live in the shard, under its lock: they cost an
	// increment inside a critical section the operation holds anyway, and
	// are striped across cores for free.
	hits, misses, evictions uint64
	// epoch counts deletions. A load remembers it before reading the store
	// and does not cache its result if a deletion happened meanwhile, so a
	// slow load cannot put back a value that a write just invalidated.
	epoch uint64
	// The padding keeps the next shard's mutex off this shard's last cache
	// line, so shards do not slow each other through false sharing.
	_ [128]byte
}

// ErrNoCost is returned by New when MaxBytes is set without a Cost function.
var ErrNoCost = errors.New("cache: MaxBytes needs a Cost function to measure entries")

// New returns an empty cache.
func New[V any](o Options[V]) (*Cache[V], error) {
	if o.MaxEntries < 1 {
		return nil, errors.New("cache: MaxEntries must be at least 1")
	}
	if o.MaxBytes > 0 && o.Cost == nil {
		return nil, ErrNoCost
	}
	n := o.Shards
	if n <= 0 {
		n = 8 * runtime.GOMAXPROCS(0)
	}
	shards := 1
	for shards < n {
		shards <<= 1
	}
	// Never more shards than entries: each shard holds at least one, and
	// the per-shard bounds below then add up to exactly MaxEntries.
	for shards > o.MaxEntries {
		shards >>= 1
	}
	c := &Cache[V]{
		shards:      make([]shard[V], shards),
		mask:        uint64(shards - 1), // #nosec G115 -- shards is a power of two, at least 1
		seed:        maphash.MakeSeed(),
		ttl:         o.TTL,
		cost:        o.Cost,
		now:         o.Now,
		loadTimeout: o.LoadTimeout,
	}
	if c.ttl > 0 && c.now == nil {
		res := o.Resolution
		if res <= 0 {
			res = min(max(c.ttl/64, time.Millisecond), time.Second)
		}
		c.clock = startClock(res)
	}
	if c.loadTimeout <= 0 {
		c.loadTimeout = 10 * time.Second
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.maxEntries = o.MaxEntries / shards
		if i < o.MaxEntries%shards {
			s.maxEntries++
		}
		s.fresh = uint64(s.maxEntries / 4) // #nosec G115 -- maxEntries is positive
		s.index = make(map[uint64]int32)
		s.entries = make([]entry[V], 1, min(s.maxEntries+1, 64))
		s.links = make([]link, 1, cap(s.entries))
		if o.MaxBytes > 0 {
			s.maxBytes = max(1, o.MaxBytes/int64(shards))
		}
	}
	return c, nil
}

// Close stops the expiry clock. The cache keeps working, but entries stop
// expiring; call Close when the cache is no longer used.
func (c *Cache[V]) Close() {
	if c.clock != nil {
		c.clock.stop()
	}
}

// lookup hashes key and picks its shard. maphash.String does not allocate
// and is seeded per cache, so clients cannot aim many keys at one shard.
func (c *Cache[V]) lookup(key string) (*shard[V], uint64) {
	h := maphash.String(c.seed, key)
	return &c.shards[h&c.mask], h
}

// nowNanos returns the time expiry is judged by, or 0 when nothing expires.
func (c *Cache[V]) nowNanos() int64 {
	switch {
	case c.ttl <= 0:
		return 0
	case c.now != nil:
		return c.now().UnixNano()
	default:
		return c.clock.now.Load()
	}
}

// find returns the slot of key's entry if it is present and fresh at now,
// or 0, and removes the entry if it has expired. s.mu must be held.
func (s *shard[V]) find(h uint64, key string, now int64) int32 {
	i, ok := s.index[h]
	if !ok || s.entries[i].key != key {
		return 0
	}
	if exp := s.entries[i].expires; exp != 0 && now >= exp {
		s.remove(i)
		return 0
	}
	return i
}

// Get returns the value stored under key if it is present and fresh, and
// marks it most recently used.
func (c *Cache[V]) Get(key string) (V, bool) {
	now := c.nowNanos()
	s, h := c.lookup(key)
	s.mu.Lock()
	i := s.find(h, key, now)
	if i == 0 {
		s.misses++
		s.mu.Unlock()
		var zero V
		return zero, false
	}
	s.hits++
	s.touch(i)
	v := s.entries[i].value
	s.mu.Unlock()
	return v, true
}

// Set stores value under key as the most recently used entry, evicting the
// least recently used entries of its shard while the shard is over a bound.
// A value whose cost alone exceeds the shard's byte bound is not stored.
func (c *Cache[V]) Set(key string, value V) {
	var cost int64
	if c.cost != nil {
		cost = c.cost(key, value)
	}
	var expires int64
	if c.ttl > 0 {
		expires = c.nowNanos() + int64(c.ttl)
	}
	s, h := c.lookup(key)
	s.mu.Lock()
	s.set(h, key, value, cost, expires)
	s.mu.Unlock()
}

// set stores value in s. A key whose hash collides with another key's
// replaces that entry. s.mu must be held.
func (s *shard[V]) set(h uint64, key string, value V, cost, expires int64) {
	i, ok := s.index[h]
	if s.maxBytes > 0 && cost > s.maxBytes {
		// Too big to cache; drop any older value so readers do not see it.
		if ok {
			s.remove(i)
		}
		return
	}
	if ok {
		e := &s.entries[i]
		s.bytes += cost - e.cost
		e.key, e.value, e.cost, e.expires = key, value, cost, expires
		s.moveToFront(i)
	} else {
		if len(s.index) >= s.maxEntries {
			s.remove(s.links[0].prev) // full: evict the least recently used
			s.evictions++
		}
		i = s.newSlot()
		s.entries[i] = entry[V]{key: key, hash: h, value: value, cost: cost, expires: expires}
		s.index[h] = i
		s.bytes += cost
		s.tick++
		s.entries[i].stamp = s.tick
		s.linkFront(i)
	}
	for s.maxBytes > 0 && s.bytes > s.maxBytes && s.links[0].prev != i {
		s.remove(s.links[0].prev)
		s.evictions++
	}
}

// Delete removes key, and keeps any load of key that is already running
// from caching what it read before the delete.
func (c *Cache[V]) Delete(key string) {
	s, h := c.lookup(key)
	s.mu.Lock()
	s.epoch++
	if i, ok := s.index[h]; ok && s.entries[i].key == key {
		s.remove(i)
	}
	s.mu.Unlock()
	// Callers arriving from now on start a fresh load instead of joining
	// one that may have read the old value.
	c.group.Forget(key)
}

// GetOrLoad returns the cached value of key or, on a miss, calls load and
// caches its result. Concurrent misses on one key share a single call to
// load. load runs with the first caller's context values but not its
// cancellation (other callers may still want the result), bounded by
// Options.LoadTimeout; each caller stops waiting when its own ctx ends.
// Errors are returned, not cached.
//
// load receives the key, so callers can pass one long-lived function (a
// method value made once) and a hit allocates nothing.
func (c *Cache[V]) GetOrLoad(ctx context.Context, key string, load func(ctx context.Context, key string) (V, error)) (V, error) {
	if v, ok := c.Get(key); ok {
		return v, nil
	}
	ch := c.group.DoChan(key, func() (any, error) {
		s, h := c.lookup(key)
		s.mu.Lock()
		epoch := s.epoch
		// A flight that finished between our miss and this one starting
		// may have cached the value already.
		if i := s.find(h, key, c.nowNanos()); i != 0 {
			v := s.entries[i].value
			s.mu.Unlock()
			return v, nil
		}
		s.mu.Unlock()

		c.loads.Add(1)
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.loadTimeout)
		defer cancel()
		v, err := load(lctx, key)
		if err != nil {
			return nil, err
		}
		var cost, expires int64
		if c.cost != nil {
			cost = c.cost(key, v)
		}
		if c.ttl > 0 {
			expires = c.nowNanos() + int64(c.ttl)
		}
		s.mu.Lock()
		if s.epoch == epoch {
			s.set(h, key, v, cost, expires)
		}
		s.mu.Unlock()
		return v, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			var zero V
			return zero, r.Err
		}
		return r.Val.(V), nil
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// Len returns the number of entries, expired ones not yet removed included.
func (c *Cache[V]) Len() int { return int(c.Stats().Entries) }

// Bytes returns the summed Cost of all entries.
func (c *Cache[V]) Bytes() int64 { return c.Stats().Bytes }

// Stats is a snapshot of the cache's size and counters.
type Stats struct {
	Entries, Bytes                 int64
	Hits, Misses, Evictions, Loads uint64
}

// Stats sums the shards' counters, locking one shard at a time.
func (c *Cache[V]) Stats() Stats {
	st := Stats{Loads: uint64(c.loads.Load())} // #nosec G115 -- a count, never negative
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		st.Entries += int64(len(s.index))
		st.Bytes += s.bytes
		st.Hits += s.hits
		st.Misses += s.misses
		st.Evictions += s.evictions
		s.mu.Unlock()
	}
	return st
}

// Register adds the cache's metrics to reg, labeled cache=name: hits,
// misses, evictions and loads as counters, entries and bytes as gauges. They
// are read from the shards at scrape time, so the hot path pays nothing.
func (c *Cache[V]) Register(reg prometheus.Registerer, name string) error {
	labels := prometheus.Labels{"cache": name}
	desc := func(metric, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName("", "cache", metric), help, nil, labels)
	}
	return reg.Register(&collector[V]{
		c:         c,
		hits:      desc("hits_total", "Cache lookups that found a fresh entry."),
		misses:    desc("misses_total", "Cache lookups that found nothing or an expired entry."),
		evictions: desc("evictions_total", "Entries evicted to stay within the cache's bounds."),
		loads:     desc("loads_total", "Loads run on a miss; concurrent misses on one key share one load."),
		entries:   desc("entries", "Entries in the cache."),
		bytes:     desc("bytes", "Summed cost of the cache's entries."),
	})
}

// collector reads one Stats snapshot per scrape.
type collector[V any] struct {
	c                                              *Cache[V]
	hits, misses, evictions, loads, entries, bytes *prometheus.Desc
}

func (col *collector[V]) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{col.hits, col.misses, col.evictions, col.loads, col.entries, col.bytes} {
		ch <- d
	}
}

func (col *collector[V]) Collect(ch chan<- prometheus.Metric) {
	st := col.c.Stats()
	ch <- prometheus.MustNewConstMetric(col.hits, prometheus.CounterValue, float64(st.Hits))
	ch <- prometheus.MustNewConstMetric(col.misses, prometheus.CounterValue, float64(st.Misses))
	ch <- prometheus.MustNewConstMetric(col.evictions, prometheus.CounterValue, float64(st.Evictions))
	ch <- prometheus.MustNewConstMetric(col.loads, prometheus.CounterValue, float64(st.Loads))
	ch <- prometheus.MustNewConstMetric(col.entries, prometheus.GaugeValue, float64(st.Entries))
	ch <- prometheus.MustNewConstMetric(col.bytes, prometheus.GaugeValue, float64(st.Bytes))
}

// touch marks slot i used: it moves the entry to the front unless it is
// already in the shard's most recent quarter, where a move would not change
// which entry is evicted next.
func (s *shard[V]) touch(i int32) {
	if s.tick-s.entries[i].stamp < s.fresh {
		return
	}
	s.moveToFront(i)
}

func (s *shard[V]) moveToFront(i int32) {
	s.tick++
	s.entries[i].stamp = s.tick
	if s.links[0].next == i {
		return
	}
	s.unlink(i)
	s.linkFront(i)
}

func (s *shard[V]) linkFront(i int32) {
	first := s.links[0].next
	s.links[i] = link{prev: 0, next: first}
	s.links[first].prev = i
	s.links[0].next = i
}

func (s *shard[V]) unlink(i int32) {
	l := s.links[i]
	s.links[l.prev].next = l.next
	s.links[l.next].prev = l.prev
}

// remove deletes the entry in slot i and frees the slot.
func (s *shard[V]) remove(i int32) {
	s.unlink(i)
	e := &s.entries[i]
	delete(s.index, e.hash)
	s.bytes -= e.cost
	*e = entry[V]{} // drop the key and value for the garbage collector
	s.free = append(s.free, i)
}

// newSlot returns a free slot, growing the slices up to maxEntries+1.
func (s *shard[V]) newSlot() int32 {
	if n := len(s.free); n > 0 {
		i := s.free[n-1]
		s.free = s.free[:n-1]
		return i
	}
	s.entries = append(s.entries, entry[V]{})
	s.links = append(s.links, link{})
	return int32(len(s.entries) - 1) // #nosec G115 -- 2^31 entries in one shard would need hundreds of GiB
}

// clock is a coarse wall clock: an atomic that a goroutine advances every
// resolution, so readers pay an atomic load instead of a clock read.
type clock struct {
	now  atomic.Int64
	done chan struct{}
	once sync.Once
}

func startClock(resolution time.Duration) *clock {
	c := &clock{done: make(chan struct{})}
	c.now.Store(time.Now().UnixNano())
	go func() {
		t := time.NewTicker(resolution)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				c.now.Store(now.UnixNano())
			case <-c.done:
				return
			}
		}
	}()
	return c
}

func (c *clock) stop() { c.once.Do(func() { close(c.done) }) }
