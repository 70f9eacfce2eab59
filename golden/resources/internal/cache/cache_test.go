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

	"github.com/maypok86/otter/v2"
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

// settle applies the maintenance otter runs on its own goroutine right
// after a write (evictions, expiries, recorded reads), so a test can check
// the cache's state without racing that goroutine.
func settle[V any](c *Cache[V]) { c.o.CleanUp() }

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

// TestHotKeySurvivesAStreamOfColdKeys: a key read between every insert of
// a new key must never be evicted by keys that are never read again.
func TestHotKeySurvivesAStreamOfColdKeys(t *testing.T) {
	c := mustNew(t, Options[int]{MaxEntries: 100})
	c.Set("hot", 1)
	for i := range 10_000 {
		c.Set("cold"+strconv.Itoa(i), i)
		settle(c)
		if _, ok := c.Get("hot"); !ok {
			t.Fatalf("hot key evicted after %d cold inserts", i+1)
		}
	}
	// And a key read once, then never again, ages out like any other.
	if _, ok := c.Get("cold0"); ok {
		t.Fatal("a cold key outlived 10,000 newer ones in a 100-entry cache")
	}
}

func TestSetOverwritesWithoutGrowing(t *testing.T) {
	c := mustNew(t, Options[int]{MaxEntries: 2})
	for i := range 10 {
		c.Set("k", i)
	}
	c.Set("other", 0)
	settle(c)
	if v, ok := c.Get("k"); !ok || v != 9 {
		t.Fatalf("Get(k) = %d, %v; want 9, true", v, ok)
	}
	if n := c.Len(); n != 2 {
		t.Fatalf("Len() = %d, want 2: overwriting a key must not add entries", n)
	}
}

// TestBoundsHold fills caches with many times their bounds, by entries and
// by bytes, and checks both bounds after every write.
func TestBoundsHold(t *testing.T) {
	for _, tc := range []struct {
		entries   int
		maxBytes  int64
		valueSize int
	}{
		{entries: 1}, {entries: 7}, {entries: 100}, {entries: 1000},
		// Small values: the entry bound is the one that binds.
		{entries: 10, maxBytes: 1000, valueSize: 1},
		// Large values: the byte bound binds first.
		{entries: 100, maxBytes: 1000, valueSize: 90},
	} {
		t.Run(fmt.Sprintf("entries=%d/bytes=%d/value=%d", tc.entries, tc.maxBytes, tc.valueSize), func(t *testing.T) {
			o := Options[[]byte]{MaxEntries: tc.entries, MaxBytes: tc.maxBytes}
			if tc.maxBytes > 0 {
				o.Cost = func(_ string, v []byte) int64 { return int64(len(v)) }
			}
			c := mustNew(t, o)
			value := make([]byte, tc.valueSize)
			for i := range tc.entries * 10 {
				c.Set(strconv.Itoa(i), value)
				settle(c)
				if n := c.Len(); n > tc.entries {
					t.Fatalf("after %d sets Len() = %d, bound is %d", i+1, n, tc.entries)
				}
				if b := c.Bytes(); tc.maxBytes > 0 && b > tc.maxBytes {
					t.Fatalf("after %d sets Bytes() = %d, bound is %d", i+1, b, tc.maxBytes)
				}
			}
			// The whole budget is usable.
			want := tc.entries
			if tc.maxBytes > 0 {
				want = min(want, int(tc.maxBytes)/tc.valueSize)
			}
			if n := c.Len(); n < want*9/10 {
				t.Fatalf("Len() = %d after filling; the cache should hold %d entries", n, want)
			}
		})
	}
}

