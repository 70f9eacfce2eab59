package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"example.com/shop/internal/items"
)

func newItem(name string, qty int64) items.Item {
	return items.Item{ID: items.NewID(), Name: name, Quantity: qty, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
}

func TestCRUDAndRestart(t *testing.T) {
	ctx := context.Background()
	s, _, url := migratedStore(t)

	it := newItem("widget", 3)
	if err := s.Create(ctx, it); err != nil {
		t.Fatalf("Create: %v", err)
	}
	got, err := s.Get(ctx, it.ID)
	if err != nil || got != it {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, it)
	}
	// Update replaces name and quantity in one statement and keeps the
	// creation time, which comes back from the row.
	it.Name, it.Quantity = "renamed", 8
	if got, err := s.Update(ctx, it.ID, items.NewItem{Name: it.Name, Quantity: it.Quantity}); err != nil || got != it {
		t.Fatalf("Update = %+v, %v; want %+v", got, err, it)
	}
	if got, err := s.Get(ctx, it.ID); err != nil || got != it {
		t.Fatalf("Get after Update = %+v, %v; want %+v", got, err, it)
	}
	if _, err := s.Update(ctx, items.NewID(), items.NewItem{Name: "x"}); !errors.Is(err, items.ErrNotFound) {
		t.Fatalf("Update of a missing item: err = %v, want ErrNotFound", err)
	}
	gone := newItem("gadget", 0)
	if err := s.Create(ctx, gone); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := s.Delete(ctx, gone.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx, gone.ID); !errors.Is(err, items.ErrNotFound) {
		t.Fatalf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, gone.ID); !errors.Is(err, items.ErrNotFound) {
		t.Fatalf("second Delete: err = %v, want ErrNotFound", err)
	}

	// A restarted service is a new pool on the same database.
	s.Close()
	restarted, _ := openStore(t, testConfig(url))
	got, err = restarted.Get(ctx, it.ID)
	if err != nil || got != it {
		t.Fatalf("Get after restart = %+v, %v; want %+v", got, err, it)
	}
	if _, err := restarted.Get(ctx, gone.ID); !errors.Is(err, items.ErrNotFound) {
		t.Fatalf("deleted item after restart: err = %v, want ErrNotFound", err)
	}
}

func TestListPagesInIDOrder(t *testing.T) {
	ctx := context.Background()
	s, _, _ := migratedStore(t)
	var want []string
	for i := range 7 {
		it := newItem(fmt.Sprintf("item %d", i), int64(i))
		if err := s.Create(ctx, it); err != nil {
			t.Fatal(err)
		}
		want = append(want, it.ID)
	}
	var seen []string
	after := ""
	for range 10 {
		page, err := s.List(ctx, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, it := range page {
			seen = append(seen, it.ID)
		}
		after = page[len(page)-1].ID
	}
	slices.Sort(want) // bytewise, the order the "C" collation gives
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("pages = %v\nwant %v", seen, want)
	}
}

func TestConcurrentWritersOnOneKey(t *testing.T) {
	ctx := context.Background()
	s, _, _ := migratedStore(t)
	const writers = 16
	it := newItem("contended", 1)

	run := func(op func(i int) error) (ok int, errs []error) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range writers {
			wg.Go(func() {
				<-start
				err := op(i)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					ok++
				} else {
					errs = append(errs, err)
				}
			})
		}
		close(start)
		wg.Wait()
		return ok, errs
	}

	ok, errs := run(func(i int) error {
		v := it
		v.Quantity = int64(i)
		return s.Create(ctx, v)
	})
	if ok != 1 {
		t.Fatalf("%d of %d concurrent creates of one ID succeeded, want exactly 1", ok, writers)
	}
	for _, err := range errs {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != uniqueViolation {
			t.Errorf("losing create: err = %v, want a unique violation", err)
		}
	}
	got, err := s.Get(ctx, it.ID)
	if err != nil || got.Name != it.Name {
		t.Fatalf("Get after the race = %+v, %v", got, err)
	}

	ok, errs = run(func(int) error { return s.Delete(ctx, it.ID) })
	if ok != 1 {
		t.Fatalf("%d of %d concurrent deletes of one ID succeeded, want exactly 1", ok, writers)
	}
	for _, err := range errs {
		if !errors.Is(err, items.ErrNotFound) {
			t.Errorf("losing delete: err = %v, want ErrNotFound", err)
		}
	}
}

func TestStoreRejectsWhatTheSchemaForbids(t *testing.T) {
	ctx := context.Background()
	s, _, _ := migratedStore(t)
	err := s.Create(ctx, newItem("negative", -1))
	if err == nil {
		t.Fatal("Create with a negative quantity succeeded; the schema's CHECK should refuse it")
	}
	if errors.Is(err, items.ErrUnavailable) {
		t.Fatalf("a constraint violation was reported as unavailable: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	valid := DefaultConfig()
	valid.URL = "postgres://localhost/db"
	if err := valid.Validate(); err != nil {
		t.Fatalf("DefaultConfig with a URL: %v", err)
	}
	for name, mutate := range map[string]func(*Config){
		"no url":             func(c *Config) { c.URL = "" },
		"no connections":     func(c *Config) { c.MaxConns = 0 },
		"min above max":      func(c *Config) { c.MinConns = c.MaxConns + 1 },
		"min idle above max": func(c *Config) { c.MinIdleConns = c.MaxConns + 1 },
		"zero lifetime":      func(c *Config) { c.MaxConnLifetime = 0 },
		"negative jitter":    func(c *Config) { c.MaxConnLifetimeJitter = -time.Second },
		"zero slow query":    func(c *Config) { c.SlowQuery = 0 },
		"zero connect":       func(c *Config) { c.ConnectTimeout = 0 },
	} {
		t.Run(name, func(t *testing.T) {
			c := valid
			mutate(&c)
			if err := c.Validate(); err == nil {
				t.Fatal("Validate accepted it")
			}
		})
	}
}

func TestOpenHidesAMalformedURL(t *testing.T) {
	cfg := DefaultConfig()
	cfg.URL = "postgres://user:s3cret@host:notaport/db"
	_, err := Open(context.Background(), cfg, nil, nil)
	if err == nil {
		t.Fatal("Open accepted a malformed URL")
	}
	if got := err.Error(); strings.Contains(got, "s3cret") {
		t.Fatalf("error quotes the password: %s", got)
	}
}

func TestUnavailableClassifiesErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"check violation", &pgconn.PgError{Code: "23514"}, false},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"connect error", &pgconn.ConnectError{}, true},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), true},
		{"caller canceled", fmt.Errorf("query: %w", context.Canceled), false},
		{"connection lost", fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), true},
		{"closed connection", fmt.Errorf("query: %w", pgconn.ErrConnClosed), true},
		{"programming error", errors.New("cannot scan int8 into *string"), false},
	} {
		if got := unavailable(tc.err); got != tc.want {
			t.Errorf("unavailable(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
