package search

import (
	"context"
	"database/sql"

	"github.com/jackc/pgx/v5"

	"github.com/nhs-junction/junction/internal/store/storesql"
)

type sqlQueryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// SQLDB adapts a database/sql handle (a *sql.DB read pool, or a *sql.Tx)
// of dialect d to DB.
func SQLDB(q sqlQueryer, d storesql.Dialect) DB { return sqlDB{q, d} }

type sqlDB struct {
	q sqlQueryer
	d storesql.Dialect
}

func (s sqlDB) QueryShared(ctx context.Context, query string, args []any, row func(scan func(...any) error) error) error {
	rows, err := s.q.QueryContext(ctx, storesql.Rebind(s.d, query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

type pgxQueryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// PgxDB adapts a pgx pool, connection or transaction to DB.
func PgxDB(q pgxQueryer) DB { return pgxDB{q} }

type pgxDB struct{ q pgxQueryer }

func (p pgxDB) QueryShared(ctx context.Context, query string, args []any, row func(scan func(...any) error) error) error {
	rows, err := p.q.Query(ctx, storesql.Rebind(storesql.Postgres, query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ExecFunc adapts a function to Execer.
type ExecFunc func(ctx context.Context, query string, args ...any) error

// ExecShared implements Execer.
func (f ExecFunc) ExecShared(ctx context.Context, query string, args ...any) error {
	return f(ctx, query, args...)
}
