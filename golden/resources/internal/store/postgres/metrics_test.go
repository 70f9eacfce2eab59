package postgres

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"example.com/shop/internal/metrics"
	"example.com/shop/internal/pgtest"
)

// syncBuffer is a bytes.Buffer safe for the pool's background goroutines to
// log into while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// metricFamily gathers reg and returns the family called name.
func metricFamily(t *testing.T, reg *prometheus.Registry, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	t.Fatalf("metric %s not registered", name)
	return nil
}

// labelled returns the series of mf whose query label is query.
func labelled(mf *dto.MetricFamily, query string) *dto.Metric {
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "query" && l.GetValue() == query {
				return m
			}
		}
	}
	return nil
}

func TestTracerCountsQueriesAndErrors(t *testing.T) {
	ctx := context.Background()
	s, reg, _ := migratedStore(t)
	it := newItem("traced", 1)
	if err := s.Create(ctx, it); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Get(ctx, it.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Create(ctx, it); err == nil {
		t.Fatal("duplicate Create succeeded")
	}

	durations := metricFamily(t, reg, metrics.Namespace+"_db_query_duration_seconds")
	if m := labelled(durations, "get_item"); m == nil || m.GetHistogram().GetSampleCount() != 3 {
		t.Errorf("get_item duration samples = %v, want 3", m)
	}
	if m := labelled(durations, "create_item"); m == nil || m.GetHistogram().GetSampleCount() != 2 {
		t.Errorf("create_item duration samples = %v, want 2", m)
	}
	if m := labelled(durations, otherQuery); m == nil || m.GetHistogram().GetSampleCount() == 0 {
		t.Errorf("migration queries were not counted as %q: %v", otherQuery, m)
	}
	errs := metricFamily(t, reg, metrics.Namespace+"_db_query_errors_total")
	if m := labelled(errs, "create_item"); m == nil || m.GetCounter().GetValue() != 1 {
		t.Errorf("create_item errors = %v, want 1 (the duplicate)", m)
	}
	if m := labelled(errs, "get_item"); m == nil || m.GetCounter().GetValue() != 0 {
		t.Errorf("get_item errors = %v, want 0", m)
	}
}

func TestTracerLogsSlowQueries(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	var logs syncBuffer
	cfg := testConfig(url)
	cfg.SlowQuery = 20 * time.Millisecond
	s, err := Open(ctx, cfg, slog.New(slog.NewJSONHandler(&logs, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// pg_sleep guarantees the query takes at least 50 ms, over the threshold.
	if _, err := s.Pool().Exec(ctx, "SELECT pg_sleep(0.05)"); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, `"msg":"slow query"`) || !strings.Contains(out, "pg_sleep") || !strings.Contains(out, `"level":"WARN"`) {
		t.Fatalf("no slow-query warning for pg_sleep(0.05) over a 20ms threshold; log:\n%s", out)
	}
}

func TestTracerQuietUnderThreshold(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	var logs syncBuffer
	cfg := testConfig(url)
	cfg.SlowQuery = time.Hour
	s, err := Open(ctx, cfg, slog.New(slog.NewJSONHandler(&logs, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Pool().Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "slow query") {
		t.Fatalf("a query under the threshold was logged as slow:\n%s", logs.String())
	}
}

func TestPoolCollector(t *testing.T) {
	ctx := context.Background()
	s, reg, _ := migratedStore(t)
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gauge := func(name string) float64 {
		return metricFamily(t, reg, metrics.Namespace+"_db_pool_"+name).GetMetric()[0].GetGauge().GetValue()
	}
	counter := func(name string) float64 {
		return metricFamily(t, reg, metrics.Namespace+"_db_pool_"+name).GetMetric()[0].GetCounter().GetValue()
	}
	if got := gauge("acquired_conns"); got != 1 {
		t.Errorf("acquired_conns = %v while one connection is held, want 1", got)
	}
	if got := gauge("max_conns"); got != 8 {
		t.Errorf("max_conns = %v, want the configured 8", got)
	}
	if total, acquired, idle := gauge("total_conns"), gauge("acquired_conns"), gauge("idle_conns"); total < acquired+idle {
		t.Errorf("total_conns %v < acquired %v + idle %v", total, acquired, idle)
	}
	before := counter("acquires_total")
	conn.Release()
	if _, err := s.Get(ctx, "0123456789abcdef0123456789abcdef"); err == nil {
		t.Fatal("Get of a missing item succeeded")
	}
	if got := counter("acquires_total"); got <= before {
		t.Errorf("acquires_total = %v after another query, want more than %v", got, before)
	}
	if got := gauge("acquired_conns"); got != 0 {
		t.Errorf("acquired_conns = %v after release, want 0", got)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n == 0 {
		t.Fatalf("registry does not gather cleanly: %d series, %v", n, err)
	}
}
