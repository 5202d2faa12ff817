package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/storesql"
)

// Read returns the current version of (typ, id), tombstone included.
func (s *Store) Read(ctx context.Context, typ, id string) (store.Version, error) {
	if s.closed.Load() {
		return store.Version{}, store.ErrClosed
	}
	v, err := s.readOne(ctx, storesql.ReadCurrent(typ, id))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return v, s.fail("read", err)
	}
	return v, err
}

// ReadVersion returns one version of (typ, id), tombstone included.
func (s *Store) ReadVersion(ctx context.Context, typ, id string, version int64) (store.Version, error) {
	if s.closed.Load() {
		return store.Version{}, store.ErrClosed
	}
	v, err := s.readOne(ctx, storesql.ReadVersion(typ, id, version))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return v, s.fail("read version", err)
	}
	return v, err
}

// ReadWhere reads one version under an access filter; see store.Store.
func (s *Store) ReadWhere(ctx context.Context, typ, id string, version int64, where *store.Filter) (store.Version, error) {
	if s.closed.Load() {
		return store.Version{}, store.ErrClosed
	}
	query, args := storesql.ReadWhere(typ, id, version, where).SQL(storesql.SQLite)
	stmt, release, err := s.stmts.get(ctx, s.read, query)
	if err != nil {
		return store.Version{}, s.fail("read", err)
	}
	defer release()
	v, err := storesql.ScanVisible(stmt.QueryRowContext(ctx, args...).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Version{}, store.ErrNotFound
	}
	if err != nil && !errors.Is(err, store.ErrHidden) {
		return v, s.fail("read", err)
	}
	return v, err
}

// readOne runs sel on the read pool as a prepared statement.
func (s *Store) readOne(ctx context.Context, sel *storesql.Select) (store.Version, error) {
	query, args := sel.SQL(storesql.SQLite)
	stmt, release, err := s.stmts.get(ctx, s.read, query)
	if err != nil {
		return store.Version{}, err
	}
	defer release()
	v, err := scanVersion(stmt.QueryRowContext(ctx, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Version{}, store.ErrNotFound
	}
	return v, err
}

// History lists versions newest first; see store.HistoryQuery.
func (s *Store) History(ctx context.Context, q store.HistoryQuery) (store.HistoryPage, error) {
	if s.closed.Load() {
		return store.HistoryPage{}, store.ErrClosed
	}
	if err := storesql.CheckHistory(q); err != nil {
		return store.HistoryPage{}, err
	}
	page := store.HistoryPage{Snapshot: q.Snapshot, Total: -1}
	// The snapshot, the page and the total are read in one transaction so
	// that they describe the same moment; on SQLite a read transaction
	// costs nothing and never blocks the writer.
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return page, s.fail("history", err)
	}
	defer tx.Rollback()
	if page.Snapshot == 0 {
		if err := tx.QueryRowContext(ctx, storesql.MaxSeq).Scan(&page.Snapshot); err != nil {
			return page, s.fail("history", err)
		}
	}
	// One writer commits in seq order: no transaction is ever open below
	// a snapshot, and there is no xmin column to leave one out by.
	q.Open = nil
	// true: Write takes each transaction's time above every stored one
	// under the write lock, so last_updated never decreases as seq grows.
	sel, total := storesql.History(q, page.Snapshot, true)
	query, args := sel.SQL(storesql.SQLite)
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return page, s.fail("history", err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return page, s.fail("history", err)
		}
		page.Versions = append(page.Versions, v)
	}
	if err := rows.Err(); err != nil {
		return page, s.fail("history", err)
	}
	if len(page.Versions) > q.Count {
		page.Versions = page.Versions[:q.Count]
		page.More = true
	}
	if q.WithTotal {
		query, args := total.SQL(storesql.SQLite)
		if err := tx.QueryRowContext(ctx, query, args...).Scan(&page.Total); err != nil {
			return page, s.fail("history total", err)
		}
	}
	return page, nil
}

type scanner interface{ Scan(dest ...any) error }

// scanVersion reads the columns of storesql.VersionColumns.
func scanVersion(r scanner) (store.Version, error) {
	var v store.Version
	var lastUpdated int64
	if err := r.Scan(&v.Seq, &v.Type, &v.ID, &v.Version, &lastUpdated, &v.Deleted, &v.Body); err != nil {
		return store.Version{}, err
	}
	v.LastUpdated = storesql.FromMicros(lastUpdated)
	return v, nil
}
