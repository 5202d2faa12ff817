package search

import (
	"context"
	"errors"
	"fmt"
	"github.com/nhs-junction/junction/internal/access"
	"hash/fnv"
	"slices"

	"github.com/nhs-junction/junction/internal/index"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/storesql"
)

// Engine is a store whose writes keep the search index, and the searches
// over it. It is a store.Store itself: use it in place of the store it
// wraps, so that no write can bypass the index.
type Engine struct {
	store.Store
	db     DB
	ix     *index.Indexer
	execOf func(store.Tx) (Execer, bool)
	vac    *vacuum
}

// Open returns an Engine over a backend store that offers search its SQL
// access: the store implements DB (QueryShared on its read connections)
// and the transactions its Write hands out implement Execer
// (ExecShared). Both store/sqlite and store/postgres do.
func Open(st store.Store, ix *index.Indexer) (*Engine, error) {
	db, ok := st.(DB)
	if !ok {
		return nil, fmt.Errorf("search: store %T offers no SQL access for search", st)
	}
	return New(st, db, func(tx store.Tx) (Execer, bool) { ex, ok := tx.(Execer); return ex, ok }, ix), nil
}

// New returns an Engine from its parts: st for versions, db to read the
// index, and execOf to write index rows inside st's transactions.
func New(st store.Store, db DB, execOf func(store.Tx) (Execer, bool), ix *index.Indexer) *Engine {
	return &Engine{Store: st, db: db, ix: ix, execOf: execOf, vac: newVacuum()}
}

// Search runs one page of q; see Search. Page links expire after
// PageLifetime (see vacuum).
func (e *Engine) Search(ctx context.Context, q *searchparam.Query, opt Options) (*Result, error) {
	opt.expires, opt.lifetime = true, e.PageLifetime()
	return Search(ctx, e.db, q, opt)
}

// Write runs fn in one transaction of the underlying store; every Put it
// makes also writes the version's index rows. After a successful write a
// background vacuum runs when one is due (see vacuum).
func (e *Engine) Write(ctx context.Context, fn func(store.Tx) error) error {
	err := e.write(ctx, fn)
	if err == nil {
		e.afterWrite()
	}
	return err
}

func (e *Engine) write(ctx context.Context, fn func(store.Tx) error) error {
	return e.Store.Write(ctx, func(tx store.Tx) error {
		ex, ok := e.execOf(tx)
		if !ok {
			return fmt.Errorf("search: transaction %T cannot write index rows", tx)
		}
		itx := &indexedTx{Tx: tx, ix: e.ix, ex: ex, rows: newBatch()}
		if err := fn(itx); err != nil {
			return err
		}
		if err := itx.rows.flush(ctx, ex); err != nil {
			return fmt.Errorf("search: write index: %w", err)
		}
		return nil
	})
}

// indexedTx buffers the index rows of its Puts and writes them in
// multi-row INSERTs as they accumulate (see spillRows) and when the
// transaction's function returns (or before a search inside it).
type indexedTx struct {
	store.Tx
	ix   *index.Indexer
	ex   Execer
	rows *batch
}

// Visible flushes the buffered index rows, which an access filter may
// read (scope restrictions by category or code), then asks the store.
func (t *indexedTx) Visible(ctx context.Context, seq int64, where *store.Filter) (bool, error) {
	if err := t.rows.flush(ctx, t.ex); err != nil {
		return false, fmt.Errorf("search: write index: %w", err)
	}
	return t.Tx.Visible(ctx, seq, where)
}

// Put stores v and its index rows. A resource whose index cannot be
// computed is refused: stored unindexed, searches would silently miss it.
func (t *indexedTx) Put(ctx context.Context, v store.Version) (store.Version, error) {
	var rows *index.Rows
	if !v.Deleted {
		var err error
		if rows, err = t.ix.Index(v.Body); err != nil {
			return store.Version{}, fmt.Errorf("search: %w", err)
		}
	}
	v, err := t.Tx.Put(ctx, v)
	if err != nil {
		return v, err
	}
	// The access rules read what each version contributes (its patient
	// compartments, labels, care relationships, consents) from rows
	// written in the same transaction, so no version is ever stored
	// without them.
	var compartments []string
	if rows != nil {
		compartments = rows.Compartments
	}
	if err := access.WriteRows(ctx, t.ex, v, compartments); err != nil {
		return store.Version{}, err
	}
	if rows == nil {
		return v, nil
	}
	if err := t.rows.put(ctx, t.ex, v.Seq, rows); err != nil {
		return store.Version{}, fmt.Errorf("search: write index: %w", err)
	}
	return v, nil
}

// IndexVersion identifies how index rows are computed. It goes up when a
// change to the indexer makes rows written before it wrong or missing
// (2: Location near rows; quantities in exact UCUM base units; 3: presence
// rows for references that name nothing searchable; 4: the access rows of
// internal/access), so that a store indexed by an older binary is
// reindexed rather than answering searches from rows that no longer mean
// what the planner expects.
const IndexVersion = 4

