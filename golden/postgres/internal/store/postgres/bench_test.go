package postgres

import (
	"context"
	"testing"
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
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Get(ctx, it.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
