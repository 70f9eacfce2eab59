package postgres

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"example.com/shop/internal/pgtest"
)

func TestLoadMigrations(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatalf("embedded migrations: %v", err)
	}
	if len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("embedded migrations = %+v, want 0001 first", ms)
	}

	good := fstest.MapFS{
		"m/0010_later.sql": {Data: []byte("SELECT 10")},
		"m/0002_early.sql": {Data: []byte("SELECT 2")},
	}
	ms, err = loadMigrations(good, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Version != 2 || ms[1].Version != 10 || ms[1].Name != "later" || ms[0].Checksum == ms[1].Checksum {
		t.Fatalf("loadMigrations = %+v, want 2_early then 10_later with distinct checksums", ms)
	}

	for name, fsys := range map[string]fstest.MapFS{
		"no number":         {"m/create_items.sql": {}},
		"wrong extension":   {"m/0001_create_items.up": {}},
		"upper case":        {"m/0001_Create.sql": {}},
		"version zero":      {"m/0000_nothing.sql": {}},
		"duplicate version": {"m/0001_a.sql": {}, "m/1_b.sql": {}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := loadMigrations(fsys, "m"); err == nil {
				t.Fatal("loadMigrations accepted it")
			}
		})
	}
}

func TestMigrateTwiceAndStatus(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t, testConfig(pgtest.NewDatabase(t)))
	all, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}

	st, err := Status(ctx, s.Pool())
	if err != nil {
		t.Fatalf("Status on an empty database: %v", err)
	}
	for _, m := range st {
		if m.Applied {
			t.Fatalf("migration %d applied on an empty database", m.Version)
		}
	}

	applied, err := Migrate(ctx, s.Pool())
	if err != nil || len(applied) != len(all) {
		t.Fatalf("first Migrate applied %d of %d: %v", len(applied), len(all), err)
	}
	applied, err = Migrate(ctx, s.Pool())
	if err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate applied %d, err %v; want nothing to do", len(applied), err)
	}

	// A row this binary does not know, as after rolling back a release.
	if _, err := s.Pool().Exec(ctx, "INSERT INTO schema_migrations (version, name, checksum) VALUES (999999, 'from_the_future', 'x')"); err != nil {
		t.Fatal(err)
	}
	st, err = Status(ctx, s.Pool())
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != len(all)+1 {
		t.Fatalf("Status has %d rows, want %d", len(st), len(all)+1)
	}
	for _, m := range st[:len(all)] {
		if !m.Applied || m.Modified || m.Unknown || m.AppliedAt.IsZero() {
			t.Errorf("after Migrate: %+v, want applied and unmodified", m)
		}
	}
	if last := st[len(st)-1]; !last.Unknown || last.Version != 999999 {
		t.Errorf("Status's last row = %+v, want the unknown migration 999999", last)
	}
	if _, err := Migrate(ctx, s.Pool()); err != nil {
		t.Fatalf("Migrate with a newer migration recorded: %v; an older release must still start", err)
	}
}

func TestMigrateRefusesAnEditedMigration(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t, testConfig(pgtest.NewDatabase(t)))
	v1 := []Migration{{Version: 1, Name: "t", SQL: "CREATE TABLE t (a int)", Checksum: "one"}}
	if _, err := migrate(ctx, s.Pool(), v1); err != nil {
		t.Fatal(err)
	}
	edited := []Migration{{Version: 1, Name: "t", SQL: "CREATE TABLE t (a bigint)", Checksum: "two"}}
	_, err := migrate(ctx, s.Pool(), edited)
	if err == nil || !strings.Contains(err.Error(), "edited after it was applied") {
		t.Fatalf("Migrate with an edited migration: err = %v, want it refused", err)
	}
	st, err := status(ctx, s.Pool(), edited)
	if err != nil || len(st) != 1 || !st[0].Modified {
		t.Fatalf("status = %+v, %v; want the migration marked modified", st, err)
	}
}

func TestMigrateFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t, testConfig(pgtest.NewDatabase(t)))
	broken := []Migration{
		{Version: 1, Name: "ok", SQL: "CREATE TABLE a (x int)", Checksum: "a"},
		{Version: 2, Name: "broken", SQL: "CREATE TABLE b (x int); SELECT no_such_function()", Checksum: "b"},
	}
	applied, err := migrate(ctx, s.Pool(), broken)
	if err == nil || len(applied) != 1 {
		t.Fatalf("migrate = %d applied, %v; want the first applied and an error", len(applied), err)
	}
	var exists bool
	if err := s.Pool().QueryRow(ctx, "SELECT to_regclass('b') IS NOT NULL").Scan(&exists); err != nil || exists {
		t.Fatalf("table b exists = %v (%v): a failed migration must leave nothing behind", exists, err)
	}
}

func TestMigrateConcurrentPools(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	const replicas = 4
	stores := make([]*Store, replicas)
	for i := range stores {
		stores[i], _ = openStore(t, testConfig(url))
	}
	var wg sync.WaitGroup
	applied := make([]int, replicas)
	errs := make([]error, replicas)
	start := make(chan struct{})
	for i, s := range stores {
		wg.Go(func() {
			<-start
			ms, err := Migrate(ctx, s.Pool())
			applied[i], errs[i] = len(ms), err
		})
	}
	close(start)
	wg.Wait()
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
		total += applied[i]
	}
	assertMigratedOnce(t, stores[0], total)
}

// TestMigrateTwoProcesses starts two copies of this test binary that
// migrate the same database at once, as two replicas starting together do.
func TestMigrateTwoProcesses(t *testing.T) {
	url := pgtest.NewDatabase(t)
	cmds := make([]*exec.Cmd, 2)
	outs := make([]strings.Builder, 2)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestMigrateHelperProcess$", "-test.count=1")
		cmds[i].Env = append(os.Environ(), "MIGRATE_HELPER_URL="+url)
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("process %d: %v\n%s", i, err, outs[i].String())
		}
	}
	s, _ := openStore(t, testConfig(url))
	all, _ := Migrations()
	assertMigratedOnce(t, s, len(all))
}

// TestMigrateHelperProcess is the child of TestMigrateTwoProcesses; it
// does nothing in a normal run.
func TestMigrateHelperProcess(t *testing.T) {
	url := os.Getenv("MIGRATE_HELPER_URL")
	if url == "" {
		return
	}
	s, _ := openStore(t, testConfig(url))
	if _, err := Migrate(context.Background(), s.Pool()); err != nil {
		t.Fatal(err)
	}
}

// assertMigratedOnce checks that every embedded migration is recorded
// exactly once and that applied, the number of migrations the callers
// reported applying, adds up.
func assertMigratedOnce(t *testing.T, s *Store, applied int) {
	t.Helper()
	all, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(all) {
		t.Errorf("the replicas applied %d migrations in total, want %d: each exactly once", applied, len(all))
	}
	var rows int
	if err := s.Pool().QueryRow(context.Background(), "SELECT count(*) FROM schema_migrations").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(all) {
		t.Errorf("schema_migrations has %d rows, want %d", rows, len(all))
	}
	if _, err := s.Get(context.Background(), "0123456789abcdef0123456789abcdef"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("Get on the migrated schema: %v, want not found", err)
	}
}
