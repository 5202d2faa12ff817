package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/storesql"
)

// queryer is what reads need from the pool or a transaction, so Tx.Current
// and Store.Read share one code path.
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Read returns the current version of (typ, id), tombstone included.
func (s *Store) Read(ctx context.Context, typ, id string) (store.Version, error) {
	if s.closed.Load() {
		return store.Version{}, store.ErrClosed
	}
	v, err := readOne(ctx, s.pool, storesql.ReadCurrent(typ, id))
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
	v, err := readOne(ctx, s.pool, storesql.ReadVersion(typ, id, version))
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
	query, args := storesql.ReadWhere(typ, id, version, where).SQL(storesql.Postgres)
	v, err := storesql.ScanVisible(s.pool.QueryRow(ctx, query, args...).Scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Version{}, store.ErrNotFound
	}
	if err != nil && !errors.Is(err, store.ErrHidden) {
		return v, s.fail("read", err)
	}
	return v, err
}

func readOne(ctx context.Context, q queryer, sel *storesql.Select) (store.Version, error) {
	query, args := sel.SQL(storesql.Postgres)
	v, err := scanVersion(q.QueryRow(ctx, query, args...))
	if errors.Is(err, pgx.ErrNoRows) {
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
	page := store.HistoryPage{Snapshot: q.Snapshot, Open: q.Open, Total: -1}
	if page.Snapshot == 0 {
		// The newest seq and the transactions open then, whose versions
		// may carry a lower seq and commit later: every page leaves them
		// out, so later pages do not gain them.
		seq, open, err := s.Snapshot(ctx)
		if err != nil {
			return page, err
		}
		page.Snapshot, page.Open = seq, open
		q.Open = open
	}
	// One repeatable-read snapshot for the page and the total, so the
	// two agree with each other.
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return page, s.fail("history", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	sel, total := storesql.History(q, page.Snapshot, false)
	query, args := sel.SQL(storesql.Postgres)
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return page, s.fail("history", err)
	}
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			rows.Close()
			return page, s.fail("history", err)
		}
		page.Versions = append(page.Versions, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return page, s.fail("history", err)
	}
	if len(page.Versions) > q.Count {
		page.Versions = page.Versions[:q.Count]
		page.More = true
	}
	if q.WithTotal {
		query, args := total.SQL(storesql.Postgres)
		if err := tx.QueryRow(ctx, query, args...).Scan(&page.Total); err != nil {
			return page, s.fail("history total", err)
		}
	}
	return page, nil
}

type scanner interface{ Scan(dest ...any) error }

// scanVersion reads the columns of storesql.VersionColumns. pgx copies a
// bytea into the []byte, so the body does not alias a connection buffer.
func scanVersion(r scanner) (store.Version, error) {
	var v store.Version
	var lastUpdated int64
	if err := r.Scan(&v.Seq, &v.Type, &v.ID, &v.Version, &lastUpdated, &v.Deleted, &v.Body); err != nil {
		return store.Version{}, err
	}
	v.LastUpdated = storesql.FromMicros(lastUpdated)
	return v, nil
}
