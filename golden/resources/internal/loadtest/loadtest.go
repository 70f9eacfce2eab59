// Package loadtest drives load against the service and checks the result
// against its service-level objectives.
//
// Two modes: open loop sends requests at a fixed arrival rate whatever the
// server does, and measures each request's latency from the moment it was
// due to be sent, so a stalled server is charged for the requests that
// queued behind the stall (no coordinated omission); closed loop keeps a
// fixed number of requests in flight back to back to find the maximum
// throughput. Both exclude a warm-up from the results, and every run is
// bounded in time and in request count.
//
// Why not vegeta: its attacker measures latency from when a worker actually
// starts a request (Result.Timestamp), not from the request's scheduled
// time, so when every worker is busy the queueing delay disappears from the
// results; it also speaks no gRPC. For a constant rate its pacer reduces to
// start + n/rate, which Run computes directly. Latencies go into an HDR
// histogram (github.com/HdrHistogram/hdrhistogram-go).
package loadtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Mode selects how requests are paced.
type Mode string

// The pacing modes.
const (
	// Open sends at a fixed arrival rate, independent of responses.
	Open Mode = "open"
	// Closed sends the next request as soon as a worker's previous one
	// completes, to find the maximum throughput.
	Closed Mode = "closed"
)

// Config describes one run.
type Config struct {
	// Mode selects open-loop (fixed rate) or closed-loop (max throughput).
	Mode Mode
	// Rate is the arrival rate in requests per second (open loop only).
	Rate float64
	// Workers bounds the requests in flight. In open loop a request that
	// finds every worker busy waits, and the wait counts in its latency.
	Workers int
	// Warmup is sent before the measured window and excluded from results.
	Warmup time.Duration
	// Duration is the measured window.
	Duration time.Duration
	// Drain is how long requests in flight at the end of the window may take
	// to finish; those still running then are counted as errors.
	Drain time.Duration
	// Timeout bounds each request.
	Timeout time.Duration
	// MaxRequests caps the requests sent, warm-up included.
	MaxRequests int64
	// Scenario is the request mix.
	Scenario Scenario
}

