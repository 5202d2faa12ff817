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
	prep map[string]*sql.Stmt // prepared statements, shared by a batch; closed with the database transaction
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
	query, args := storesql.ReadCurrent(typ, id).SQL(storesql.SQLite)
	st, err := t.prepared(ctx, query)
	if err != nil {
		return store.Version{}, fmt.Errorf("store/sqlite: current: %w", err)
	}
	v, err := scanVersion(st.QueryRowContext(ctx, args...))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
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
	// The three statements are prepared once per transaction: parsing
	// them anew for every Put was 9% of the CPU time of a 100-entry
	// transaction (BenchmarkTransaction100 in internal/interaction).
	sel, err := t.prepared(ctx, selectVersion)
	if err != nil {
		return store.Version{}, fmt.Errorf("store/sqlite: put: %w", err)
	}
	ins, err := t.prepared(ctx, storesql.InsertVersion)
	if err != nil {
		return store.Version{}, fmt.Errorf("store/sqlite: put: %w", err)
	}
	up, err := t.prepared(ctx, storesql.UpsertCurrent)
	if err != nil {
		return store.Version{}, fmt.Errorf("store/sqlite: put: %w", err)
	}
	var current int64
	err = sel.QueryRowContext(ctx, v.Type, v.ID).Scan(&current)
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
	err = ins.QueryRowContext(ctx, v.Type, v.ID, v.Version, storesql.Micros(v.LastUpdated), v.Deleted, body).Scan(&v.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		// Only reachable if resource and resource_version disagree; the
		// writer lock rules out a concurrent creator.
		return store.Version{}, storesql.Conflict(v, current)
	}
	if err != nil {
		return store.Version{}, fmt.Errorf("store/sqlite: put: %w", err)
	}
	if _, err := up.ExecContext(ctx, v.Type, v.ID, v.Version, v.Seq, v.Deleted); err != nil {
		return store.Version{}, fmt.Errorf("store/sqlite: put: %w", err)
	}
	return v, nil
}

const selectVersion = "SELECT version FROM resource WHERE type = ? AND id = ?"

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
