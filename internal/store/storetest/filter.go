package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/nhs-junction/junction/internal/store"
)

// testReadWhere checks that an access filter is applied inside the read:
// a version it holds for is returned whole, one it does not hold for is
// ErrHidden without its body, and a missing one is still ErrNotFound.
func testReadWhere(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	put(t, s, "Patient", "seen", 1, false)
	put(t, s, "Patient", "secret", 1, false)
	put(t, s, "Patient", "secret", 2, false)
	only := &store.Filter{SQL: "v.id = ?", Args: []any{"seen"}}

	got, err := s.ReadWhere(ctx, "Patient", "seen", 0, only)
	if err != nil || got.Version != 1 || len(got.Body) == 0 {
		t.Fatalf("ReadWhere visible: %s, %v", show(got), err)
	}
	for _, version := range []int64{0, 1, 2} {
		got, err = s.ReadWhere(ctx, "Patient", "secret", version, only)
		if !errors.Is(err, store.ErrHidden) {
			t.Fatalf("ReadWhere hidden v%d: err %v, want ErrHidden", version, err)
		}
		if got.Body != nil || got.ID != "secret" {
			t.Errorf("ReadWhere hidden v%d returned %s; want the key without a body", version, show(got))
		}
	}
	if got.Version != 2 {
		t.Errorf("hidden version 2 reported as version %d", got.Version)
	}
	if _, err := s.ReadWhere(ctx, "Patient", "nobody", 0, only); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReadWhere missing: %v, want ErrNotFound", err)
	}
	if _, err := s.ReadWhere(ctx, "Patient", "secret", 3, only); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReadWhere missing version: %v, want ErrNotFound", err)
	}
	got, err = s.ReadWhere(ctx, "Patient", "secret", 0, nil)
	if err != nil || got.Version != 2 || len(got.Body) == 0 {
		t.Errorf("ReadWhere without a filter: %s, %v", show(got), err)
	}

	// History: the filter narrows the page and the total alike.
	page, err := s.History(ctx, store.HistoryQuery{Type: "Patient", Count: 10, WithTotal: true, Where: only})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Versions) != 1 || page.Versions[0].ID != "seen" || page.Total != 1 {
		t.Errorf("filtered history: %d versions, total %d; want only Patient/seen", len(page.Versions), page.Total)
	}
	page, err = s.History(ctx, store.HistoryQuery{Count: 10, WithTotal: true, Where: &store.Filter{SQL: "v.id <> ?", Args: []any{"seen"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Versions) != 2 || page.Total != 2 {
		t.Errorf("filtered system history: %d versions, total %d; want the 2 versions of Patient/secret", len(page.Versions), page.Total)
	}
}
