package cache

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func mustNew[V any](t testing.TB, o Options[V]) *Cache[V] {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// fakeClock is a clock tests move by hand, so expiry needs no sleeping.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func TestGetRefreshesRecency(t *testing.T) {
	c := mustNew(t, Options[int]{MaxEntries: 3, Shards: 1})
	c.Set("a", 1)
	c.Set("b", 2)
	c.Set("c", 3)
	if _, ok := c.Get("a"); !ok { // a is now the most recently used
		t.Fatal("a missing before any eviction")
	}
	c.Set("d", 4) // evicts b, the least recently used

	for key, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if _, ok := c.Get(key); ok != want {
			t.Errorf("after a get of a and a set of d: Get(%q) present = %v, want %v", key, ok, want)
		}
	}
	if got := c.Stats().Evictions; got != 1 {
		t.Errorf("evictions = %d, want 1", got)
	}
}

func TestEvictionFollowsRecencyOrder(t *testing.T) {
	c := mustNew(t, Options[int]{MaxEntries: 4, Shards: 1})
	for i := range 4 {
		c.Set(strconv.Itoa(i), i)
	}
	// Touch in the order 2, 0, 3, 1: eviction must follow it exactly.
	for _, k := range []string{"2", "0", "3", "1"} {
		c.Get(k)
	}
	for i, want := range []string{"2", "0", "3", "1"} {
		c.Set("new"+strconv.Itoa(i), 0)
		if _, ok := c.Get(want); ok {
			t.Fatalf("set #%d: %q should have been evicted as least recently used", i, want)
		}
	}
}

// TestHotKeySurvivesAStreamOfColdKeys checks the recent-quarter shortcut:
// a key read between every insert of a new key must never be evicted, in a
// shard large enough that its hits mostly do not move it.
func TestHotKeySurvivesAStreamOfColdKeys(t *testing.T) {
	c := mustNew(t, Options[int]{MaxEntries: 100, Shards: 1})
	c.Set("hot", 1)
	for i := range 10_000 {
		c.Set("cold"+strconv.Itoa(i), i)
		if _, ok := c.Get("hot"); !ok {
			t.Fatalf("hot key evicted after %d cold inserts", i+1)
		}
	}
	// And a key read once, then never again, ages out like any other.
	if _, ok := c.Get("cold0"); ok {
		t.Fatal("a cold key outlived 10,000 newer ones in a 100-entry cache")
	}
}

// TestMatchesAReferenceLRU drives one small shard (where every hit moves
// the entry) and a plain slice-based LRU with the same random operations;
// they must agree on every lookup, so slot reuse after evictions, deletes and
// overwrites never corrupts the order.
func TestMatchesAReferenceLRU(t *testing.T) {
	const capacity = 3
	c := mustNew(t, Options[int]{MaxEntries: capacity, Shards: 1})
	var ref []string // most recent first
	refIndex := func(k string) int {
		for i, r := range ref {
			if r == k {
				return i
			}
		}
		return -1
	}
	refTouch := func(k string) {
		if i := refIndex(k); i >= 0 {
			ref = append(ref[:i], ref[i+1:]...)
		}
		ref = append([]string{k}, ref...)
		if len(ref) > capacity {
			ref = ref[:capacity]
		}
	}
	values := map[string]int{}
	r := rand.New(rand.NewPCG(7, 7))
	for op := range 20_000 {
		k := strconv.Itoa(r.IntN(6))
		switch r.IntN(4) {
		case 0:
			c.Delete(k)
			if i := refIndex(k); i >= 0 {
				ref = append(ref[:i], ref[i+1:]...)
			}
		case 1:
			c.Set(k, op)
			values[k] = op
			refTouch(k)
		default:
			v, ok := c.Get(k)
			want := refIndex(k) >= 0
			if ok != want || (ok && v != values[k]) {
				t.Fatalf("op %d: Get(%s) = %d, %v; reference LRU %v has it: %v (value %d)", op, k, v, ok, ref, want, values[k])
			}
			if ok {
				refTouch(k)
			}
		}
		if c.Len() != len(ref) {
			t.Fatalf("op %d: Len() = %d, reference holds %d", op, c.Len(), len(ref))
		}
	}
}

