package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/storesql"
)

// Write runs fn in one READ COMMITTED transaction. Transactions run
// concurrently; those that touch the same resource are serialised by its
// row lock, which is what store.Store's "writes are serialised" means here.
// Read committed is enough because every check that matters (the current
// version) is made on a locked row, which always shows the newest
// committed data; a stricter isolation level would only add retries.
//
// Seq comes from an identity column, assigned when a version is inserted,
// not when it commits: between two concurrent transactions the one with
// the higher seq may commit first. For one resource the row lock keeps seq
// in commit order, as the contract requires.
func (s *Store) Write(ctx context.Context, fn func(store.Tx) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	pgTx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.fail("begin", err)
	}
	tx := &Tx{tx: pgTx, now: storesql.FromMicros(s.clock.Next(s.floor))}
	committed := false
	defer func() {
		tx.done = true
		if !committed { // an error or a panic in fn
			// The rollback must run even when ctx is what failed.
			pgTx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	if err := pgTx.Commit(ctx); err != nil {
		return s.fail("commit", err)
	}
	return nil
}

// Tx is the store.Tx that Store.Write hands to its function. Besides the
// store.Tx methods it offers Exec, Query and SendBatch on the same
// transaction, for the layers (search indexing) that write rows of their
// own next to a version and must commit or roll back with it. They take
// PostgreSQL SQL with $n placeholders; storesql.Rebind converts '?'.
type Tx struct {
	tx   pgx.Tx
	now  time.Time
	done bool
}

var _ store.Tx = (*Tx)(nil)

var errTxDone = errors.New("store/postgres: Tx used after its Write function returned")

// Now returns the transaction clock.
func (t *Tx) Now() time.Time { return t.now }

// Current returns the current version of (typ, id) and locks its resource
// row until the transaction ends, so a Put based on what Current returned
// cannot be overtaken by another writer. A resource that does not exist
// locks nothing; two creators then race on the unique key in Put.
func (t *Tx) Current(ctx context.Context, typ, id string) (store.Version, error) {
	if t.done {
		return store.Version{}, errTxDone
	}
	// Lock first, then read by seq, in two statements. One statement that
	// joined resource to resource_version FOR UPDATE would, after waiting
	// for a concurrent writer, recheck the join against the new seq with
	// the old snapshot of resource_version and return no row.
	var seq int64
	err := t.tx.QueryRow(ctx, "SELECT seq FROM resource WHERE type = $1 AND id = $2 FOR UPDATE", typ, id).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Version{}, store.ErrNotFound
	}
	if err != nil {
		return store.Version{}, mapErr("current", err)
	}
	// Read committed: this statement's snapshot is taken after the lock
	// was granted, so it sees the version the lock holder committed.
	v, err := readOne(ctx, t.tx, storesql.ReadSeq(seq))
	if err != nil {
		return store.Version{}, mapErr("current", err)
	}
	return v, nil
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
	err = t.tx.QueryRow(ctx, "SELECT version FROM resource WHERE type = $1 AND id = $2 FOR UPDATE", v.Type, v.ID).Scan(&current)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return store.Version{}, mapErr("put", err)
	}
	if v.Version != current+1 {
		return store.Version{}, storesql.Conflict(v, current)
	}
	var body []byte // nil is NULL: a tombstone has no body
	if !v.Deleted {
		body = v.Body
	}
	err = t.tx.QueryRow(ctx, insertVersion,
		v.Type, v.ID, v.Version, storesql.Micros(v.LastUpdated), v.Deleted, body).Scan(&v.Seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Version{}, storesql.Conflict(v, v.Version)
	}
	if err != nil {
		return store.Version{}, mapErr("put", err)
	}
	if _, err := t.tx.Exec(ctx, upsertCurrent, v.Type, v.ID, v.Version, v.Seq, v.Deleted); err != nil {
		return store.Version{}, mapErr("put", err)
	}
	return v, nil
}

var (
	insertVersion = storesql.Rebind(storesql.Postgres, storesql.InsertVersion)
	upsertCurrent = storesql.Rebind(storesql.Postgres, storesql.UpsertCurrent)
)

// Exec runs a statement inside the write transaction.
func (t *Tx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.done {
		return pgconn.CommandTag{}, errTxDone
	}
	return t.tx.Exec(ctx, sql, args...)
}

// Query runs a query inside the write transaction, seeing its own writes.
func (t *Tx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.done {
		return nil, errTxDone
	}
	return t.tx.Query(ctx, sql, args...)
}

// SendBatch sends several statements in one round trip, the way to write
// the many index rows of one version without paying latency per row.
func (t *Tx) SendBatch(ctx context.Context, b *pgx.Batch) (pgx.BatchResults, error) {
	if t.done {
		return nil, errTxDone
	}
	return t.tx.SendBatch(ctx, b), nil
}
