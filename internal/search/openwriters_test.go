package search_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
)

// TestPostgresOpenWriters: on PostgreSQL a transaction that took a seq
// below a search's snapshot and commits after the first page must not
// show in the later pages, in seq order or sorted, and the total must
// stay what the first page said.
func TestPostgresOpenWriters(t *testing.T) {
	be := openPostgres(t)
	e := be.Engine
	ctx := context.Background()
	obs := func(id string, v int) store.Version {
		return store.Version{Type: "Observation", ID: id, Version: 1, Body: []byte(fmt.Sprintf(
			`{"resourceType":"Observation","id":"%s","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"7777-7"}]},"valueQuantity":{"value":%d}}`, id, v))}
	}
	put := func(v store.Version) {
		t.Helper()
		if err := e.Write(ctx, func(tx store.Tx) error { _, err := tx.Put(ctx, v); return err }); err != nil {
			t.Fatal(err)
		}
	}
	put(obs("c", 1))
	// T1 takes a seq, then waits, open, while B is written and committed
	// with a higher seq.
	took, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- e.Write(ctx, func(tx store.Tx) error {
			if _, err := tx.Put(ctx, obs("a", 2)); err != nil {
				return err
			}
			close(took)
			<-release
			return nil
		})
	}()
	<-took
	put(obs("b", 3))
	parse := func(qs string) *searchparam.Query {
		params, err := searchparam.ParseQueryString(qs)
		if err != nil {
			t.Fatal(err)
		}
		q, err := searchparam.Parse(searchparam.R4(), "Observation", params, searchparam.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	queries := []string{"code=7777-7&_count=1", "code=7777-7&_count=1&_sort=value-quantity"}
	firsts := map[string]*search.Result{}
	for _, qs := range queries {
		first, err := e.Search(ctx, parse(qs), search.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if first.Total != 2 || len(first.Matches) != 1 || first.Next == nil {
			t.Fatalf("%s: first page total %d, %d matches", qs, first.Total, len(first.Matches))
		}
		firsts[qs] = first
	}
	// T1 commits between the first pages and the next.
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, qs := range queries {
		got := []string{firsts[qs].Matches[0].ID}
		for next := firsts[qs].Next; next != nil; {
			res, err := e.Search(ctx, parse(qs), search.Options{Cursor: next})
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != 2 {
				t.Errorf("%s: later page total %d", qs, res.Total)
			}
			for _, m := range res.Matches {
				got = append(got, m.ID)
			}
			next = res.Next
		}
		if !slices.Equal(got, []string{"c", "b"}) {
			t.Errorf("%s: pages %v, want [c b]: a committed after the first page", qs, got)
		}
	}
	// A new search sees it.
	res, err := e.Search(ctx, parse("code=7777-7"), search.Options{})
	if err != nil || res.Total != 3 {
		t.Errorf("fresh search: total %d, %v", res.Total, err)
	}
}

// TestSQLiteCursorWithOpenWriters: SQLite never issues a cursor naming
// open transactions, so one that does was altered: 400, not a database
// error.
func TestSQLiteCursorWithOpenWriters(t *testing.T) {
	be := openSQLite(t)
	params, err := searchparam.ParseQueryString("code=7777-7")
	if err != nil {
		t.Fatal(err)
	}
	q, err := searchparam.Parse(searchparam.R4(), "Observation", params, searchparam.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := search.DecodeCursor((&search.Cursor{Snapshot: 1, Total: -1, Open: []int64{42}, After: 1}).Encode())
	if err != nil {
		t.Fatal(err)
	}
	_, err = be.Engine.Search(context.Background(), q, search.Options{Cursor: cur})
	var fe *fhir.Error
	if !errors.As(err, &fe) || fe.Status != 400 {
		t.Fatalf("altered cursor: %v", err)
	}
}
