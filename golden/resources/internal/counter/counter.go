// Package counter provides hot-path counters that scale with cores.
//
// One atomic integer incremented from every core is a single cache line that
// all cores fight over: each increment must take the line exclusively, so
// throughput falls as cores are added. A Counter spreads increments over
// several stripes, each on its own cache line, and sums them only when read.
// Reads are rare (a metrics scrape) and writes are constant, which is the
// trade this makes.
package counter

import (
	"math/rand/v2"
	"runtime"
	"sync/atomic"
)

// cacheLine is the size the stripes are padded to. 128 bytes covers the
// adjacent-line prefetcher on x86 and the 128-byte lines of some arm64 cores.
const cacheLine = 128

// stripe is one padded slot. The padding keeps two stripes from sharing a
// cache line (false sharing), which would undo the striping.
type stripe struct {
	n atomic.Int64
	_ [cacheLine - 8]byte
}

// Counter is a monotonic or up/down counter for values updated far more often
// than they are read. The zero value is not usable; call New.
type Counter struct {
	stripes []stripe
	mask    uint32
}

// New returns a Counter with enough stripes for the cores this process may
// use: the next power of two at or above 4 x GOMAXPROCS, at most 256.
func New() *Counter {
	n := 1
	for n < 4*runtime.GOMAXPROCS(0) && n < 256 {
		n <<= 1
	}
	return &Counter{stripes: make([]stripe, n), mask: uint32(n - 1)} // #nosec G115 -- n is 1 to 256
}

// Add adds delta. It picks a stripe at random: Go exposes no processor ID,
// and the runtime's per-thread random source is lock-free and costs a few
// nanoseconds, far less than a contended cache line.
func (c *Counter) Add(delta int64) {
	c.stripes[rand.Uint32()&c.mask].n.Add(delta) // #nosec G404 -- picks a stripe, not a secret
}

// Inc adds one.
func (c *Counter) Inc() { c.Add(1) }

// Load returns the sum of all stripes. It is exact once writers stop; under
// concurrent writes it is a value the counter held at some instant during
// the call, which is what a metrics scrape needs.
func (c *Counter) Load() int64 {
	var sum int64
	for i := range c.stripes {
		sum += c.stripes[i].n.Load()
	}
	return sum
}

// Max tracks the largest value observed, such as peak in-flight requests.
// It updates with compare-and-swap, so two goroutines observing at once can
// never lose the larger value (a load followed by a store can).
type Max struct {
	v atomic.Int64
}

// Observe records v and reports whether it is a new maximum.
func (m *Max) Observe(v int64) bool {
	for {
		cur := m.v.Load()
		if v <= cur {
			return false
		}
		if m.v.CompareAndSwap(cur, v) {
			return true
		}
	}
}

// Load returns the largest value observed, or 0.
func (m *Max) Load() int64 { return m.v.Load() }