func TestSetOverwritesWithoutGrowing(t *testing.T) {
	c := mustNew(t, Options[int]{MaxEntries: 2, Shards: 1})
	for i := range 10 {
		c.Set("k", i)
	}
	c.Set("other", 0)
	if v, ok := c.Get("k"); !ok || v != 9 {
		t.Fatalf("Get(k) = %d, %v; want 9, true", v, ok)
	}
	if n := c.Len(); n != 2 {
		t.Fatalf("Len() = %d, want 2: overwriting a key must not add entries", n)
	}
}

func TestCapacityNeverExceeded(t *testing.T) {
	for _, tc := range []struct{ entries, shards int }{{1, 0}, {7, 4}, {100, 16}, {1000, 0}, {3, 64}} {
		t.Run(fmt.Sprintf("entries=%d/shards=%d", tc.entries, tc.shards), func(t *testing.T) {
			c := mustNew(t, Options[int]{MaxEntries: tc.entries, Shards: tc.shards})
			for i := range tc.entries * 20 {
				c.Set(strconv.Itoa(i), i)
				if n := c.Len(); n > tc.entries {
					t.Fatalf("after %d sets Len() = %d, bound is %d", i+1, n, tc.entries)
				}
			}
			// The per-shard bounds add up to exactly MaxEntries, and random
			// keys fill every shard, so the whole budget is usable.
			if n := c.Len(); n < tc.entries*9/10 {
				t.Fatalf("Len() = %d after filling; the cache should use its %d entries", n, tc.entries)
			}
		})
	}
}

func TestByteBound(t *testing.T) {
	c := mustNew(t, Options[[]byte]{
		MaxEntries: 100, MaxBytes: 100, Shards: 1,
		Cost: func(_ string, v []byte) int64 { return int64(len(v)) },
	})
	for i := range 50 {
		c.Set(strconv.Itoa(i), make([]byte, 30))
		if b := c.Bytes(); b > 100 {
			t.Fatalf("Bytes() = %d after %d sets, bound is 100", b, i+1)
		}
	}
	if n := c.Len(); n != 3 {
		t.Fatalf("Len() = %d, want 3 entries of 30 bytes under a 100-byte bound", n)
	}
	c.Set("huge", make([]byte, 101))
	if _, ok := c.Get("huge"); ok {
		t.Fatal("a value larger than the whole byte bound was cached")
	}
	if _, err := New(Options[int]{MaxEntries: 1, MaxBytes: 1}); !errors.Is(err, ErrNoCost) {
		t.Fatalf("New with MaxBytes and no Cost: err = %v, want ErrNoCost", err)
	}
}

func TestTTLExpiry(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	c := mustNew(t, Options[string]{MaxEntries: 10, TTL: time.Minute, Now: clock.Now})
	c.Set("k", "v")

	clock.Advance(time.Minute - time.Nanosecond)
	if _, ok := c.Get("k"); !ok {
		t.Fatal("entry expired before its TTL")
	}
	clock.Advance(time.Nanosecond)
	if _, ok := c.Get("k"); ok {
		t.Fatal("entry still served at its TTL")
	}
	if n := c.Len(); n != 0 {
		t.Fatalf("Len() = %d: an expired entry found by Get must be removed", n)
	}

	c.Set("k", "v1")
	clock.Advance(30 * time.Second)
	c.Set("k", "v2") // a set restarts the TTL
	clock.Advance(45 * time.Second)
	if v, ok := c.Get("k"); !ok || v != "v2" {
		t.Fatalf("Get(k) = %q, %v; want v2, true 45s after it was set", v, ok)
	}
}

func TestDelete(t *testing.T) {
	c := mustNew(t, Options[int]{MaxEntries: 10})
	c.Set("k", 1)
	c.Delete("k")
	c.Delete("absent")
	if _, ok := c.Get("k"); ok {
		t.Fatal("deleted key still present")
	}
}

