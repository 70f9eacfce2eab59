package pool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// conn stands in for an expensive object; the factory counts the live ones.
type conn struct {
	id     int64
	closed atomic.Bool
}

type factory struct {
	made, live, peak atomic.Int64
	fail             atomic.Bool
}

func (f *factory) New(context.Context) (*conn, error) {
	if f.fail.Load() {
		return nil, errors.New("dial refused")
	}
	n := f.live.Add(1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return &conn{id: f.made.Add(1)}, nil
}

func (f *factory) Close(c *conn) error {
	if c.closed.Swap(true) {
		panic("object closed twice")
	}
	f.live.Add(-1)
	return nil
}

func newPool(t *testing.T, f *factory, o Options[*conn]) *Pool[*conn] {
	t.Helper()
	o.New, o.Close = f.New, f.Close
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNeverExceedsMaxSize hammers a small pool; the number of live objects
// must never pass MaxSize, whatever mix of Put and Discard comes back.
func TestNeverExceedsMaxSize(t *testing.T) {
	var f factory
	const maxSize = 3
	p := newPool(t, &f, Options[*conn]{MaxSize: maxSize, MaxIdle: 2})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for range 300 {
				c, err := p.Get(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if c.closed.Load() {
					t.Error("Get returned a closed object")
				}
				if st := p.Stats(); st.Open > maxSize {
					t.Errorf("Stats().Open = %d, MaxSize is %d", st.Open, maxSize)
				}
				runtime.Gosched()
				if r.IntN(10) == 0 {
					p.Discard(c)
				} else {
					p.Put(c)
				}
			}
		})
	}
	wg.Wait()
	if peak := f.peak.Load(); peak > maxSize {
		t.Fatalf("%d objects were alive at once; MaxSize is %d", peak, maxSize)
	}
	p.Close()
	if live := f.live.Load(); live != 0 {
		t.Fatalf("%d objects still open after every one was returned and the pool closed", live)
	}
}

func TestHandsObjectsBack(t *testing.T) {
	var f factory
	p := newPool(t, &f, Options[*conn]{MaxSize: 2})
	a, err := p.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p.Put(a)
	b, err := p.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if a != b || f.made.Load() != 1 {
		t.Fatalf("second Get made a new object (made %d); want the returned one back", f.made.Load())
	}
}

func TestFailFast(t *testing.T) {
	var f factory
	p := newPool(t, &f, Options[*conn]{MaxSize: 1, FailFast: true})
	if _, err := p.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get(context.Background()); !errors.Is(err, ErrExhausted) {
		t.Fatalf("Get on a full fail-fast pool: err = %v, want ErrExhausted", err)
	}
}

// waitForWaiters spins until n Gets are blocked; the test fails by timing
// out, not by asserting on a duration.
func waitForWaiters(p *Pool[*conn], n int) {
	for p.Stats().Waiting != n {
		runtime.Gosched()
	}
}

