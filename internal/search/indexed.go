package search

import (
	"context"
	"fmt"

	"github.com/nhs-junction/junction/internal/index"
	"github.com/nhs-junction/junction/internal/store"
)

// Indexed wraps a store so that every version Put through it has its
// index rows written in the same transaction, so a committed version is
// always searchable and a rolled-back one never is. execOf gives the
// backend's statement runner for a transaction (its Tx type's Exec).
//
// A resource whose index cannot be computed fails the Put: storing it
// unindexed would make searches silently miss it.
func Indexed(st store.Store, ix *index.Indexer, execOf func(store.Tx) Execer) store.Store {
	return &indexed{Store: st, ix: ix, execOf: execOf}
}

type indexed struct {
	store.Store
	ix     *index.Indexer
	execOf func(store.Tx) Execer
}

func (s *indexed) Write(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Write(ctx, func(tx store.Tx) error {
		return fn(&indexedTx{Tx: tx, s: s, ex: s.execOf(tx)})
	})
}

type indexedTx struct {
	store.Tx
	s  *indexed
	ex Execer
}

func (t *indexedTx) Put(ctx context.Context, v store.Version) (store.Version, error) {
	var rows *index.Rows
	if !v.Deleted {
		// Index before writing, so a resource that cannot be indexed is
		// not stored either.
		var err error
		if rows, err = t.s.ix.Index(v.Body); err != nil {
			return store.Version{}, fmt.Errorf("search: %w", err)
		}
	}
	v, err := t.Tx.Put(ctx, v)
	if err != nil || rows == nil {
		return v, err
	}
	if err := WriteRows(ctx, t.ex, v.Seq, rows); err != nil {
		return store.Version{}, fmt.Errorf("search: write index: %w", err)
	}
	return v, nil
}
