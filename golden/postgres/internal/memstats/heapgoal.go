package memstats

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// KeepHeapGoal raises the GC percent (GOGC) while the live heap is small,
// so that the heap goal stays near floor, and lowers it back as the live
// heap grows, never below 100 nor above maxPercent. It samples the live heap
// every interval until ctx is done, then restores the percent in force when
// it began.
//
// At the default GOGC of 100 the runtime collects whenever the heap has
// doubled since the last collection, from a goal of 4 MiB. A service whose
// live heap is a few MiB and whose garbage is per request then collects
// many times a second under load, and each cycle charges mark assists to
// the requests that allocate. With a floor of 32 MiB and at most 400, a
// 2 MiB live heap is collected at about 10 MiB, an 8 MiB one at 32 MiB,
// and from 16 MiB up (a filling cache) the runtime's default applies. The
// memory limit (GOMEMLIMIT) bounds the heap whatever the percent.
//
// Run it only when the environment does not set GOGC: the operator's
// choice wins.
func KeepHeapGoal(ctx context.Context, floor uint64, maxPercent int, interval time.Duration) {
	samples := []metrics.Sample{
		{Name: heapLive}, {Name: gcPercent},
	}
	metrics.Read(samples)
	orig := 100
	if v, ok := uint64Value(samples[1]); ok {
		orig = int(v) // #nosec G115 -- a percentage
	}
	defer debug.SetGCPercent(orig)

	current := orig
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		live, _ := uint64Value(samples[0])
		if p := percentFor(live, floor, maxPercent); p != current {
			debug.SetGCPercent(p)
			current = p
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(samples[:1])
	}
}

// percentFor returns the GC percent that puts the heap goal, about
// live*(1+percent/100), at floor, within [100, maxPercent]. Before the first
// collection the live heap reads 0, and maxPercent applies.
func percentFor(live, floor uint64, maxPercent int) int {
	if live == 0 {
		return max(maxPercent, 100)
	}
	if live >= floor/2 {
		return 100
	}
	p := (floor - live) * 100 / live                 // over 100: live is under half the floor
	return int(min(p, uint64(max(maxPercent, 100)))) // #nosec G115 -- at most maxPercent
}
