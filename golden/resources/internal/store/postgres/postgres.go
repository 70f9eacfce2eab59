// Package postgres is an items.Store in PostgreSQL behind a pgxpool
// connection pool. The pool is sized and aged like a production pool should
// be (bounded, warm, recycled with jitter, health-checked), every query is
// timed and counted, slow ones are logged, the pool's own statistics are
// exported to Prometheus, and the schema is kept by embedded migrations.
//
// Errors that mean "the database cannot be reached" are wrapped in
// items.ErrUnavailable, so callers answer 503 or UNAVAILABLE at once instead
// of hanging; readiness follows Ping.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"example.com/shop/internal/breaker"
	"example.com/shop/internal/items"
)

// Config holds the connection string and the pool's knobs.
type Config struct {
	// URL is the connection string, a URL (postgres://user@host:5432/db)
	// or keyword/value pairs (host=... dbname=...).
	URL string
	// MaxConns bounds the pool. Requests beyond it wait for a connection,
	// which protects the database from a traffic spike.
	MaxConns int32
	// MinConns is the smallest pool size kept open, even when idle.
	MinConns int32
	// MinIdleConns is how many idle connections the pool keeps ready, so a
	// burst does not pay for new connections.
	MinIdleConns int32
	// MaxConnLifetime recycles connections after this age, so server-side
	// memory growth and load-balancer changes are picked up.
	MaxConnLifetime time.Duration
	// MaxConnLifetimeJitter adds a random share of up to this much to each
	// connection's lifetime, so connections opened together do not all
	// close together.
	MaxConnLifetimeJitter time.Duration
	// MaxConnIdleTime closes connections idle this long (down to MinConns).
	MaxConnIdleTime time.Duration
	// HealthCheckPeriod is how often idle connections are checked and the
	// pool is topped up to MinConns and MinIdleConns.
	HealthCheckPeriod time.Duration
	// ConnectTimeout bounds opening one connection, handshake included.
	ConnectTimeout time.Duration
	// PingTimeout bounds the liveness ping of a connection that sat idle
	// before it is handed out, so a dead connection is replaced quickly.
	PingTimeout time.Duration
	// SlowQuery is the duration above which a query is logged as a warning.
	SlowQuery time.Duration
	// TracerProvider, when set, traces each query made in a traced request
	// with a span named by its statement; nil (tracing off) adds none.
	TracerProvider trace.TracerProvider
}

// DefaultConfig returns the pool settings the service starts with: at most
// 20 connections, 5 kept warm, recycled after 30 minutes (plus up to 3 of
// jitter) or 10 idle minutes, checked every 30 seconds, 30 seconds to
// connect, and queries over 100 ms logged.
func DefaultConfig() Config {
	return Config{
		MaxConns:              20,
		MinConns:              5,
		MinIdleConns:          5,
		MaxConnLifetime:       30 * time.Minute,
		MaxConnLifetimeJitter: 3 * time.Minute,
		MaxConnIdleTime:       10 * time.Minute,
		HealthCheckPeriod:     30 * time.Second,
		ConnectTimeout:        30 * time.Second,
		PingTimeout:           2 * time.Second,
		SlowQuery:             100 * time.Millisecond,
	}
}

// Validate reports the first setting the pool cannot work with.
func (c Config) Validate() error {
	switch {
	case c.URL == "":
		return errors.New("database URL is empty; set DATABASE_URL, e.g. postgres://user@127.0.0.1:5432/db?sslmode=disable")
	case c.MaxConns < 1:
		return fmt.Errorf("db-max-conns %d: must be at least 1", c.MaxConns)
	case c.MinConns < 0 || c.MinConns > c.MaxConns:
		return fmt.Errorf("db-min-conns %d: must be between 0 and db-max-conns (%d)", c.MinConns, c.MaxConns)
	case c.MinIdleConns < 0 || c.MinIdleConns > c.MaxConns:
		return fmt.Errorf("db-min-idle-conns %d: must be between 0 and db-max-conns (%d)", c.MinIdleConns, c.MaxConns)
	case c.MaxConnLifetime <= 0, c.MaxConnIdleTime <= 0, c.HealthCheckPeriod <= 0, c.ConnectTimeout <= 0, c.PingTimeout <= 0, c.SlowQuery <= 0:
		return errors.New("db-max-conn-lifetime, db-max-conn-idle-time, db-health-check-period, db-connect-timeout, db-ping-timeout and db-slow-query must be positive")
	case c.MaxConnLifetimeJitter < 0:
		return fmt.Errorf("db-max-conn-lifetime-jitter %s: must not be negative", c.MaxConnLifetimeJitter)
	}
	return nil
}

