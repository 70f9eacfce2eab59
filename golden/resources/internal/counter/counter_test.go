package counter

import (
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

func TestCounterExactUnderConcurrency(t *testing.T) {
	c := New()
	const goroutines, perG = 16, 10_000
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range perG {
				c.Inc()
			}
			c.Add(-5)
		})
	}
	wg.Wait()
	if got, want := c.Load(), int64(goroutines*perG-goroutines*5); got != want {
		t.Fatalf("Load() = %d, want %d", got, want)
	}
}

func TestStripesDoNotShareCacheLines(t *testing.T) {
	if size := unsafe.Sizeof(stripe{}); size%cacheLine != 0 {
		t.Fatalf("stripe is %d bytes; want a multiple of %d so stripes never share a cache line", size, cacheLine)
	}
	c := New()
	if n := len(c.stripes); n&(n-1) != 0 || uint32(n-1) != c.mask {
		t.Fatalf("%d stripes with mask %#x; want a power of two and mask n-1", n, c.mask)
	}
}

// TestMaxNeverLosesThePeak fails for a load-then-store maximum: two
// goroutines both load the old peak and the smaller store can land last.
func TestMaxNeverLosesThePeak(t *testing.T) {
	for range 50 {
		var m Max
		var wg sync.WaitGroup
		const goroutines, perG = 8, 1000
		for g := range goroutines {
			wg.Go(func() {
				for i := range perG {
					m.Observe(int64(i*goroutines + g))
				}
			})
		}
		wg.Wait()
		if got, want := m.Load(), int64(goroutines*perG-1); got != want {
			t.Fatalf("Load() = %d, want %d", got, want)
		}
	}
}

func TestMaxObserveReportsNewPeaks(t *testing.T) {
	var m Max
	for _, tc := range []struct {
		v    int64
		peak bool
	}{{3, true}, {2, false}, {3, false}, {7, true}} {
		if got := m.Observe(tc.v); got != tc.peak {
			t.Errorf("Observe(%d) = %v, want %v", tc.v, got, tc.peak)
		}
	}
	if m.Load() != 7 {
		t.Fatalf("Load() = %d, want 7", m.Load())
	}
}

func BenchmarkCounterParallel(b *testing.B) {
	b.Run("striped", func(b *testing.B) {
		c := New()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Inc()
			}
		})
	})
	b.Run("single-atomic", func(b *testing.B) {
		var n atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n.Add(1)
			}
		})
	})
}