// TestHashCollisionReplaces forces two keys onto one hash, as a 64-bit
// collision would: the later key replaces the earlier, and neither is ever
// served for the other.
func TestHashCollisionReplaces(t *testing.T) {
	c := mustNew(t, Options[string]{MaxEntries: 4, Shards: 1})
	s, h := c.lookup("a")
	s.mu.Lock()
	s.set(h, "a", "A", 0, 0)
	s.set(h, "b", "B", 0, 0) // "b" pretends to hash like "a"
	aSlot, bSlot := s.find(h, "a", 0), s.find(h, "b", 0)
	var bValue string
	if bSlot != 0 {
		bValue = s.entries[bSlot].value
	}
	s.mu.Unlock()
	if aSlot != 0 {
		t.Fatal(`"a" still found after a colliding key replaced it`)
	}
	if bSlot == 0 || bValue != "B" {
		t.Fatalf(`colliding key "b" not stored: slot %d, value %q`, bSlot, bValue)
	}
	if v, ok := c.Get("a"); ok {
		t.Fatalf("Get(a) = %q: served another key's value", v)
	}
	if n := c.Len(); n != 1 {
		t.Fatalf("Len() = %d, want 1", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := mustNew(t, Options[int]{MaxEntries: 64, TTL: time.Hour})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 5000 {
				k := strconv.Itoa(r.IntN(200))
				switch r.IntN(10) {
				case 0:
					c.Delete(k)
				case 1, 2:
					c.Set(k, len(k))
				default:
					if v, ok := c.Get(k); ok && v != len(k) {
						t.Errorf("Get(%q) = %d, want %d", k, v, len(k))
					}
				}
			}
		})
	}
	wg.Wait()
	if n := c.Len(); n > 64 {
		t.Fatalf("Len() = %d, bound is 64", n)
	}
}

func TestGetOrLoadCollapsesConcurrentMisses(t *testing.T) {
	c := mustNew(t, Options[string]{MaxEntries: 10})
	var calls atomic.Int32
	release := make(chan struct{})
	load := func(context.Context, string) (string, error) {
		calls.Add(1)
		<-release
		return "v", nil
	}
	const callers = 20
	var started, wg sync.WaitGroup
	started.Add(callers)
	results := make([]string, callers)
	for i := range callers {
		wg.Go(func() {
			started.Done()
			v, err := c.GetOrLoad(context.Background(), "k", load)
			if err != nil {
				t.Error(err)
			}
			results[i] = v
		})
	}
	started.Wait()
	// Every caller is running; the load is blocked, so callers that get
	// this far either joined the flight or will find the cached value.
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("load ran %d times for %d concurrent misses, want 1", n, callers)
	}
	for i, v := range results {
		if v != "v" {
			t.Fatalf("caller %d got %q, want v", i, v)
		}
	}
	if got := c.Stats().Loads; got != 1 {
		t.Fatalf("loads metric = %d, want 1", got)
	}
}

