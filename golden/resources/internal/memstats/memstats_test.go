package memstats

import (
	"context"
	"math"
	"runtime/metrics"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCollectorExportsEveryMetric(t *testing.T) {
	fsys := fstest.MapFS{"proc/self/status": {Data: []byte("Name:\tdemo\nVmHWM:\t   20480 kB\nVmRSS:\t 1024 kB\n")}}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(newCollector(fsys))
	n, err := testutil.GatherAndCount(reg)
	if err != nil {
		t.Fatal(err)
	}
	if n != 8 {
		t.Fatalf("gathered %d metrics, want 8", n)
	}
	want := `
# HELP memory_peak_rss_bytes Peak resident set size of the process (VmHWM).
# TYPE memory_peak_rss_bytes gauge
memory_peak_rss_bytes 2.097152e+07
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "memory_peak_rss_bytes"); err != nil {
		t.Fatal(err)
	}
}

func TestCollectorWithoutProc(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(newCollector(fstest.MapFS{}))
	if n, err := testutil.GatherAndCount(reg, "memory_peak_rss_bytes"); err != nil || n != 0 {
		t.Fatalf("peak RSS without /proc: %d series, %v; want it left out", n, err)
	}
}

func TestRebucket(t *testing.T) {
	h := &metrics.Float64Histogram{
		Counts:  []uint64{1, 2, 3, 4},
		Buckets: []float64{math.Inf(-1), 5e-6, 20e-6, 1, math.Inf(1)},
	}
	count, sum, cum := rebucket(h, []float64{10e-6, 50e-6, 2})
	if count != 10 {
		t.Fatalf("count = %d, want 10", count)
	}
	// (-inf,5us] and (5us,20us]: 1 pause at or below 10us, 2 at or below
	// 50us (20us edge); (20us,1s]: 3 at or below 2s; (1s,+inf): only in count.
	for bound, want := range map[float64]uint64{10e-6: 1, 50e-6: 3, 2: 6} {
		if cum[bound] != want {
			t.Errorf("cumulative[%g] = %d, want %d", bound, cum[bound], want)
		}
	}
	if sum <= 0 {
		t.Errorf("sum = %g, want an estimate above 0", sum)
	}
}

func TestCgroupMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  int64
		found bool
	}{
		{
			name: "v2 nested, limit on the parent",
			files: map[string]string{
				"proc/self/cgroup":                           "0::/kubepods/pod1/ctr\n",
				"sys/fs/cgroup/kubepods/pod1/ctr/memory.max": "max\n",
				"sys/fs/cgroup/kubepods/pod1/memory.max":     "536870912\n",
				"sys/fs/cgroup/kubepods/memory.max":          "1073741824\n",
			},
			want: 512 << 20, found: true,
		},
		{
			name: "v2 inside a container namespace",
			files: map[string]string{
				"proc/self/cgroup":         "0::/\n",
				"sys/fs/cgroup/memory.max": "268435456\n",
			},
			want: 256 << 20, found: true,
		},
		{
			name: "v2 unlimited",
			files: map[string]string{
				"proc/self/cgroup":         "0::/\n",
				"sys/fs/cgroup/memory.max": "max\n",
			},
		},
		{
			name: "v1 with host path missing in the container",
			files: map[string]string{
				"proc/self/cgroup":                           "12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n",
				"sys/fs/cgroup/memory/memory.limit_in_bytes": "134217728\n",
			},
			want: 128 << 20, found: true,
		},
		{
			name: "v1 unlimited sentinel",
			files: map[string]string{
				"proc/self/cgroup":                           "4:memory:/\n",
				"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
			},
		},
		{name: "no cgroups", files: map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for p, data := range tc.files {
				fsys[p] = &fstest.MapFile{Data: []byte(data)}
			}
			got, found := CgroupMemoryLimit(fsys)
			if got != tc.want || found != tc.found {
				t.Fatalf("CgroupMemoryLimit() = %d, %v; want %d, %v", got, found, tc.want, tc.found)
			}
		})
	}
}

func TestMemoryLimit(t *testing.T) {
	fsys := fstest.MapFS{
		"proc/self/cgroup":         {Data: []byte("0::/\n")},
		"sys/fs/cgroup/memory.max": {Data: []byte("1000000000\n")},
	}
	env := map[string]string{}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if got := MemoryLimit(lookup, fsys, 0.9); got != 900000000 {
		t.Fatalf("MemoryLimit() = %d, want 90%% of the cgroup limit", got)
	}
	env["GOMEMLIMIT"] = "200MiB"
	if got := MemoryLimit(lookup, fsys, 0.9); got != 0 {
		t.Fatalf("MemoryLimit() = %d with GOMEMLIMIT set; want 0, the user's setting wins", got)
	}
}

func TestPercentFor(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		live, floor uint64
		max, want   int
	}{
		{0, 32 * mib, 400, 400},        // no collection yet
		{2 * mib, 32 * mib, 400, 400},  // 1,500 wanted, capped
		{8 * mib, 32 * mib, 400, 300},  // goal 8 MiB * 4 = 32 MiB
		{10 * mib, 32 * mib, 400, 220}, // goal 10 MiB * 3.2 = 32 MiB
		{16 * mib, 32 * mib, 400, 100}, // half the floor: the default
		{64 * mib, 32 * mib, 400, 100}, // above the floor
		{2 * mib, 32 * mib, 50, 100},   // never below the default
		{2 * mib, 0, 400, 100},         // no floor
	}
	for _, tt := range tests {
		if got := percentFor(tt.live, tt.floor, tt.max); got != tt.want {
			t.Errorf("percentFor(%d MiB, %d MiB, %d) = %d, want %d", tt.live/mib, tt.floor/mib, tt.max, got, tt.want)
		}
	}
}

// KeepHeapGoal changes the process's GC percent: this test is not parallel.
func TestKeepHeapGoalRaisesAndRestoresThePercent(t *testing.T) {
	before := readGCPercent(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		// A floor far above this test's live heap: the percent goes to the cap.
		KeepHeapGoal(ctx, 1<<40, 300, time.Millisecond)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for readGCPercent(t) != 300 {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("GC percent still %d, want 300", readGCPercent(t))
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if got := readGCPercent(t); got != before {
		t.Fatalf("GC percent %d after KeepHeapGoal returned, want %d restored", got, before)
	}
}

func readGCPercent(t *testing.T) int {
	t.Helper()
	s := []metrics.Sample{
		{Name: gcPercent},
	}
	metrics.Read(s)
	v, ok := uint64Value(s[0])
	if !ok {
		t.Fatal("runtime/metrics has no " + gcPercent)
	}
	return int(v) // #nosec G115 -- a percentage
}