// Check reports the first problem with c.
func (c Config) Check() error {
	var errs []error
	switch c.Mode {
	case Open:
		if c.Rate <= 0 {
			errs = append(errs, fmt.Errorf("rate is %g; open loop needs a positive rate", c.Rate))
		}
	case Closed:
	default:
		errs = append(errs, fmt.Errorf("mode %q is unknown; use open or closed", c.Mode))
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("workers is %d; want at least 1", c.Workers))
	}
	if c.Duration <= 0 {
		errs = append(errs, fmt.Errorf("duration is %s; want a positive duration such as 30s", c.Duration))
	}
	if c.Warmup < 0 || c.Drain < 0 {
		errs = append(errs, errors.New("warm-up and drain must not be negative"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout is %s; want a positive duration such as 5s", c.Timeout))
	}
	if c.MaxRequests < 1 {
		errs = append(errs, fmt.Errorf("max requests is %d; every run must be bounded by a positive count", c.MaxRequests))
	}
	if len(c.Scenario.seq) == 0 {
		errs = append(errs, errors.New("scenario has no operations; use DefaultScenario or ReadScenario"))
	}
	return errors.Join(errs...)
}

// Result is what a run measured on the client side.
type Result struct {
	// Window is the measured time span.
	Window time.Duration
	// Start and End bound the measured window in wall-clock time, so
	// server-side samples can be matched to it.
	Start, End time.Time
	// Requests counts the measured requests, failed ones included.
	Requests int64
	// Succeeded counts the measured requests that got the expected answer.
	Succeeded int64
	// Errors counts failed measured requests by kind, most frequent first.
	Errors []ErrorCount
	// Latency holds the latency of every measured request that succeeded,
	// in microseconds.
	Latency *hdrhistogram.Histogram
	// MaxStartLag is the longest a measured request waited for a free
	// worker past its intended send time (open loop). A large value means
	// the generator, not only the server, was saturated; the latencies stay
	// honest either way because they are taken from the intended time.
	MaxStartLag time.Duration
	// CountCapped reports that MaxRequests ended the run before its
	// duration did.
	CountCapped bool
}

// Throughput returns the successful requests per second in the window.
func (r *Result) Throughput() float64 {
	if r.Window <= 0 {
		return 0
	}
	return float64(r.Succeeded) / r.Window.Seconds()
}

// ErrorPercent returns the failed share of the measured requests.
func (r *Result) ErrorPercent() float64 {
	if r.Requests == 0 {
		return 0
	}
	return 100 * float64(r.Requests-r.Succeeded) / float64(r.Requests)
}

// ErrorCount is how often one kind of error happened, with one example.
type ErrorCount struct {
	Kind    string `json:"kind"`
	Count   int64  `json:"count"`
	Example string `json:"example"`
}

// Latencies are recorded in microseconds from 1 µs to one minute with three
// significant digits.
const (
	minLatencyMicros = 1
	maxLatencyMicros = int64(time.Minute / time.Microsecond)
	latencyDigits    = 3
)

// recorder collects measurements from many workers; shards keep their
// locks uncontended.
type recorder struct {
	shards []shard
}

type shard struct {
	mu          sync.Mutex
	hist        *hdrhistogram.Histogram
	requests    int64
	succeeded   int64
	errors      map[string]*ErrorCount
	maxStartLag time.Duration
	_           [64]byte // keep neighboring shards off one cache line
}

func newRecorder() *recorder {
	r := &recorder{shards: make([]shard, 2*runtime.GOMAXPROCS(0))}
	for i := range r.shards {
		r.shards[i].hist = hdrhistogram.New(minLatencyMicros, maxLatencyMicros, latencyDigits)
		r.shards[i].errors = make(map[string]*ErrorCount)
	}
	return r
}

func (r *recorder) record(lane int, latency, startLag time.Duration, err error, cutOff bool) {
	s := &r.shards[lane%len(r.shards)]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.maxStartLag = max(s.maxStartLag, startLag)
	if err != nil {
		kind := classify(err, cutOff)
		e := s.errors[kind]
		if e == nil {
			e = &ErrorCount{Kind: kind, Example: err.Error()}
			s.errors[kind] = e
		}
		e.Count++
		return
	}
	s.succeeded++
	us := min(max(latency.Microseconds(), minLatencyMicros), maxLatencyMicros)
	_ = s.hist.RecordValue(us) // in range by construction
}

func (r *recorder) result() *Result {
	res := &Result{Latency: hdrhistogram.New(minLatencyMicros, maxLatencyMicros, latencyDigits)}
	errs := make(map[string]*ErrorCount)
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		res.Latency.Merge(s.hist)
		res.Requests += s.requests
		res.Succeeded += s.succeeded
		res.MaxStartLag = max(res.MaxStartLag, s.maxStartLag)
		for kind, e := range s.errors {
			if all := errs[kind]; all != nil {
				all.Count += e.Count
			} else {
				c := *e
				errs[kind] = &c
			}
		}
		s.mu.Unlock()
	}
	for _, e := range errs {
		res.Errors = append(res.Errors, *e)
	}
	slices.SortFunc(res.Errors, func(a, b ErrorCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Kind, b.Kind))
	})
	return res
}

// Run seeds the items the scenario reads, then drives load against t as cfg
// says. It returns early, with what was measured so far, when ctx ends.
func Run(ctx context.Context, t Target, cfg Config) (*Result, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	ids, err := seed(ctx, t, cfg.Scenario.Items, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, target: t, ids: ids, rec: newRecorder()}
	if cfg.Mode == Open {
		return r.open(ctx), nil
	}
	return r.closed(ctx), nil
}