func TestGetOrLoadErrorsAreNotCached(t *testing.T) {
	c := mustNew(t, Options[int]{MaxEntries: 10})
	boom := errors.New("boom")
	if _, err := c.GetOrLoad(context.Background(), "k", func(context.Context, string) (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	v, err := c.GetOrLoad(context.Background(), "k", func(context.Context, string) (int, error) { return 7, nil })
	if err != nil || v != 7 {
		t.Fatalf("GetOrLoad after an error = %d, %v; want 7, nil", v, err)
	}
	if v, ok := c.Get("k"); !ok || v != 7 {
		t.Fatalf("Get after a successful load = %d, %v; want 7, true", v, ok)
	}
	// Each GetOrLoad miss counts once, not once per internal lookup.
	if st := c.Stats(); st.Misses != 2 || st.Hits != 1 || st.Loads != 2 {
		t.Fatalf("Stats() = %+v; want 2 misses, 1 hit, 2 loads", st)
	}
}

// TestDeleteDuringLoadDoesNotCacheStaleValue: a load that read the store
// before a delete must not put the old value back after it.
func TestDeleteDuringLoadDoesNotCacheStaleValue(t *testing.T) {
	c := mustNew(t, Options[string]{MaxEntries: 10})
	loading, finish := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		v, err := c.GetOrLoad(context.Background(), "k", func(context.Context, string) (string, error) {
			close(loading)
			<-finish
			return "stale", nil
		})
		if err != nil || v != "stale" {
			t.Errorf("first load = %q, %v", v, err)
		}
	}()
	<-loading
	c.Delete("k")
	close(finish)
	<-done
	if v, ok := c.Get("k"); ok {
		t.Fatalf("Get(k) = %q: a load that began before Delete cached its result", v)
	}
	// A caller after the delete starts its own load instead of joining.
	v, err := c.GetOrLoad(context.Background(), "k", func(context.Context, string) (string, error) { return "fresh", nil })
	if err != nil || v != "fresh" {
		t.Fatalf("GetOrLoad after delete = %q, %v; want fresh", v, err)
	}
}

func TestGetOrLoadHonorsCallerContext(t *testing.T) {
	c := mustNew(t, Options[int]{MaxEntries: 10})
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	defer close(release)
	loaded := make(chan struct{})
	go func() {
		<-loaded
		cancel()
	}()
	_, err := c.GetOrLoad(ctx, "k", func(context.Context, string) (int, error) {
		close(loaded)
		<-release
		return 1, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled once the caller gives up", err)
	}
}

func TestMetrics(t *testing.T) {
	c := mustNew(t, Options[int]{MaxEntries: 1, Shards: 1})
	reg := prometheus.NewPedanticRegistry()
	if err := c.Register(reg, "test"); err != nil {
		t.Fatal(err)
	}
	c.Set("a", 1)
	c.Get("a")
	c.Get("b")
	c.Set("b", 2)
	for name, want := range map[string]float64{
		"cache_hits_total": 1, "cache_misses_total": 1, "cache_evictions_total": 1, "cache_entries": 1,
	} {
		got, err := gather(reg, name)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 6 {
		t.Fatalf("GatherAndCount = %d, %v; want 6 series", n, err)
	}
}

func gather(reg *prometheus.Registry, name string) (float64, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, err
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue(), nil
		}
		return m.GetGauge().GetValue(), nil
	}
	return 0, fmt.Errorf("metric %s not gathered", name)
}

// mutexLRU is the baseline the benchmarks compare against: the textbook
// LRU, a map and container/list behind one mutex. Every operation, reads
// included, serializes on that mutex.
type mutexLRU struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[string]*list.Element
}

type mutexEntry struct {
	key   string
	value []byte
}

func newMutexLRU(maxEntries int) *mutexLRU {
	return &mutexLRU{max: maxEntries, ll: list.New(), items: make(map[string]*list.Element)}
}

func (m *mutexLRU) Get(key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		return nil, false
	}
	m.ll.MoveToFront(el)
	return el.Value.(*mutexEntry).value, true
}

func (m *mutexLRU) Set(key string, value []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		el.Value.(*mutexEntry).value = value
		m.ll.MoveToFront(el)
		return
	}
	m.items[key] = m.ll.PushFront(&mutexEntry{key: key, value: value})
	if m.ll.Len() > m.max {
		last := m.ll.Back()
		m.ll.Remove(last)
		delete(m.items, last.Value.(*mutexEntry).key)
	}
}

// lru is what the benchmarks drive; both implementations satisfy it.
type lru interface {
	Get(string) ([]byte, bool)
	Set(string, []byte)
}

const (
	benchEntries = 1 << 14 // cache capacity
	benchKeys    = 1 << 16 // key space for the Zipf benchmark
	benchOps     = 1 << 16 // length of each precomputed key sequence
)

var (
	benchKeyNames = func() []string {
		keys := make([]string, benchKeys)
		for i := range keys {
			keys[i] = fmt.Sprintf("item-%08d", i)
		}
		return keys
	}()
	benchValue = make([]byte, 256)
)