// The store's statements. Each has a name the tracer labels its metrics
// with; pgx prepares each once per connection and reuses it from the
// connection's statement cache.
const (
	sqlCreate = `INSERT INTO items (id, name, quantity, created_at) VALUES ($1, $2, $3, $4)`
	sqlGet    = `SELECT name, quantity, created_at FROM items WHERE id = $1`
	sqlList   = `SELECT id, name, quantity, created_at FROM items WHERE id > $1 ORDER BY id LIMIT $2`
	sqlUpdate = `UPDATE items SET name = $2, quantity = $3 WHERE id = $1 RETURNING created_at`
	sqlDelete = `DELETE FROM items WHERE id = $1`
)

var statements = map[string]string{
	sqlCreate:      "create_item",
	sqlGet:         "get_item",
	sqlList:        "list_items",
	sqlUpdate:      "update_item",
	sqlDelete:      "delete_item",
	sqlCreateOrder: "create_order",
	sqlGetOrder:    "get_order",
	sqlUpdateOrder: "update_order",
	sqlListOrders:  "list_orders",
	sqlDeleteOrder: "delete_order",
}

// uniqueViolation is the SQLSTATE of a duplicate key.
const uniqueViolation = "23505"

// Store is an items.Store in PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool *guardedPool
}

var _ items.Store = (*Store)(nil)

// Open creates the pool and registers its query and pool metrics on reg.
// It does not wait for the database: connections are opened on demand and
// by the pool's background top-up, so call Migrate (or Ping) to find out
// whether the database answers.
func Open(ctx context.Context, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// The parse error can quote the URL, password included: don't wrap it.
		return nil, errors.New("database URL is malformed; use postgres://user:password@host:5432/db?sslmode=disable or host=... dbname=... pairs")
	}
	pc.MaxConns = cfg.MaxConns
	pc.MinConns = cfg.MinConns
	pc.MinIdleConns = cfg.MinIdleConns
	pc.MaxConnLifetime = cfg.MaxConnLifetime
	pc.MaxConnLifetimeJitter = cfg.MaxConnLifetimeJitter
	pc.MaxConnIdleTime = cfg.MaxConnIdleTime
	pc.HealthCheckPeriod = cfg.HealthCheckPeriod
	pc.PingTimeout = cfg.PingTimeout
	pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	// The default exec mode, spelled out because the hot path depends on
	// it: statements are prepared once per connection and cached.
	pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement

	tracer := NewTracer(log, cfg.SlowQuery, statements)
	tracer.TraceSpans(cfg.TracerProvider)
	pc.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	for _, c := range []prometheus.Collector{tracer, NewPoolCollector(pool)} {
		if err := reg.Register(c); err != nil {
			pool.Close()
			return nil, fmt.Errorf("register database metrics: %w", err)
		}
	}
	// Every query passes through the breaker (breaker.go), at its defaults.
	br := breaker.New("postgres", breaker.Options{})
	if err := br.Register(reg); err != nil {
		pool.Close()
		return nil, fmt.Errorf("register database breaker metrics: %w", err)
	}
	return &Store{pool: &guardedPool{Pool: pool, breaker: br}}, nil
}

// Pool returns the connection pool, for migrations and for code that needs
// queries of its own.
func (s *Store) Pool() *pgxpool.Pool { return s.pool.Pool }

// Close closes every connection. Call it after the servers have drained.
func (s *Store) Close() { s.pool.Close() }

