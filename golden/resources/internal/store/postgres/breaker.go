package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"example.com/shop/internal/breaker"
	"example.com/shop/internal/resource"
)

// errRefused is the error of a query the breaker refused: it matches
// resource.ErrUnavailable, so every transport answers it with 503 and
// Retry-After, or UNAVAILABLE, and breaker.ErrOpen.
var errRefused = fmt.Errorf("%w: %w", resource.ErrUnavailable, breaker.ErrOpen)

// guardedPool is the pool behind the store's breaker. It overrides the
// query methods of the pool it embeds, so every query a store method
// makes through Store.pool, whatever the resource, is counted, and
// refused at once while the database fails, without a connection attempt.
// Ping, Acquire and the rest go straight to the pool: readiness must see
// the database itself, and migrations and listeners manage their own
// retries.
type guardedPool struct {
	*pgxpool.Pool
	breaker *breaker.Breaker
}

// Exec runs sql through the breaker.
func (p *guardedPool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if !p.breaker.Allow() {
		return pgconn.CommandTag{}, errRefused
	}
	tag, err := p.Pool.Exec(ctx, sql, args...)
	p.record(err)
	return tag, err
}

// Query runs sql through the breaker; the outcome is recorded when the
// rows are closed, where a failure while reading them shows.
func (p *guardedPool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if !p.breaker.Allow() {
		return nil, errRefused
	}
	rows, err := p.Pool.Query(ctx, sql, args...)
	if err != nil {
		p.record(err)
		return nil, err
	}
	return &guardedRows{Rows: rows, p: p}, nil
}

// QueryRow runs sql through the breaker; the outcome is recorded by Scan,
// where pgx reports the query's error.
func (p *guardedPool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if !p.breaker.Allow() {
		return refusedRow{}
	}
	return guardedRow{row: p.Pool.QueryRow(ctx, sql, args...), p: p}
}

// record reports a query's outcome to the breaker. Only the database's
// failures count against it: a query the database answered, with rows or
// with an error about the query itself (no rows, a constraint, bad input),
// counts as served; a caller that gave up teaches nothing.
func (p *guardedPool) record(err error) {
	switch {
	case err == nil || errors.Is(err, pgx.ErrNoRows):
		p.breaker.Success()
	case errors.Is(err, context.Canceled):
	case databaseFailed(err):
		p.breaker.Failure()
	default:
		p.breaker.Success()
	}
}

// Unreachable reports whether err means the database could not be reached
// or did not answer in time, so trying again later may succeed.
func Unreachable(err error) bool { return unavailable(err) }

// databaseFailed reports whether err is the database's failure rather than
// the query's: it could not be reached or did not answer in time (what
// unavailable reports), or it answered with a server-side error class —
// insufficient resources (53), operator intervention such as a statement
// timeout (57), a system error (58) or an internal error (XX).
func databaseFailed(err error) bool {
	if unavailable(err) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		for _, class := range []string{"53", "57", "58", "XX"} {
			if strings.HasPrefix(pgErr.Code, class) {
				return true
			}
		}
	}
	return false
}

// guardedRows records the query's outcome once, when closed.
type guardedRows struct {
	pgx.Rows
	p    *guardedPool
	done bool
}

func (r *guardedRows) Close() {
	r.Rows.Close()
	if !r.done {
		r.done = true
		r.p.record(r.Err())
	}
}

// guardedRow records the query's outcome when scanned.
type guardedRow struct {
	row pgx.Row
	p   *guardedPool
}

func (r guardedRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	r.p.record(err)
	return err
}

// refusedRow is the row of a query the breaker refused.
type refusedRow struct{}

func (refusedRow) Scan(...any) error { return errRefused }