// seed creates the items GETs read.
func seed(ctx context.Context, t Target, n int, timeout time.Duration) ([]string, error) {
	ids := make([]string, 0, n)
	for i := range n {
		reqCtx, cancel := context.WithTimeout(ctx, timeout)
		id, err := t.Create(reqCtx, i)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("create item %d of %d before the run (is the service up?): %w", i+1, n, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

type runner struct {
	cfg    Config
	target Target
	ids    []string
	rec    *recorder
	next   atomic.Int64
}

// send issues the n-th request of the scenario.
func (r *runner) send(ctx context.Context, lane int, n int64) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	switch r.cfg.Scenario.Op(n) {
	case OpCreate:
		_, err := r.target.Create(ctx, lane)
		return err
	default:
		return r.target.Get(ctx, lane, r.ids[n%int64(len(r.ids))])
	}
}

// open runs the fixed-rate schedule: request n is due at start + n/rate.
// Each worker claims the next due request, sleeps until it is due, sends it
// and records its latency from the due time.
func (r *runner) open(ctx context.Context) *Result {
	cfg := r.cfg
	start := time.Now()
	due := func(n int64) time.Time {
		return start.Add(time.Duration(float64(n) * float64(time.Second) / cfg.Rate))
	}
	scheduled := int64(cfg.Rate * (cfg.Warmup + cfg.Duration).Seconds())
	total := min(scheduled, cfg.MaxRequests)
	measureStart := start.Add(cfg.Warmup)
	measureEnd := start.Add(cfg.Warmup + cfg.Duration)
	if total < scheduled {
		measureEnd = due(total)
	}
	runCtx, cancel := context.WithDeadline(ctx, measureEnd.Add(cfg.Drain))
	defer cancel()

	var wg sync.WaitGroup
	for lane := range cfg.Workers {
		wg.Go(func() {
			timer := time.NewTimer(time.Hour)
			defer timer.Stop()
			for {
				n := r.next.Add(1) - 1
				if n >= total {
					return
				}
				at := due(n)
				if wait := time.Until(at); wait > 0 {
					timer.Reset(wait)
					select {
					case <-timer.C:
					case <-runCtx.Done():
					}
				}
				lag := max(time.Since(at), 0)
				err := runCtx.Err()
				if err == nil {
					err = r.send(runCtx, lane, n)
				}
				latency := time.Since(at)
				if at.Before(measureStart) {
					continue
				}
				r.rec.record(lane, latency, lag, err, ended(runCtx))
			}
		})
	}
	wg.Wait()
	res := r.rec.result()
	res.Start, res.End = measureStart, measureEnd
	res.Window = max(measureEnd.Sub(measureStart), 0) // a cap inside the warm-up leaves no window
	res.CountCapped = total < scheduled
	return res
}

// closed keeps every worker sending back to back until the window ends or
// the request cap is reached. Latency is taken from each actual send, which
// in a closed loop is also its intended time.
func (r *runner) closed(ctx context.Context) *Result {
	cfg := r.cfg
	start := time.Now()
	measureStart := start.Add(cfg.Warmup)
	measureEnd := start.Add(cfg.Warmup + cfg.Duration)
	runCtx, cancel := context.WithDeadline(ctx, measureEnd.Add(cfg.Drain))
	defer cancel()

	var capped atomic.Bool
	var lastDone atomic.Int64 // unix nanoseconds of the latest measured completion
	var wg sync.WaitGroup
	for lane := range cfg.Workers {
		wg.Go(func() {
			for runCtx.Err() == nil {
				at := time.Now()
				if !at.Before(measureEnd) {
					return
				}
				n := r.next.Add(1) - 1
				if n >= cfg.MaxRequests {
					capped.Store(true)
					return
				}
				err := r.send(runCtx, lane, n)
				done := time.Now()
				if at.Before(measureStart) {
					continue
				}
				r.rec.record(lane, done.Sub(at), 0, err, ended(runCtx))
				for {
					last := lastDone.Load()
					if done.UnixNano() <= last || lastDone.CompareAndSwap(last, done.UnixNano()) {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	res := r.rec.result()
	res.Start = measureStart
	res.End = measureEnd
	if last := lastDone.Load(); last > 0 {
		res.End = time.Unix(0, last)
	}
	res.Window = max(res.End.Sub(res.Start), 0)
	res.CountCapped = capped.Load()
	return res
}

// ended reports whether the run whose context is ctx has ended: cancelled,
// or past its deadline. The clock is read as well as ctx.Err because a
// context learns of its deadline from a timer that may fire a moment
// late, while a transport can fail a request for that same deadline
// first (gRPC turns the server's cancellation into DeadlineExceeded once
// the clock has passed the deadline), and such a request is cut off, not
// timed out.
func ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && !time.Now().Before(deadline)
}
