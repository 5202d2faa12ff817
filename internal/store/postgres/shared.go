package postgres

import (
	"context"
	"fmt"

	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/storesql"
)

// QueryShared runs a read-only query written in the SQL the backends
// share (storesql: '?' placeholders, renumbered here to $n) on the pool,
// calling row for each result row. The search package reads its index
// tables through it.
func (s *Store) QueryShared(ctx context.Context, query string, args []any, row func(scan func(dest ...any) error) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	rows, err := s.pool.Query(ctx, storesql.Rebind(storesql.Postgres, query), args...)
	if err != nil {
		return fmt.Errorf("store/postgres: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store/postgres: %w", err)
	}
	return nil
}

// ExecShared runs a statement written in the SQL the backends share
// inside the write transaction: the search package writes a version's
// index rows through it, so they commit or roll back with the version.
func (t *Tx) ExecShared(ctx context.Context, query string, args ...any) error {
	_, err := t.Exec(ctx, storesql.Rebind(storesql.Postgres, query), args...)
	return err
}

// QueryShared runs a query in the SQL the backends share inside the write
// transaction, seeing its own writes and everything committed before the
// statement starts (READ COMMITTED).
func (t *Tx) QueryShared(ctx context.Context, query string, args []any, row func(scan func(dest ...any) error) error) error {
	rows, err := t.Query(ctx, storesql.Rebind(storesql.Postgres, query), args...)
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

// LockShared takes a transaction-scoped advisory lock on key, held until
// the transaction ends. Write transactions run concurrently on
// PostgreSQL, so a check-then-write (a conditional create: search, and
// create if nothing matched) takes the lock first; a second writer waits,
// then sees the first one's commit.
func (t *Tx) LockShared(ctx context.Context, key int64) error {
	_, err := t.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", key)
	return err
}
