package app

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/store"
)

// TestEnsureIndex: a store whose index rows an older indexer computed is
// rebuilt when opened for serving, and said so in the log; then it is
// current and a second call does nothing.
func TestEnsureIndex(t *testing.T) {
	ctx := context.Background()
	cfg := config.Defaults()
	cfg.Data = t.TempDir()
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Write(ctx, func(tx store.Tx) error {
		_, err := tx.Put(ctx, store.Version{Type: "Location", ID: "l1", Version: 1, Body: []byte(`{"resourceType":"Location","id":"l1","position":{"latitude":51.5,"longitude":-0.12}}`)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Store.Write(ctx, func(tx store.Tx) error {
		return tx.(search.Execer).ExecShared(ctx, "UPDATE search_meta SET index_version = 1 WHERE id = 1")
	})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if err := EnsureIndex(ctx, st, slog.New(slog.NewTextHandler(&log, nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "rebuilt") {
		t.Errorf("no rebuild logged: %s", log.String())
	}
	if ok, err := st.IndexCurrent(ctx); !ok || err != nil {
		t.Fatalf("after EnsureIndex: current %v, %v", ok, err)
	}
	log.Reset()
	if err := EnsureIndex(ctx, st, slog.New(slog.NewTextHandler(&log, nil))); err != nil || log.Len() != 0 {
		t.Errorf("second EnsureIndex: %v, logged %q", err, log.String())
	}
}