// IndexCurrent reports whether the stored index rows were computed by
// this IndexVersion. A store without resources is marked current at once.
// Rows from a newer binary are an error: this one cannot read them.
func (e *Engine) IndexCurrent(ctx context.Context) (bool, error) {
	var v, newest int64
	if err := e.db.QueryShared(ctx, "SELECT index_version FROM search_meta WHERE id = 1", nil, func(scan func(...any) error) error { return scan(&v) }); err != nil {
		return false, fmt.Errorf("search: index version: %w", err)
	}
	switch {
	case v == IndexVersion:
		return true, nil
	case v > IndexVersion:
		return false, fmt.Errorf("search: the index was built by a newer version of Junction (index version %d, this binary %d)", v, IndexVersion)
	}
	if err := e.db.QueryShared(ctx, storesql.MaxSeq, nil, func(scan func(...any) error) error { return scan(&newest) }); err != nil {
		return false, fmt.Errorf("search: index version: %w", err)
	}
	if newest > 0 {
		return false, nil
	}
	return true, e.markIndexed(ctx)
}

// markIndexed records that the index rows are this IndexVersion's.
func (e *Engine) markIndexed(ctx context.Context) error {
	return e.Store.Write(ctx, func(tx store.Tx) error {
		ex, ok := e.execOf(tx)
		if !ok {
			return errors.New("search: transaction cannot write the index version")
		}
		return ex.ExecShared(ctx, "UPDATE search_meta SET index_version = ? WHERE id = 1", IndexVersion)
	})
}

// ReindexBatch is how many resources Reindex rewrites per transaction.
const ReindexBatch = 500

// Reindex recomputes the index rows of every current resource version
// with seq > after, in seq order and ReindexBatch resources per
// transaction, after the search parameters (or the indexer) changed.
// progress, if not nil, is called after each batch with the last seq
// done; passing that seq as after resumes an interrupted run.
func (e *Engine) Reindex(ctx context.Context, after int64, progress func(lastSeq int64, done int)) error {
	done := 0
	for {
		stmt := f("SELECT v.seq, v.type, v.id, v.version, v.last_updated, v.deleted, v.body FROM resource r JOIN resource_version v ON v.seq = r.seq WHERE r.seq > ? AND NOT r.deleted ORDER BY r.seq LIMIT ?", after, ReindexBatch)
		batch, err := versions(ctx, e.db, stmt)
		if err != nil {
			return fmt.Errorf("search: reindex: %w", err)
		}
		if len(batch) == 0 {
			// Every current version has this binary's rows now.
			return e.markIndexed(ctx)
		}
		err = e.Store.Write(ctx, func(tx store.Tx) error {
			ex, ok := e.execOf(tx)
			if !ok {
				return errors.New("search: transaction cannot write index rows")
			}
			for _, v := range batch {
				rows, err := e.ix.Index(v.Body)
				if err != nil {
					return fmt.Errorf("%s/%s: %w", v.Type, v.ID, err)
				}
				if err := DeleteRows(ctx, ex, v.Seq); err != nil {
					return err
				}
				if err := WriteRows(ctx, ex, v.Seq, rows); err != nil {
					return err
				}
				if err := access.WriteRows(ctx, ex, v, rows.Compartments); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("search: reindex: %w", err)
		}
		after = batch[len(batch)-1].Seq
		done += len(batch)
		if progress != nil {
			progress(after, done)
		}
	}
}

var indexTables = []string{"search_string", "search_token", "search_ref", "search_date", "search_number",
	"search_quantity", "search_uri", "search_composite", "search_compartment", "search_text"}

// DeleteRows removes the index rows of the version at seq.
func DeleteRows(ctx context.Context, ex Execer, seq int64) error {
	for _, t := range indexTables {
		if err := ex.ExecShared(ctx, "DELETE FROM "+t+" WHERE seq = ?", seq); err != nil {
			return err
		}
	}
	return nil
}

// locker is implemented by transactions of backends whose writers run
// concurrently (store/postgres).
type locker interface {
	LockShared(ctx context.Context, key int64) error
}

// SearchTx runs q inside the write transaction tx, for the conditional
// interactions (search.html 3.1.0.8; http.html conditional create, update
// and delete): what it finds cannot change before tx commits, so
// "create unless one matches" creates at most one resource however many
// clients race. On a backend with concurrent writers it first takes a
// lock per resource type held to the end of tx, so conditional writes of
// one type run one after another.
func (e *Engine) SearchTx(ctx context.Context, tx store.Tx, q *searchparam.Query, opt Options) (*Result, error) {
	if it, ok := tx.(*indexedTx); ok {
		// The search must see the rows of this transaction's own Puts.
		if !it.rows.empty() {
			if err := it.rows.flush(ctx, it.ex); err != nil {
				return nil, fmt.Errorf("search: write index: %w", err)
			}
		}
		tx = it.Tx
	}
	db, ok := tx.(DB)
	if !ok {
		return nil, fmt.Errorf("search: transaction %T cannot be searched", tx)
	}
	if l, ok := tx.(locker); ok {
		// Sorted, so two transactions never wait on each other's locks.
		types := slices.Sorted(slices.Values(q.Types))
		for _, t := range types {
			if err := l.LockShared(ctx, lockKey(t)); err != nil {
				return nil, fmt.Errorf("search: lock: %w", err)
			}
		}
	}
	return Search(ctx, db, q, opt)
}

// lockKey is the advisory lock of conditional writes on one resource
// type: FNV-1a of "junction.conditional." and the type.
func lockKey(typ string) int64 {
	h := fnv.New64a()
	h.Write([]byte("junction.conditional." + typ))
	return int64(h.Sum64())
}
