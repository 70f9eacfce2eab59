package postgres

import (
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/orders"
	"example.com/shop/internal/resource"
)

// TestOrdersStore holds the Postgres store to the orders.Store contract:
// what is created reads back whole, an update replaces the fields and the
// update time only, pages come in ID order, and a missing order is
// ErrNotFound.
func TestOrdersStore(t *testing.T) {
	s := openOrders(t)
	ctx := t.Context()
	now := time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC)
	record := func(n *orders.NewOrder) *orders.Order {
		rec := &orders.Order{Id: orders.NewID(), CreateTime: timestamppb.New(now), UpdateTime: timestamppb.New(now)}
		resource.CopyFields(rec, n)
		return rec
	}

	want := &orders.NewOrder{
		Customer:   "alpha",
		TotalCents: 1234567890123,
		Note:       ptrOrder[string]("alpha"),
		PlacedAt:   timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
	}
	rec := record(want)
	if err := s.Create(ctx, rec); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := s.Create(ctx, rec); err == nil {
		t.Fatal("Create of an existing ID succeeded")
	}
	got, err := s.Get(ctx, rec.GetId())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !proto.Equal(got, rec) {
		t.Fatalf("Get = %v, want %v", got, rec)
	}

	other := &orders.NewOrder{
		Customer:   "beta",
		TotalCents: 42,
		Note:       ptrOrder[string]("beta"),
		PlacedAt:   timestamppb.New(time.Date(2027, 6, 7, 8, 9, 10, 123000, time.UTC)),
	}
	later := now.Add(time.Hour)
	updated, err := s.Update(ctx, rec.GetId(), record(other), later)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	checkSameOrder(t, updated, other)
	if got, err = s.Get(ctx, rec.GetId()); err != nil {
		t.Fatalf("Get: %v", err)
	}
	checkSameOrder(t, got, other)
	if got.GetId() != rec.GetId() || !got.GetCreateTime().AsTime().Equal(now) || !got.GetUpdateTime().AsTime().Equal(later) {
		t.Fatalf("after Update, Get = %v; want ID %s, created at %v, updated at %v", got, rec.GetId(), now, later)
	}

	// An update without the optional fields stores their absence.
	cleared := proto.CloneOf(other)
	cleared.Note = nil
	if _, err := s.Update(ctx, rec.GetId(), record(cleared), later); err != nil {
		t.Fatalf("Update clearing the optional fields: %v", err)
	}
	if got, err = s.Get(ctx, rec.GetId()); err != nil {
		t.Fatalf("Get: %v", err)
	}
	checkSameOrder(t, got, cleared)
	if _, err := s.Update(ctx, orders.NewID(), record(other), later); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("Update of a missing order: err = %v, want ErrNotFound", err)
	}

	ids := []string{rec.GetId()}
	for range 4 {
		r := record(want)
		if err := s.Create(ctx, r); err != nil {
			t.Fatalf("Create: %v", err)
		}
		ids = append(ids, r.GetId())
	}
	slices.Sort(ids)
	var paged []string
	for after := ""; ; {
		page, err := s.List(ctx, after, 2)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		for _, r := range page {
			paged = append(paged, r.GetId())
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].GetId()
	}
	if !slices.Equal(paged, ids) {
		t.Fatalf("pages of 2 listed %v, want %v in ID order", paged, ids)
	}

	if err := s.Delete(ctx, rec.GetId()); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx, rec.GetId()); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, rec.GetId()); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("second Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// checkSameOrder fails t unless got holds exactly the client-settable
// fields of want, besides its ID and times.
func checkSameOrder(t *testing.T, got *orders.Order, want *orders.NewOrder) {
	t.Helper()
	w := &orders.Order{Id: got.GetId(), CreateTime: got.GetCreateTime(), UpdateTime: got.GetUpdateTime()}
	resource.CopyFields(w, want)
	if !proto.Equal(got, w) {
		t.Fatalf("got %v, want the fields of %v", got, want)
	}
}

// ptrOrder returns a pointer to v, for optional fields.
func ptrOrder[T any](v T) *T { return &v }

// openOrders returns the orders store of a new, migrated test
// database; without DATABASE_URL the test is skipped.
func openOrders(t *testing.T) *Orders {
	t.Helper()
	s, _, _ := migratedStore(t)
	return s.Orders()
}

// TestOrdersServiceRefusesBadTextBeforeTheDatabase checks that text the
// protobuf encoding cannot keep (invalid UTF-8), or that SQL tools would
// not (a NUL byte), is refused by the service as invalid, the answer the
// in-memory store gets too, before it reaches the database.
func TestOrdersServiceRefusesBadTextBeforeTheDatabase(t *testing.T) {
	svc := orders.NewService(openOrders(t))
	for _, bad := range []string{"nul\x00byte", "bad\xffutf8"} {
		n := &orders.NewOrder{
			Customer:   "alpha",
			TotalCents: 1234567890123,
			Note:       ptrOrder[string]("alpha"),
			PlacedAt:   timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		}
		n.Customer = bad
		if _, err := svc.Create(t.Context(), n); !errors.Is(err, orders.ErrInvalid) {
			t.Errorf("Create with customer %q: err = %v, want ErrInvalid", bad, err)
		}
	}
}

// TestOrdersSQLUpdateReachesAnotherReplicasCache: a replica (its own
// pool, cache and listener) that read a order holds it in its cache;
// an UPDATE of the orders table run as plain SQL on another connection,
// outside any Service, reaches that cache through the table's trigger, and
// the replica reads the new row instead of the one it cached.
func TestOrdersSQLUpdateReachesAnotherReplicasCache(t *testing.T) {
	ctx := t.Context()
	writer, _, url := migratedStore(t)
	s, _ := openStore(t, testConfig(url))
	c, err := cache.New(cache.Options[*orders.Encoded]{MaxEntries: 1000, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	caches := resource.NewCaches()
	if err := caches.Add("orders", c); err != nil {
		t.Fatal(err)
	}
	lc, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	l, err := newListener(lc, time.Second, caches, log, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	l.start()
	t.Cleanup(l.Close)
	eventually(t, "the replica's cache is trusted", func() bool { return !caches.Suspended() })

	svc := orders.NewService(s.Orders(), orders.WithCache(c))
	created, err := svc.Create(ctx, &orders.NewOrder{
		Customer:   "alpha",
		TotalCents: 1234567890123,
		Note:       ptrOrder[string]("alpha"),
		PlacedAt:   timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
	})
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetId()
	if _, err := svc.Get(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(id); !ok {
		t.Fatal("the order is not cached after a read")
	}
	want := created.GetUpdateTime().AsTime().Add(time.Hour)
	if _, err := writer.Pool().Exec(ctx, `UPDATE orders SET updated_at = $2 WHERE id = $1`, id, want); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the SQL UPDATE reaches the replica's cache", func() bool {
		got, err := svc.Get(ctx, id)
		return err == nil && got.GetUpdateTime().AsTime().Equal(want)
	})
}