// Create implements items.Store.
func (s *Store) Create(ctx context.Context, it items.Item) error {
	_, err := s.pool.Exec(ctx, sqlCreate, it.ID, it.Name, it.Quantity, it.CreatedAt)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == uniqueViolation {
			return fmt.Errorf("item %s already exists: %w", it.ID, err)
		}
		return s.fail("create item", err)
	}
	return nil
}

// Get implements items.Store.
func (s *Store) Get(ctx context.Context, id string) (items.Item, error) {
	it := items.Item{ID: id}
	err := s.pool.QueryRow(ctx, sqlGet, id).Scan(&it.Name, &it.Quantity, &it.CreatedAt)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return items.Item{}, items.ErrNotFound
		}
		return items.Item{}, s.fail("get item", err)
	}
	it.CreatedAt = it.CreatedAt.UTC()
	return it, nil
}

// List implements items.Store.
func (s *Store) List(ctx context.Context, after string, limit int) ([]items.Item, error) {
	rows, err := s.pool.Query(ctx, sqlList, after, limit)
	if err != nil {
		return nil, s.fail("list items", err)
	}
	defer rows.Close()
	out := make([]items.Item, 0, min(limit, 64))
	for rows.Next() {
		var it items.Item
		if err := rows.Scan(&it.ID, &it.Name, &it.Quantity, &it.CreatedAt); err != nil {
			return nil, s.fail("list items", err)
		}
		it.CreatedAt = it.CreatedAt.UTC()
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list items", err)
	}
	return out, nil
}

// Update implements items.Store in one statement: the row's new values
// and its creation time come back from the UPDATE, and no row means no
// item.
func (s *Store) Update(ctx context.Context, id string, in items.NewItem) (items.Item, error) {
	it := items.Item{ID: id, Name: in.Name, Quantity: in.Quantity}
	err := s.pool.QueryRow(ctx, sqlUpdate, id, in.Name, in.Quantity).Scan(&it.CreatedAt)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return items.Item{}, items.ErrNotFound
		}
		return items.Item{}, s.fail("update item", err)
	}
	it.CreatedAt = it.CreatedAt.UTC()
	return it, nil
}

// Delete implements items.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, sqlDelete, id)
	if err != nil {
		return s.fail("delete item", err)
	}
	if tag.RowsAffected() == 0 {
		return items.ErrNotFound
	}
	return nil
}

// Ping implements items.Store: it round-trips to the database on a pooled
// connection, so it fails while the database is unreachable and succeeds
// again as soon as a new connection can be opened.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return s.fail("ping database", err)
	}
	return nil
}

// fail wraps err for the operation op. Errors that mean the database could
// not be reached are marked items.ErrUnavailable. When an established
// connection broke, every pooled connection is dropped: a network cut or a
// server restart killed them all, and each would otherwise fail one more
// request before the pool noticed. (A failed connect has nothing to drop.)
func (s *Store) fail(op string, err error) error {
	return s.failAs(op, items.ErrUnavailable, err)
}

// failAs is fail for any resource: errors that mean the database could not
// be reached are marked with the resource's unavailable, which matches
// resource.ErrUnavailable.
func (s *Store) failAs(op string, unavailableErr, err error) error {
	if !unavailable(err) {
		return fmt.Errorf("%s: %w", op, err)
	}
	var connectErr *pgconn.ConnectError
	if connectionLost(err) && !errors.As(err, &connectErr) {
		s.pool.Reset()
	}
	return fmt.Errorf("%s: %w: %w", op, unavailableErr, err)
}

// unavailable reports whether err means the database could not serve the
// request at all, as opposed to rejecting it: the caller's deadline ran out,
// no connection could be opened, the connection broke, or the server is
// shutting down or out of connections.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false // the caller went away; nothing is wrong with the database
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03": // admin or crash shutdown, cannot connect now
			return true
		case "53300": // too many connections
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08") // connection exception
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.Is(err, breaker.ErrOpen) || errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || connectionLost(err)
}

// connectionLost reports whether an established connection broke.
func connectionLost(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
