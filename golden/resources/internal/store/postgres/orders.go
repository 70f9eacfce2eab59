package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"example.com/shop/internal/orders"
)

// The statements of the orders table (see migrations/0003_create_orders.sql);
// statements in postgres.go names them for the tracer. The fields of each order
// are its Order message in protobuf binary, in data, without the ID and
// times, which have columns of their own: a field added to the .proto is
// kept with no migration. Add a column (and an index) in a new migration
// when a query needs to filter or sort by a field.
const (
	sqlCreateOrder = `INSERT INTO orders (id, data, created_at, updated_at) VALUES ($1, $2, $3, $4)`
	sqlGetOrder    = `SELECT data, created_at, updated_at FROM orders WHERE id = $1`
	sqlUpdateOrder = `UPDATE orders SET data = $2, updated_at = $3 WHERE id = $1 RETURNING created_at`
	sqlListOrders  = `SELECT id, data, created_at, updated_at FROM orders WHERE id > $1 ORDER BY id LIMIT $2`
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
func (t *Orders) Create(ctx context.Context, rec *orders.Order) error {
	data, err := marshalOrder(rec)
	if err != nil {
		return err
	}
	_, err = t.s.pool.Exec(ctx, sqlCreateOrder, rec.GetId(), data, rec.GetCreateTime().AsTime(), rec.GetUpdateTime().AsTime())
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == uniqueViolation {
			return fmt.Errorf("order %s already exists: %w", rec.GetId(), err)
		}
		return t.fail("create order", err)
	}
	return nil
}

// Get implements orders.Store.
func (t *Orders) Get(ctx context.Context, id string) (*orders.Order, error) {
	var data []byte
	var created, updated time.Time
	if err := t.s.pool.QueryRow(ctx, sqlGetOrder, id).Scan(&data, &created, &updated); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, orders.ErrNotFound
		}
		return nil, t.fail("get order", err)
	}
	return unmarshalOrder(id, data, created, updated)
}

// Update implements orders.Store.
func (t *Orders) Update(ctx context.Context, id string, rec *orders.Order, now time.Time) (*orders.Order, error) {
	data, err := marshalOrder(rec)
	if err != nil {
		return nil, err
	}
	var created time.Time
	if err := t.s.pool.QueryRow(ctx, sqlUpdateOrder, id, data, now).Scan(&created); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, orders.ErrNotFound
		}
		return nil, t.fail("update order", err)
	}
	return unmarshalOrder(id, data, created, now)
}

// List implements orders.Store.
func (t *Orders) List(ctx context.Context, after string, limit int) ([]*orders.Order, error) {
	rows, err := t.s.pool.Query(ctx, sqlListOrders, after, limit)
	if err != nil {
		return nil, t.fail("list orders", err)
	}
	defer rows.Close()
	out := make([]*orders.Order, 0, min(limit, 64))
	for rows.Next() {
		var id string
		var data []byte
		var created, updated time.Time
		if err := rows.Scan(&id, &data, &created, &updated); err != nil {
			return nil, t.fail("list orders", err)
		}
		rec, err := unmarshalOrder(id, data, created, updated)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
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

// marshalOrder returns the data column of rec: its fields without the ID
// and times, in deterministic protobuf binary.
func marshalOrder(rec *orders.Order) ([]byte, error) {
	fields := proto.CloneOf(rec)
	fields.Id, fields.CreateTime, fields.UpdateTime = "", nil, nil
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("encode order %s: %w", rec.GetId(), err)
	}
	return data, nil
}

// unmarshalOrder returns the order of a row.
func unmarshalOrder(id string, data []byte, created, updated time.Time) (*orders.Order, error) {
	rec := &orders.Order{}
	if err := proto.Unmarshal(data, rec); err != nil {
		return nil, fmt.Errorf("decode order %s: %w", id, err)
	}
	rec.Id, rec.CreateTime, rec.UpdateTime = id, timestamppb.New(created), timestamppb.New(updated)
	return rec, nil
}