func TestGetWaitsForPut(t *testing.T) {
	var f factory
	p := newPool(t, &f, Options[*conn]{MaxSize: 1})
	a, _ := p.Get(context.Background())
	got := make(chan *conn)
	go func() {
		c, err := p.Get(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	waitForWaiters(p, 1)
	p.Put(a)
	if c := <-got; c != a {
		t.Fatal("the waiting Get did not receive the returned object")
	}
}

func TestDiscardLetsWaiterMakeNew(t *testing.T) {
	var f factory
	p := newPool(t, &f, Options[*conn]{MaxSize: 1})
	a, _ := p.Get(context.Background())
	got := make(chan *conn)
	go func() {
		c, _ := p.Get(context.Background())
		got <- c
	}()
	waitForWaiters(p, 1)
	p.Discard(a)
	c := <-got
	if c == nil || c == a || !a.closed.Load() {
		t.Fatalf("after Discard the waiter got %v; want a new object and the old one closed", c)
	}
	if st := p.Stats(); st.Open != 1 {
		t.Fatalf("Stats().Open = %d, want 1", st.Open)
	}
}

func TestGetHonorsContext(t *testing.T) {
	var f factory
	p := newPool(t, &f, Options[*conn]{MaxSize: 1})
	p.Get(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := p.Get(ctx)
		errc <- err
	}()
	waitForWaiters(p, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if st := p.Stats(); st.Waiting != 0 || st.Open != 1 {
		t.Fatalf("Stats() = %+v after the waiter gave up; want no waiters and 1 open", st)
	}
}

func TestMaxIdleClosesExtras(t *testing.T) {
	var f factory
	p := newPool(t, &f, Options[*conn]{MaxSize: 4, MaxIdle: 1})
	var cs []*conn
	for range 3 {
		c, _ := p.Get(context.Background())
		cs = append(cs, c)
	}
	for _, c := range cs {
		p.Put(c)
	}
	if st := p.Stats(); st.Idle != 1 || st.Open != 1 || f.live.Load() != 1 {
		t.Fatalf("Stats() = %+v, live %d; want 1 idle, 1 open, 1 live", st, f.live.Load())
	}
}

func TestIdleTimeout(t *testing.T) {
	var f factory
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	p := newPool(t, &f, Options[*conn]{MaxSize: 2, IdleTimeout: time.Minute, Now: clock})
	a, _ := p.Get(context.Background())
	p.Put(a)
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	b, _ := p.Get(context.Background())
	if b == a || !a.closed.Load() {
		t.Fatal("an object idle past IdleTimeout was reused instead of closed")
	}
	if st := p.Stats(); st.Open != 1 {
		t.Fatalf("Stats().Open = %d, want 1", st.Open)
	}
}

func TestNewErrorFreesTheSlot(t *testing.T) {
	var f factory
	p := newPool(t, &f, Options[*conn]{MaxSize: 1})
	f.fail.Store(true)
	if _, err := p.Get(context.Background()); err == nil {
		t.Fatal("Get succeeded though New failed")
	}
	f.fail.Store(false)
	if _, err := p.Get(context.Background()); err != nil {
		t.Fatalf("Get after a failed New: %v; the failed attempt must free its slot", err)
	}
}

func TestClose(t *testing.T) {
	var f factory
	p := newPool(t, &f, Options[*conn]{MaxSize: 2})
	idle, _ := p.Get(context.Background())
	inUse, _ := p.Get(context.Background())
	p.Put(idle)
	errc := make(chan error)
	go func() {
		p.Get(context.Background()) // takes the idle one
		_, err := p.Get(context.Background())
		errc <- err
	}()
	waitForWaiters(p, 1)
	p.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("waiting Get after Close: err = %v, want ErrClosed", err)
	}
	if _, err := p.Get(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: err = %v, want ErrClosed", err)
	}
	p.Put(inUse)
	if !inUse.closed.Load() {
		t.Fatal("an object returned after Close was not closed")
	}
	p.Close() // idempotent
}

func TestBuffers(t *testing.T) {
	b := GetBuffer()
	b.WriteString("hello")
	PutBuffer(b)
	if b2 := GetBuffer(); b2.Len() != 0 {
		t.Fatalf("GetBuffer returned a buffer holding %q", b2.String())
	}
	big := bytes.NewBuffer(make([]byte, 0, 2*maxPooledBuffer))
	PutBuffer(big) // dropped, not pooled: nothing to observe but no panic
}

// expensive is the object the benchmarks pool: 32 KiB of scratch space.
type expensive struct{ scratch [32 << 10]byte }

func BenchmarkPool(b *testing.B) {
	b.Run("bounded", func(b *testing.B) {
		p, _ := New(Options[*expensive]{
			New:     func(context.Context) (*expensive, error) { return new(expensive), nil },
			MaxSize: 4 * runtime.GOMAXPROCS(0),
		})
		ctx := context.Background()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e, err := p.Get(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				e.scratch[0]++
				p.Put(e)
			}
		})
	})
	b.Run("sync.Pool", func(b *testing.B) {
		p := sync.Pool{New: func() any { return new(expensive) }}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e := p.Get().(*expensive)
				e.scratch[0]++
				p.Put(e)
			}
		})
	})
	b.Run("alloc", func(b *testing.B) {
		var sink atomic.Pointer[expensive]
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e := new(expensive)
				e.scratch[0]++
				sink.Store(e)
			}
		})
	})
}

// BenchmarkEncode encodes a small JSON response into a pooled buffer and
// into a fresh one.
func BenchmarkEncode(b *testing.B) {
	v := struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Quantity int    `json:"quantity"`
	}{"01J5Z0000000000000000000000", "widget", 3}
	b.Run("pooled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf := GetBuffer()
			if err := json.NewEncoder(buf).Encode(v); err != nil {
				b.Fatal(err)
			}
			PutBuffer(buf)
		}
	})
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