func TestByteBound(t *testing.T) {
	c := mustNew(t, Options[[]byte]{
		MaxEntries: 100, MaxBytes: 100,
		Cost: func(_ string, v []byte) int64 { return int64(len(v)) },
	})
	for i := range 50 {
		c.Set(strconv.Itoa(i), make([]byte, 30))
		settle(c)
		if b := c.Bytes(); b > 100 {
			t.Fatalf("Bytes() = %d after %d sets, bound is 100", b, i+1)
		}
	}
	if n := c.Len(); n != 3 {
		t.Fatalf("Len() = %d, want 3 entries of 30 bytes under a 100-byte bound", n)
	}
	c.Set("huge", make([]byte, 101))
	settle(c)
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
	// otter's timer wheel removes expired entries a bucket (about a
	// second) at a time, and the removal may still be in otter's own
	// maintenance goroutine when the first CleanUp runs: move past the
	// bucket, then allow a bounded number of rounds.
	clock.Advance(2 * time.Second)
	for range 100 {
		if settle(c); c.Len() == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if n := c.Len(); n != 0 {
		t.Fatalf("Len() = %d: an expired entry must be removed", n)
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
	settle(c)
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
// before a delete must not put the old value back after it; its caller gets
// a value read after the delete.
func TestDeleteDuringLoadDoesNotCacheStaleValue(t *testing.T) {
	c := mustNew(t, Options[string]{MaxEntries: 10})
	loading, finish := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	load := func(context.Context, string) (string, error) {
		if calls.Add(1) == 1 {
			close(loading)
			<-finish
			return "stale", nil
		}
		return "fresh", nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if v, err := c.GetOrLoad(context.Background(), "k", load); err != nil || v != "fresh" {
			t.Errorf("load across a delete = %q, %v; want fresh, nil", v, err)
		}
	}()
	<-loading
	c.Delete("k")
	close(finish)
	<-done
	if v, ok := c.Get("k"); ok && v != "fresh" {
		t.Fatalf("Get(k) = %q: a load that began before Delete cached its result", v)
	}
}

func TestClearDropsEveryEntry(t *testing.T) {
	c := mustNew(t, Options[int]{MaxEntries: 10})
	c.Set("a", 1)
	c.Set("b", 2)
	c.Clear()
	for _, k := range []string{"a", "b"} {
		if v, ok := c.Get(k); ok {
			t.Fatalf("Get(%s) = %d after Clear, want a miss", k, v)
		}
	}
	c.Set("a", 3)
	if v, ok := c.Get("a"); !ok || v != 3 {
		t.Fatalf("Get(a) = %d, %v after a Set that followed Clear; want 3, true", v, ok)
	}
}

// TestSuspendPassesReadsThrough: a suspended cache serves nothing, keeps
// nothing and loads for every caller; after Resume it starts empty and
// caches again.
func TestSuspendPassesReadsThrough(t *testing.T) {
	c := mustNew(t, Options[string]{MaxEntries: 10})
	var calls atomic.Int32
	load := func(context.Context, string) (string, error) {
		return "v" + strconv.Itoa(int(calls.Add(1))), nil
	}
	c.Set("k", "old")
	c.Suspend()
	if !c.Suspended() {
		t.Fatal("Suspended() = false after Suspend")
	}
	if v, ok := c.Get("k"); ok {
		t.Fatalf("Get(k) = %q on a suspended cache, want a miss", v)
	}
	c.Set("k", "during")
	for want := 1; want <= 2; want++ {
		v, err := c.GetOrLoad(context.Background(), "k", load)
		if err != nil || v != "v"+strconv.Itoa(want) {
			t.Fatalf("suspended GetOrLoad #%d = %q, %v; want v%d: every read goes to the store", want, v, err, want)
		}
	}
	c.Resume()
	if c.Suspended() {
		t.Fatal("Suspended() = true after Resume")
	}
	if v, ok := c.Get("k"); ok {
		t.Fatalf("Get(k) = %q right after Resume, want an empty cache", v)
	}
	for range 2 {
		if v, err := c.GetOrLoad(context.Background(), "k", load); err != nil || v != "v3" {
			t.Fatalf("GetOrLoad after Resume = %q, %v; want v3 loaded once and then cached", v, err)
		}
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("load ran %d times, want 3", n)
	}
}

// TestLoadAcrossAnEpochIsNotServed: a load that read the store before a
// Clear, or before a Suspend and Resume, returns to its callers but is not
// served to anyone after: the next read loads again.
func TestLoadAcrossAnEpochIsNotServed(t *testing.T) {
	for name, change := range map[string]func(*Cache[string]){
		"clear":          (*Cache[string]).Clear,
		"suspend-resume": func(c *Cache[string]) { c.Suspend(); c.Resume() },
	} {
		t.Run(name, func(t *testing.T) {
			c := mustNew(t, Options[string]{MaxEntries: 10})
			loading, finish := make(chan struct{}), make(chan struct{})
			var calls atomic.Int32
			load := func(context.Context, string) (string, error) {
				if calls.Add(1) == 1 {
					close(loading)
					<-finish
					return "stale", nil
				}
				return "fresh", nil
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				if _, err := c.GetOrLoad(context.Background(), "k", load); err != nil {
					t.Error(err)
				}
			}()
			<-loading
			change(c)
			close(finish)
			<-done
			settle(c)
			if v, ok := c.Get("k"); ok {
				t.Fatalf("Get(k) = %q: a load that began before the change is served after it", v)
			}
			if v, err := c.GetOrLoad(context.Background(), "k", load); err != nil || v != "fresh" {
				t.Fatalf("GetOrLoad after the change = %q, %v; want fresh", v, err)
			}
		})
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
	c := mustNew(t, Options[int]{MaxEntries: 1})
	reg := prometheus.NewPedanticRegistry()
	if err := c.Register(reg, "test"); err != nil {
		t.Fatal(err)
	}
	c.Set("a", 1)
	c.Get("a")
	c.Get("b")
	c.Set("b", 2)
	settle(c)
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

// The comparisons below run this cache beside two references: otter alone,
// configured as New configures it (so they show what the wrapper costs), and
// mutexLRU, the textbook LRU (so they show what the eviction policy buys).

// mutexLRU is a map and container/list behind one mutex. Every operation,
// reads included, serializes on that mutex.
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

// plainOtter is otter without this package's wrapper, set up as its
// documentation suggests for an entry bound and a TTL: with the default
// executor, which runs maintenance on goroutines of its own.
type plainOtter struct{ c *otter.Cache[string, []byte] }

func newPlainOtter(tb testing.TB, maxEntries int) plainOtter {
	clock := otter.NewCoarseClock(time.Second)
	c := otter.Must(&otter.Options[string, []byte]{
		MaximumSize:      maxEntries,
		ExpiryCalculator: otter.ExpiryWriting[string, []byte](time.Minute),
		Clock:            clock,
	})
	tb.Cleanup(func() {
		c.StopAllGoroutines()
		clock.Stop()
	})
	return plainOtter{c}
}

func (p plainOtter) Get(key string) ([]byte, bool) { return p.c.GetIfPresent(key) }
func (p plainOtter) Set(key string, value []byte)  { p.c.Set(key, value) }

// store is what the comparisons drive; all three implementations satisfy it.
type store interface {
	Get(string) ([]byte, bool)
	Set(string, []byte)
}

// implementations returns a fresh instance of each implementation holding
// up to entries entries. This cache runs with a TTL, as in the service, so
// it pays for its clock reads; so does plain otter; the LRU has no expiry.
func implementations(tb testing.TB, entries int) []struct {
	name string
	c    store
} {
	return []struct {
		name string
		c    store
	}{
		{"cache", mustNew(tb, Options[[]byte]{MaxEntries: entries, TTL: time.Minute})},
		{"otter", newPlainOtter(tb, entries)},
		{"lru", newMutexLRU(entries)},
	}
}

// The Zipf workload docs/performance.md compares caches on: get-or-set
// (a Get, and a Set on a miss) of keys drawn from Zipf(s=1.01) over a
// million keys, two million requests, from a fixed seed.
const (
	zipfKeys     = 1_000_000
	zipfRequests = 2_000_000
)

var (
	zipfKeyNames = sync.OnceValue(func() []string {
		keys := make([]string, zipfKeys)
		for i := range keys {
			keys[i] = "item-" + strconv.Itoa(i)
		}
		return keys
	})
	// zipfTrace is the request sequence, as key indexes.
	zipfTrace = sync.OnceValue(func() []int32 {
		z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.01, 1, zipfKeys-1)
		trace := make([]int32, zipfRequests)
		for i := range trace {
			trace[i] = int32(z.Uint64()) // #nosec G115 -- below zipfKeys
		}
		return trace
	})
)

// hitRatio replays trace, indexes into keys, against c as get-or-set and
// returns the share of requests that hit.
func hitRatio(c store, keys []string, trace []int32) float64 {
	var hits int
	for _, k := range trace {
		if _, ok := c.Get(keys[k]); ok {
			hits++
		} else {
			c.Set(keys[k], benchValue)
		}
	}
	return float64(hits) / float64(len(trace))
}

// TestHitRatioMatchesOtter checks that the wrapper, with its byte bound
// folded into otter's weights, keeps otter's hit ratio: within a point of
// otter configured by entries alone, on a smaller Zipf workload.
func TestHitRatioMatchesOtter(t *testing.T) {
	keys := benchKeyNames
	z := rand.NewZipf(rand.New(rand.NewPCG(5, 6)), 1.01, 1, uint64(len(keys)-1))
	trace := make([]int32, 20_000)
	for i := range trace {
		trace[i] = int32(z.Uint64()) // #nosec G115 -- below len(keys)
	}
	const entries = 200
	c := mustNew(t, Options[[]byte]{
		MaxEntries: entries, MaxBytes: entries * int64(len(benchValue)), TTL: time.Minute,
		Cost: func(_ string, v []byte) int64 { return int64(len(v)) },
	})
	got, want := hitRatio(c, keys, trace), hitRatio(newPlainOtter(t, entries), keys, trace)
	if got < want-0.01 {
		t.Fatalf("hit ratio %.1f %%, otter alone %.1f %%: the wrapper loses more than a point", 100*got, 100*want)
	}
}

// BenchmarkHitRatio replays the Zipf workload, one get-or-set per
// iteration, against a fresh cache of each size and reports the share of
// hits (hit-%). Run it with -benchtime 2000000x for the whole trace, as
// docs/performance.md does; ns/op is then the single-goroutine cost.
func BenchmarkHitRatio(b *testing.B) {
	keys, trace := zipfKeyNames(), zipfTrace()
	for _, entries := range []int{1_000, 10_000, 100_000} {
		for i, name := range []string{"cache", "otter", "lru"} {
			b.Run(fmt.Sprintf("%s/entries=%d", name, entries), func(b *testing.B) {
				c := implementations(b, entries)[i].c
				var requests, hits int
				for b.Loop() {
					k := keys[trace[requests%len(trace)]]
					requests++
					if _, ok := c.Get(k); ok {
						hits++
					} else {
						c.Set(k, benchValue)
					}
				}
				b.ReportMetric(100*float64(hits)/float64(requests), "hit-%")
			})
		}
	}
}

// BenchmarkZipfParallel is the same get-or-set over the Zipf workload from
// every CPU at once, at 10,000 entries: the speed comparison of
// docs/performance.md (-cpu 2).
func BenchmarkZipfParallel(b *testing.B) {
	keys, trace := zipfKeyNames(), zipfTrace()
	for _, impl := range implementations(b, 10_000) {
		b.Run(impl.name, func(b *testing.B) {
			c := impl.c
			var offset atomic.Uint32
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := int(offset.Add(1)) * 104_729
				for pb.Next() {
					i++
					k := keys[trace[i%zipfRequests]]
					if _, ok := c.Get(k); !ok {
						c.Set(k, benchValue)
					}
				}
			})
		})
	}
}

const (
	benchEntries = 1 << 14 // cache capacity
	benchKeys    = 1 << 16 // key space of the uniform benchmarks
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

// uniformSeq is a precomputed sequence of key indexes, so the benchmarks
// time the cache and not the random number generator.
func uniformSeq(n int) []int {
	r := rand.New(rand.NewPCG(1, 2))
	seq := make([]int, benchOps)
	for i := range seq {
		seq[i] = r.IntN(n)
	}
	return seq
}

func fill(c store) {
	for _, k := range benchKeyNames[:benchEntries] {
		c.Set(k, benchValue)
	}
}

// goroutinesPerCPU are the concurrency levels the parallel benchmarks run
// at: one goroutine per CPU, as a worker pool has, and 16 per CPU, as a
// server in the middle of many requests has. The second is where one mutex
// hurts most: its waiters park, and every unlock hands the lock over through
// the scheduler.
var goroutinesPerCPU = []int{1, 16}

// levels runs bench once per concurrency level and implementation, with the
// implementations alternating inside each level, so a noisy machine affects
// them alike.
func levels(b *testing.B, bench func(b *testing.B, impl store, perCPU int)) {
	for _, perCPU := range goroutinesPerCPU {
		for _, impl := range implementations(b, benchEntries) {
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

func BenchmarkGetParallel(b *testing.B) {
	seq := uniformSeq(benchEntries)
	levels(b, func(b *testing.B, c store, perCPU int) {
		fill(c)
		run(b, perCPU, seq, func(_ int, k string) { c.Get(k) })
	})
}

func BenchmarkSetParallel(b *testing.B) {
	seq := uniformSeq(benchKeys)
	levels(b, func(b *testing.B, c store, perCPU int) {
		run(b, perCPU, seq, func(_ int, k string) { c.Set(k, benchValue) })
	})
}

// BenchmarkMixed is 90 % Get and 10 % Set over keys that are all cached.
func BenchmarkMixed(b *testing.B) {
	seq := uniformSeq(benchEntries)
	levels(b, func(b *testing.B, c store, perCPU int) {
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
