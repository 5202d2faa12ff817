package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/storesql"
)

// QueryShared runs a read-only query written in the SQL the backends
// share (storesql: '?' placeholders) on the read pool, calling row for
// each result row. The search package reads its index tables through it.
func (s *Store) QueryShared(ctx context.Context, query string, args []any, row func(scan func(dest ...any) error) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store/sqlite: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store/sqlite: %w", err)
	}
	return nil
}

// ExecShared runs a statement written in the SQL the backends share
// inside the write transaction: the search package writes a version's
// index rows through it, so they commit or roll back with the version.
// Each statement text is prepared once per transaction: SQLite's parser
// was 18% of ingest when every index INSERT was parsed anew. (The writer
// pool's one connection is busy with the transaction, so statements
// cannot be prepared on the pool.)
func (t *Tx) ExecShared(ctx context.Context, query string, args ...any) error {
	if t.done {
		return errTxDone
	}
	st, err := t.prepared(ctx, query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, args...)
	return err
}

// prepared returns query prepared in the transaction, preparing it on
// first use.
func (t *Tx) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	st, ok := t.prep[query]
	if !ok {
		var err error
		if st, err = t.tx.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		if t.prep == nil {
			t.prep = map[string]*sql.Stmt{}
		}
		t.prep[query] = st
	}
	return st, nil
}

// QueryShared runs a query in the SQL the backends share inside the write
// transaction, seeing its own writes: conditional interactions search
// here, where no other writer can interleave (SQLite runs one write
// transaction at a time).
//
// Statements are prepared once per transaction, as ExecShared's are: the
// access check after every write (Visible) and the searches of
// conditional writes run here, and parsing them anew was 12% of the CPU
// time of an HL7 v2 feed (BenchmarkProcess in internal/feed).
func (t *Tx) QueryShared(ctx context.Context, query string, args []any, row func(scan func(dest ...any) error) error) error {
	if t.done {
		return errTxDone
	}
	st, err := t.prepared(ctx, query)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, args...)
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

// Visible reports whether where holds for the version at seq, inside the
// transaction; see store.Tx.
func (t *Tx) Visible(ctx context.Context, seq int64, where *store.Filter) (bool, error) {
	return storesql.Visible(ctx, t.QueryShared, seq, where)
}
