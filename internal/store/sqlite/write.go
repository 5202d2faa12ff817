package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/storesql"
)

// Tx is the store.Tx that Store.Write hands to its function. Besides the
// store.Tx methods it offers Exec and Query on the same transaction, for
// the layers (search indexing) that write rows of their own next to a
// version and must commit or roll back with it. They take SQLite SQL with
// '?' placeholders; see storesql for queries shared with PostgreSQL.
type Tx struct {
	tx   *sql.Tx
	now  time.Time
	done bool
	prep map[string]*sql.Stmt // ExecShared's statements, closed with the transaction
}

var _ store.Tx = (*Tx)(nil)

var errTxDone = errors.New("store/sqlite: Tx used after its Write function returned")

// Now returns the transaction clock.
func (t *Tx) Now() time.Time { return t.now }

// Current returns the current version of (typ, id) as this transaction
// sees it. Writes are serialised, so it stays current until Write returns.
func (t *Tx) Current(ctx context.Context, typ, id string) (store.Version, error) {
	if t.done {
		return store.Version{}, errTxDone
	}
	v, err := readOne(ctx, t.tx, storesql.ReadCurrent(typ, id))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return v, fmt.Errorf("store/sqlite: current: %w", err)
	}
	return v, err
}

// Put stores v as the new current version; see store.Tx.
func (t *Tx) Put(ctx context.Context, v store.Version) (store.Version, error) {
	if t.done {
		return store.Version{}, errTxDone
	}
	v, err := storesql.CheckPut(v, t.now)
	if err != nil {
		return store.Version{}, err
	}
	var current int64
	err = t.tx.QueryRowContext(ctx, "SELECT version FROM resource WHERE type = ? AND id = ?", v.Type, v.ID).Scan(&current)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return store.Version{}, fmt.Errorf("store/sqlite: put: %w", err)
	}
	if v.Version != current+1 {
		return store.Version{}, storesql.Conflict(v, current)
	}
	var body any // NULL for a tombstone, never an empty blob
	if !v.Deleted {
		body = v.Body
	}
	err = t.tx.QueryRowContext(ctx, storesql.InsertVersion,
		v.Type, v.ID, v.Version, storesql.Micros(v.LastUpdated), v.Deleted, body).Scan(&v.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		// Only reachable if resource and resource_version disagree; the
		// writer lock rules out a concurrent creator.
		return store.Version{}, storesql.Conflict(v, current)
	}
	if err != nil {
		return store.Version{}, fmt.Errorf("store/sqlite: put: %w", err)
	}
	if _, err := t.tx.ExecContext(ctx, storesql.UpsertCurrent, v.Type, v.ID, v.Version, v.Seq, v.Deleted); err != nil {
		return store.Version{}, fmt.Errorf("store/sqlite: put: %w", err)
	}
	return v, nil
}

// Exec runs a statement inside the write transaction.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if t.done {
		return nil, errTxDone
	}
	return t.tx.ExecContext(ctx, query, args...)
}

// Query runs a query inside the write transaction, seeing its own writes.
func (t *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if t.done {
		return nil, errTxDone
	}
	return t.tx.QueryContext(ctx, query, args...)
}
