package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"example.com/shop/internal/orders"
)

// The statements of the orders table (see migrations/0002_create_orders.sql);
// statements in postgres.go names them for the tracer.
const (
	sqlCreateOrder = `INSERT INTO orders (id, customer, total_cents, note, placed_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	sqlGetOrder    = `SELECT customer, total_cents, note, placed_at, created_at, updated_at FROM orders WHERE id = $1`
	sqlUpdateOrder = `UPDATE orders SET customer = $2, total_cents = $3, note = $4, placed_at = $5, updated_at = $6 WHERE id = $1 RETURNING created_at, updated_at`
	sqlListOrders  = `SELECT id, customer, total_cents, note, placed_at, created_at, updated_at FROM orders WHERE id > $1 ORDER BY id LIMIT $2`
	sqlDeleteOrder = `DELETE FROM orders WHERE id = $1`
)

// Orders is the orders.Store in the database of a Store, over its pool.
// It is safe for concurrent use.
type Orders struct {
	s *Store
}

var _ orders.Store = (*Orders)(nil)

// Orders returns the store of the orders resource, in s's database.
func (s *Store) Orders() *Orders { return &Orders{s: s} }

// Create implements orders.Store.
func (t *Orders) Create(ctx context.Context, rec orders.Order) error {
	_, err := t.s.pool.Exec(ctx, sqlCreateOrder, rec.ID, rec.Customer, rec.TotalCents, rec.Note, rec.PlacedAt, rec.CreatedAt, rec.UpdatedAt)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == uniqueViolation {
			return fmt.Errorf("order %s already exists: %w", rec.ID, err)
		}
		return t.fail("create order", err)
	}
	return nil
}

// Get implements orders.Store.
func (t *Orders) Get(ctx context.Context, id string) (orders.Order, error) {
	rec := orders.Order{ID: id}
	err := t.s.pool.QueryRow(ctx, sqlGetOrder, id).Scan(&rec.Customer, &rec.TotalCents, &rec.Note, &rec.PlacedAt, &rec.CreatedAt, &rec.UpdatedAt)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return orders.Order{}, orders.ErrNotFound
		}
		return orders.Order{}, t.fail("get order", err)
	}
	return inUTCOrder(rec), nil
}

// Update implements orders.Store.
func (t *Orders) Update(ctx context.Context, id string, n orders.NewOrder, now time.Time) (orders.Order, error) {
	rec := n.Replace(orders.Order{ID: id})
	err := t.s.pool.QueryRow(ctx, sqlUpdateOrder, id, n.Customer, n.TotalCents, n.Note, n.PlacedAt, now).Scan(&rec.CreatedAt, &rec.UpdatedAt)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return orders.Order{}, orders.ErrNotFound
		}
		return orders.Order{}, t.fail("update order", err)
	}
	return inUTCOrder(rec), nil
}

// List implements orders.Store.
func (t *Orders) List(ctx context.Context, after string, limit int) ([]orders.Order, error) {
	rows, err := t.s.pool.Query(ctx, sqlListOrders, after, limit)
	if err != nil {
		return nil, t.fail("list orders", err)
	}
	defer rows.Close()
	out := make([]orders.Order, 0, min(limit, 64))
	for rows.Next() {
		var rec orders.Order
		if err := rows.Scan(&rec.ID, &rec.Customer, &rec.TotalCents, &rec.Note, &rec.PlacedAt, &rec.CreatedAt, &rec.UpdatedAt); err != nil {
			return nil, t.fail("list orders", err)
		}
		out = append(out, inUTCOrder(rec))
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail("list orders", err)
	}
	return out, nil
}

// Delete implements orders.Store.
func (t *Orders) Delete(ctx context.Context, id string) error {
	tag, err := t.s.pool.Exec(ctx, sqlDeleteOrder, id)
	if err != nil {
		return t.fail("delete order", err)
	}
	if tag.RowsAffected() == 0 {
		return orders.ErrNotFound
	}
	return nil
}

// Ping implements orders.Store.
func (t *Orders) Ping(ctx context.Context) error {
	if err := t.s.pool.Ping(ctx); err != nil {
		return t.fail("ping database", err)
	}
	return nil
}

// fail wraps err for the operation op, marking failures to reach the
// database orders.ErrUnavailable (see Store.fail).
func (t *Orders) fail(op string, err error) error {
	return t.s.failAs(op, orders.ErrUnavailable, err)
}

// inUTCOrder returns rec with its times in UTC, as the other stores keep
// them; pgx scans timestamptz in the local time zone.
func inUTCOrder(rec orders.Order) orders.Order {
	rec.PlacedAt = rec.PlacedAt.UTC()
	rec.CreatedAt = rec.CreatedAt.UTC()
	rec.UpdatedAt = rec.UpdatedAt.UTC()
	return rec
}
