package postgres

import (
	"context"
	"testing"

	"example.com/shop/internal/pgtest"
)

// BenchmarkGet measures the hot read: one pooled, cached prepared
// statement per call. Run with DATABASE_URL set:
//
//	go test -run '^$' -bench Get -benchmem ./internal/store/postgres
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	s, _, _ := migratedStore(b)
	it := newItem("benchmark", 42)
	if err := s.Create(ctx, it); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, it.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetParallel measures Get from many goroutines sharing the pool,
// as concurrent requests do.
func BenchmarkGetParallel(b *testing.B) {
	ctx := context.Background()
	s, _, _ := migratedStore(b)
	it := newItem("benchmark", 42)
	if err := s.Create(ctx, it); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer() // the database and the item are setup, not the measured path
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Get(ctx, it.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestGetUsesAPreparedStatement checks that the hot read is prepared once
// per connection and then executed by name, which is what makes it one
// round trip.
func TestGetUsesAPreparedStatement(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	cfg := testConfig(url)
	cfg.MaxConns, cfg.MinConns, cfg.MinIdleConns = 1, 1, 1 // one session to look into
	s, _ := openStore(t, cfg)
	if _, err := Migrate(ctx, s.Pool()); err != nil {
		t.Fatal(err)
	}
	it := newItem("prepared", 1)
	if err := s.Create(ctx, it); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Get(ctx, it.ID); err != nil {
			t.Fatal(err)
		}
	}
	var prepared int
	// pg_prepared_statements lists the session's own statements.
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", sqlGet).Scan(&prepared); err != nil {
		t.Fatal(err)
	}
	if prepared != 1 {
		t.Fatalf("the Get statement is prepared %d times on the connection, want once", prepared)
	}
}
