package postgres_test

import (
	"context"
	"slices"
	"testing"

	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/postgres"
)

// TestHistoryOpenWriters: a transaction that took a seq below the first
// history page's snapshot and commits after it does not appear in the
// later pages.
func TestHistoryOpenWriters(t *testing.T) {
	ctx := context.Background()
	st, err := postgres.Open(ctx, freshSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	put := func(tx store.Tx, id string) error {
		_, err := tx.Put(ctx, store.Version{Type: "Basic", ID: id, Version: 1, Body: []byte(`{"resourceType":"Basic","id":"` + id + `"}`)})
		return err
	}
	if err := st.Write(ctx, func(tx store.Tx) error { return put(tx, "c") }); err != nil {
		t.Fatal(err)
	}
	took, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- st.Write(ctx, func(tx store.Tx) error {
			if err := put(tx, "a"); err != nil {
				return err
			}
			close(took)
			<-release
			return nil
		})
	}()
	<-took
	if err := st.Write(ctx, func(tx store.Tx) error { return put(tx, "b") }); err != nil {
		t.Fatal(err)
	}
	q := store.HistoryQuery{Type: "Basic", Count: 1, WithTotal: true}
	page, err := st.History(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Open) == 0 {
		t.Fatal("the open transaction is not in the page")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for {
		for _, v := range page.Versions {
			got = append(got, v.ID)
		}
		if page.Total != 2 {
			t.Errorf("total %d, want 2", page.Total)
		}
		if !page.More {
			break
		}
		q.Before, q.Snapshot, q.Open = page.Versions[len(page.Versions)-1].Seq, page.Snapshot, page.Open
		if page, err = st.History(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("history pages %v, want [b c]", got)
	}
}
