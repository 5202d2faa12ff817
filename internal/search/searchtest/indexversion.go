package searchtest

import (
	"context"
	"testing"

	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/store"
)

// testIndexVersion: an empty store is current at once; rows recorded as
// computed by an older indexer make the index stale until Reindex; rows
// from a newer indexer are an error.
func testIndexVersion(t *testing.T, b Backend) {
	ctx := context.Background()
	setVersion := func(v int) {
		t.Helper()
		// The backend's own transaction: the engine's wraps it.
		err := b.Engine.Store.Write(ctx, func(tx store.Tx) error {
			return tx.(search.Execer).ExecShared(ctx, "UPDATE search_meta SET index_version = ? WHERE id = 1", v)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	current := func() bool {
		t.Helper()
		ok, err := b.Engine.IndexCurrent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !current() {
		t.Fatal("an empty store is not current")
	}
	put(t, b.Engine, `{"resourceType":"Location","id":"iv1","position":{"latitude":51.5,"longitude":-0.12}}`)
	if !current() {
		t.Fatal("a store written by this indexer is not current")
	}
	setVersion(search.IndexVersion - 1)
	if current() {
		t.Fatal("rows of an older indexer count as current")
	}
	if err := b.Engine.Reindex(ctx, 0, nil); err != nil {
		t.Fatal(err)
	}
	if !current() {
		t.Fatal("not current after Reindex")
	}
	setVersion(search.IndexVersion + 1)
	if _, err := b.Engine.IndexCurrent(ctx); err == nil {
		t.Fatal("rows of a newer indexer accepted")
	}
}
