package search

import (
	"context"
	"errors"
	"strings"

	"github.com/nhs-junction/junction/internal/store"
)

// MarkPosted records, inside tx, that the version at seq was written by a
// create whose id the server assigned (POST [type]), so that history
// reports it as such (see Posted). tx is a transaction of Engine.Write.
func MarkPosted(ctx context.Context, tx store.Tx, seq int64) error {
	it, ok := tx.(*indexedTx)
	if !ok {
		return errors.New("search: not a transaction of the search engine")
	}
	// Written with the index rows, in the same multi-row INSERTs.
	it.rows.posted.add(seq)
	it.rows.pending++
	return nil
}

// Posted returns which of the versions at seqs MarkPosted recorded.
func (e *Engine) Posted(ctx context.Context, seqs []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(seqs) == 0 {
		return out, nil
	}
	args := make([]any, len(seqs))
	for i, s := range seqs {
		args[i] = s
	}
	q := "SELECT seq FROM history_post WHERE seq IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(seqs)), ", ") + ")"
	err := e.db.QueryShared(ctx, q, args, func(scan func(...any) error) error {
		var s int64
		if err := scan(&s); err != nil {
			return err
		}
		out[s] = true
		return nil
	})
	return out, err
}
