package search

import "github.com/nhs-junction/junction/internal/store"

// Unwrap returns the backend transaction that an Engine's Write hands to
// its function wrapped (so that Puts also write index rows), or tx itself
// when it is not wrapped. A layer that keeps tables of its own beside the
// resources runs its SQL through the result (its ExecShared and
// QueryShared), in the same transaction. Resources MUST still be written
// through tx, never through the unwrapped transaction, or their index
// rows would be missing.
func Unwrap(tx store.Tx) store.Tx {
	if it, ok := tx.(*indexedTx); ok {
		return it.Tx
	}
	return tx
}

// DB returns the read access to the underlying store that searches use
// (QueryShared on its read connections), for a layer that reads tables
// of its own beside the resources.
func (e *Engine) DB() DB { return e.db }
