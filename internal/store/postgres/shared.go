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

// Snapshot returns the newest seq and the transactions in progress at
// that moment, read in one statement (so under one snapshot), as xids
// modulo 2^32 (what the xmin column of their rows holds). Seq comes from
// an identity column when a version is inserted, not when it commits: a
// transaction still open may hold a seq below the newest and commit
// later. A search pinned to the seq leaves those transactions' versions
// out (search.Snapshotter), so its later pages do not gain them.
func (s *Store) Snapshot(ctx context.Context) (int64, []int64, error) {
	if s.closed.Load() {
		return 0, nil, store.ErrClosed
	}
	var seq int64
	var open []int64
	err := s.pool.QueryRow(ctx, "SELECT coalesce((SELECT max(seq) FROM resource_version), 0), "+
		"coalesce((SELECT array_agg(DISTINCT CAST(CAST(x AS text) AS bigint) % 4294967296) FROM pg_snapshot_xip(pg_current_snapshot()) x), '{}')").Scan(&seq, &open)
	if err != nil {
		return 0, nil, s.fail("snapshot", err)
	}
	return seq, open, nil
}

// Visible reports whether where holds for the version at seq, inside the
// transaction; see store.Tx.
func (t *Tx) Visible(ctx context.Context, seq int64, where *store.Filter) (bool, error) {
	return storesql.Visible(ctx, t.QueryShared, seq, where)
}
