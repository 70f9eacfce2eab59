package postgres

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"example.com/shop/internal/items"
	"example.com/shop/internal/metrics"
	"example.com/shop/internal/pgtest"
)

// deadlineGrace is how far past its deadline a call may return before the
// test calls it hung: room for a loaded machine's scheduler, yet short of
// the connect timeout the test sets, so a call that waits for a connection
// attempt instead of its own deadline fails the test.
const deadlineGrace = 1500 * time.Millisecond

// ackLog records the IDs of acknowledged writes and any call that outlived
// its deadline.
type ackLog struct {
	mu      sync.Mutex
	acked   []string
	late    []time.Duration
	failed  atomic.Int64
	success atomic.Int64
}

// call runs op with a deadline of d and notes how long it took.
func (l *ackLog) call(d time.Duration, op func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	err := op(ctx)
	if took := time.Since(start); took > d+deadlineGrace {
		l.mu.Lock()
		l.late = append(l.late, took)
		l.mu.Unlock()
	}
	return err
}

func TestOutageAndRecovery(t *testing.T) {
	url := pgtest.NewDatabase(t)
	{
		direct, _ := openStore(t, testConfig(url))
		if _, err := Migrate(context.Background(), direct.Pool()); err != nil {
			t.Fatal(err)
		}
		direct.Close()
	}
	px := pgtest.StartProxy(t, pgtest.HostPort(t, url))
	cfg := testConfig(pgtest.WithHost(t, url, px.Addr()))
	cfg.MinConns, cfg.MinIdleConns = 2, 2
	cfg.HealthCheckPeriod = 200 * time.Millisecond
	cfg.ConnectTimeout = 5 * time.Second // longer than deadline+grace, so waiting for it fails the test
	cfg.PingTimeout = 500 * time.Millisecond
	s, reg := openStore(t, cfg)
	svc := items.NewService(s)
	const deadline = 500 * time.Millisecond

	var log ackLog
	ready := func() error {
		return log.call(deadline, svc.Ready)
	}
	waitReady := func(want bool) {
		t.Helper()
		for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if (ready() == nil) == want {
				return
			}
		}
		t.Fatalf("readiness did not become %v within 15s", want)
	}
	waitReady(true)

	// Writers run through the whole outage, each write with its deadline.
	stop := make(chan struct{})
	var writers sync.WaitGroup
	for range 4 {
		writers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var it items.Item
				err := log.call(deadline, func(ctx context.Context) error {
					var err error
					it, err = svc.Create(ctx, items.NewItem{Name: "during outage", Quantity: 1})
					return err
				})
				if err == nil {
					log.mu.Lock()
					log.acked = append(log.acked, it.ID)
					log.mu.Unlock()
					log.success.Add(1)
				} else {
					if !errors.Is(err, items.ErrUnavailable) {
						t.Errorf("write failed with %v, want ErrUnavailable", err)
					}
					log.failed.Add(1)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	t.Cleanup(func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		writers.Wait()
	})

	probeFails := func(phase string) {
		t.Helper()
		err := log.call(deadline, func(ctx context.Context) error {
			_, err := svc.Get(ctx, items.NewID())
			return err
		})
		if !errors.Is(err, items.ErrUnavailable) {
			t.Errorf("%s: Get = %v, want ErrUnavailable", phase, err)
		}
	}

	// Phase 1: connections reset, new ones refused.
	time.Sleep(100 * time.Millisecond)
	px.Cut()
	waitReady(false)
	for range 5 {
		probeFails("cut")
	}

	// Phase 2: packets vanish; calls must give up at their deadline.
	px.Stall()
	waitReady(false)
	for range 3 {
		probeFails("stalled")
	}

	// Phase 3: the database is back; the same pool recovers by itself.
	px.Restore()
	waitReady(true)
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err := log.call(deadline, func(ctx context.Context) error {
			_, err := svc.List(ctx, "", 1)
			return err
		})
		if err == nil {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("List still fails 10s after the database came back: %v", err)
		}
	}
	successBefore := log.success.Load()
	for end := time.Now().Add(10 * time.Second); log.success.Load() < successBefore+10; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("writers did not recover within 10s after the database came back")
		}
	}
	// The breaker closes within its window once calls succeed again.
	for end := time.Now().Add(15 * time.Second); s.pool.breaker.RejectRatio() > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the store's breaker still refuses calls 15s after the database came back")
		}
	}
	close(stop)
	writers.Wait()

	if log.failed.Load() == 0 {
		t.Error("no write failed during the outage: the proxy did not cut anything")
	}
	if len(log.late) > 0 {
		t.Errorf("%d calls outlived their %s deadline by more than %s: %v", len(log.late), deadline, deadlineGrace, log.late)
	}
	// Every acknowledged write survived.
	for _, id := range log.acked {
		if _, err := svc.Get(context.Background(), id); err != nil {
			t.Errorf("acknowledged write %s lost: %v", id, err)
		}
	}
	connectErrors := metricFamily(t, reg, metrics.Namespace+"_db_connect_errors_total").GetMetric()[0].GetCounter().GetValue()
	if connectErrors == 0 {
		t.Error("db_connect_errors_total stayed 0 through refused connections")
	}
	t.Logf("%d writes acknowledged, %d failed fast during the outage", len(log.acked), log.failed.Load())
}

// TestBrokenConnectionsAreDroppedTogether cuts every connection of a warm
// pool at once, as a server restart does, and checks that only the first
// request to find a dead connection fails: the pool is reset then, instead
// of each stale connection failing a request of its own.
func TestBrokenConnectionsAreDroppedTogether(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	px := pgtest.StartProxy(t, pgtest.HostPort(t, url))
	cfg := testConfig(pgtest.WithHost(t, url, px.Addr()))
	cfg.MaxConns = 6
	s, _ := openStore(t, cfg)
	if _, err := Migrate(ctx, s.Pool()); err != nil {
		t.Fatal(err)
	}

	// Use every connection, so all are warm and recently used: the pool
	// pings only connections idle for a second or more before reuse.
	conns := make([]*pgxpool.Conn, 0, cfg.MaxConns)
	for range cfg.MaxConns {
		c, err := s.Pool().Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Release()
	}

	px.Cut()
	px.Restore()
	failures := 0
	for i := range 2 * int(cfg.MaxConns) {
		if _, err := s.Get(ctx, items.NewID()); !errors.Is(err, items.ErrNotFound) {
			if !errors.Is(err, items.ErrUnavailable) {
				t.Fatalf("Get %d: %v, want ErrNotFound or ErrUnavailable", i, err)
			}
			failures++
		}
	}
	if failures > 1 {
		t.Errorf("%d requests failed on connections cut together, want at most 1", failures)
	}
}