// uniformSeq and zipfSeq are precomputed key indexes, so the benchmarks time
// the cache and not the random number generator.
func uniformSeq(n int) []int {
	r := rand.New(rand.NewPCG(1, 2))
	seq := make([]int, benchOps)
	for i := range seq {
		seq[i] = r.IntN(n)
	}
	return seq
}

func zipfSeq() []int {
	z := rand.NewZipf(rand.New(rand.NewPCG(3, 4)), 1.1, 1, benchKeys-1)
	seq := make([]int, benchOps)
	for i := range seq {
		seq[i] = int(z.Uint64())
	}
	return seq
}

// implementations returns a fresh sharded cache and a fresh baseline, each
// holding benchEntries entries. The sharded cache runs with a TTL, as in the
// service, so it pays for its clock reads; the baseline has no expiry.
func implementations(b *testing.B) []struct {
	name string
	c    lru
} {
	sharded := mustNew(b, Options[[]byte]{MaxEntries: benchEntries, TTL: time.Minute})
	return []struct {
		name string
		c    lru
	}{{"sharded", sharded}, {"mutex", newMutexLRU(benchEntries)}}
}

func fill(c lru) {
	for _, k := range benchKeyNames[:benchEntries] {
		c.Set(k, benchValue)
	}
}

// goroutinesPerCPU are the concurrency levels the parallel benchmarks run
// at: one goroutine per CPU, as a worker pool has, and 16 per CPU, as a
// server in the middle of many requests has. The second is where one mutex
// hurts most: its waiters park, and every unlock hands the lock over through
// the scheduler, while the shards are rarely contended at all.
var goroutinesPerCPU = []int{1, 16}

// levels runs bench once per concurrency level and implementation, with the
// implementations alternating inside each level.
func levels(b *testing.B, bench func(b *testing.B, impl lru, perCPU int)) {
	for _, perCPU := range goroutinesPerCPU {
		for _, impl := range implementations(b) {
			b.Run(fmt.Sprintf("%s/g%d", impl.name, perCPU), func(b *testing.B) { bench(b, impl.c, perCPU) })
		}
	}
}

// run drives op from perCPU goroutines per CPU over seq; each goroutine
// starts at its own offset so they do not walk the sequence in lockstep.
func run(b *testing.B, perCPU int, seq []int, op func(i int, key string)) {
	var offset atomic.Uint32
	b.ReportAllocs()
	b.SetParallelism(perCPU)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(offset.Add(7919)) * 131
		for pb.Next() {
			i++
			op(i, benchKeyNames[seq[i&(benchOps-1)]])
		}
	})
}

// The sub-benchmarks of each benchmark alternate between the sharded cache
// and the baseline, so a noisy machine affects both alike. Compare with
// benchstat, or read the ratio straight from one run.

func BenchmarkGetParallel(b *testing.B) {
	seq := uniformSeq(benchEntries)
	levels(b, func(b *testing.B, c lru, perCPU int) {
		fill(c)
		run(b, perCPU, seq, func(_ int, k string) { c.Get(k) })
	})
}

func BenchmarkSetParallel(b *testing.B) {
	seq := uniformSeq(benchKeys)
	levels(b, func(b *testing.B, c lru, perCPU int) {
		run(b, perCPU, seq, func(_ int, k string) { c.Set(k, benchValue) })
	})
}

// BenchmarkMixed is 90 % Get and 10 % Set over keys that are all cached.
func BenchmarkMixed(b *testing.B) {
	seq := uniformSeq(benchEntries)
	levels(b, func(b *testing.B, c lru, perCPU int) {
		fill(c)
		run(b, perCPU, seq, func(i int, k string) {
			if i%10 == 0 {
				c.Set(k, benchValue)
			} else {
				c.Get(k)
			}
		})
	})
}

// BenchmarkZipf reads Zipf-distributed keys, as real traffic does, and sets
// the ones it misses (cache-aside).
func BenchmarkZipf(b *testing.B) {
	seq := zipfSeq()
	levels(b, func(b *testing.B, c lru, perCPU int) {
		run(b, perCPU, seq, func(_ int, k string) {
			if _, ok := c.Get(k); !ok {
				c.Set(k, benchValue)
			}
		})
	})
}
