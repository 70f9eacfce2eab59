package postgres

import (
	"cmp"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationFiles holds the schema's history: migrations/NNNN_name.sql,
// applied in version order, each exactly once. Never edit an applied
// migration; add the next number instead.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one versioned schema change.
type Migration struct {
	// Version orders migrations; it is the file name's number.
	Version int64
	// Name is the rest of the file name, without the extension.
	Name string
	// SQL is the file's contents, run in one transaction.
	SQL string
	// Checksum is the SHA-256 of SQL in hex, recorded when it is applied so
	// an edited migration is noticed.
	Checksum string
}

// MigrationState is a migration and whether the database has it.
type MigrationState struct {
	Migration
	// Applied reports whether the migration was applied; AppliedAt says when.
	Applied   bool
	AppliedAt time.Time
	// Modified reports that the migration's file changed after it was
	// applied.
	Modified bool
	// Unknown reports a migration the database has but this binary does
	// not, as after a rollback to an older release. Only Version, Name and
	// AppliedAt are set.
	Unknown bool
}

// migrationLockKey is the advisory lock that serializes migrations across
// every replica that starts at once. Advisory locks are per database, so
// services sharing a server do not block each other.
var migrationLockKey = func() int64 {
	h := fnv.New64a()
	h.Write([]byte("shop/schema_migrations"))
	return int64(h.Sum64())
}()

var migrationName = regexp.MustCompile(`^(\d+)_([a-z0-9_]+)\.sql$`)

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	return loadMigrations(migrationFiles, "migrations")
}

// loadMigrations reads dir's NNNN_name.sql files and rejects anything that
// would make the order ambiguous.
func loadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("migration %s: name it NNNN_lowercase_words.sql, e.g. 0002_add_price.sql", e.Name())
		}
		version, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || version < 1 {
			return nil, fmt.Errorf("migration %s: version must be a positive number", e.Name())
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(body)
		out = append(out, Migration{Version: version, Name: m[2], SQL: string(body), Checksum: hex.EncodeToString(sum[:])})
	}
	slices.SortFunc(out, func(a, b Migration) int { return cmp.Compare(a.Version, b.Version) })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %d_%s and %d_%s share version %d; renumber one", out[i-1].Version, out[i-1].Name, out[i].Version, out[i].Name, out[i].Version)
		}
	}
	return out, nil
}

const sqlCreateMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    bigint PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`

// Migrate applies the embedded migrations the database does not have yet
// and returns the ones it applied. It is safe to run from many processes at
// once: each migration runs in its own transaction that first takes an
// advisory lock, then checks again whether another process applied it
// meanwhile. It fails when an applied migration's file was edited.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]Migration, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	return migrate(ctx, pool, ms)
}

func migrate(ctx context.Context, pool *pgxpool.Pool, ms []Migration) ([]Migration, error) {
	var applied []Migration
	for _, m := range ms {
		done, err := applyMigration(ctx, pool, m)
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, m)
		}
	}
	return applied, nil
}

// applyMigration applies m unless the database has it, and reports whether
// it did.
func applyMigration(ctx context.Context, pool *pgxpool.Pool, m Migration) (bool, error) {
	applied := false
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// Held until commit or rollback, even if the connection dies.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		// Under the lock: concurrent CREATE TABLE IF NOT EXISTS can fail.
		if _, err := tx.Exec(ctx, sqlCreateMigrationsTable); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var checksum string
		err := tx.QueryRow(ctx, "SELECT checksum FROM schema_migrations WHERE version = $1", m.Version).Scan(&checksum)
		switch {
		case err == nil && checksum == m.Checksum:
			return nil
		case err == nil:
			return fmt.Errorf("migration %d_%s was edited after it was applied; restore it and add a new migration instead", m.Version, m.Name)
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("apply migration %d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", m.Version, m.Name, m.Checksum); err != nil {
			return fmt.Errorf("record migration %d_%s: %w", m.Version, m.Name, err)
		}
		applied = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return applied, nil
}

// Status reports every embedded migration and whether the database has it,
// plus any the database has that this binary does not know, in version
// order.
func Status(ctx context.Context, pool *pgxpool.Pool) ([]MigrationState, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	return status(ctx, pool, ms)
}

func status(ctx context.Context, pool *pgxpool.Pool, ms []Migration) ([]MigrationState, error) {
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return nil, fmt.Errorf("look for schema_migrations: %w", err)
	}
	type record struct {
		name, checksum string
		at             time.Time
	}
	recorded := map[int64]record{}
	if exists {
		rows, err := pool.Query(ctx, "SELECT version, name, checksum, applied_at FROM schema_migrations")
		if err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		for rows.Next() {
			var v int64
			var r record
			if err := rows.Scan(&v, &r.name, &r.checksum, &r.at); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read schema_migrations: %w", err)
			}
			recorded[v] = r
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
	}
	out := make([]MigrationState, 0, len(ms))
	for _, m := range ms {
		st := MigrationState{Migration: m}
		if r, ok := recorded[m.Version]; ok {
			st.Applied, st.AppliedAt, st.Modified = true, r.at.UTC(), r.checksum != m.Checksum
			delete(recorded, m.Version)
		}
		out = append(out, st)
	}
	for v, r := range recorded {
		out = append(out, MigrationState{Migration: Migration{Version: v, Name: r.name}, Applied: true, AppliedAt: r.at.UTC(), Unknown: true})
	}
	slices.SortFunc(out, func(a, b MigrationState) int { return cmp.Compare(a.Version, b.Version) })
	return out, nil
}
