package searchtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/search"
)

// testVacuum updates one resource a thousand times and checks the index
// tables do not grow: the vacuum the writes drive removes the rows of
// replaced versions. It also checks the other half of the contract: a
// page link within its lifetime still answers exactly as its first page
// did however the data changed, and one past it is refused with 410.
func testVacuum(t *testing.T, b Backend) {
	ctx := context.Background()
	e := b.Engine
	e.SetPageLifetime(0)
	body := func(i int) string {
		return fmt.Sprintf(`{"resourceType":"Patient","id":"vac","name":[{"family":"Family%d","given":["Given%d"]}],"birthDate":"19%02d-01-01","managingOrganization":{"reference":"Organization/o%d"}}`, i, i, i%100, i)
	}
	put(t, e, body(0))
	if _, err := e.VacuumNow(ctx); err != nil {
		t.Fatal(err)
	}
	one, err := e.IndexRowCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 1000; i++ {
		put(t, e, body(i))
		if i%100 == 0 {
			// A snapshot sample is used once every transaction open at
			// it (on PostgreSQL: anywhere in the cluster) has ended, so
			// under other load it may take another run or two.
			var n int64
			for try := 0; try < 100; try++ {
				if _, err := e.VacuumNow(ctx); err != nil {
					t.Fatal(err)
				}
				if n, err = e.IndexRowCount(ctx); err != nil || n == one {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if n != one {
				t.Fatalf("after %d updates and vacuums: %d index rows, want %d (%v)", i, n, one, err)
			}
		}
	}
	if res := run(t, b, "Patient", "family=family1000", search.Options{}); !slices.Equal(ids(res.Matches), []string{"vac"}) {
		t.Errorf("current version not found after vacuum: %v", ids(res.Matches))
	}
	if res := run(t, b, "Patient", "family=family999", search.Options{}); len(res.Matches) != 0 {
		t.Errorf("a replaced version found: %v", ids(res.Matches))
	}
	// History and vread read versions, not index rows.
	if v, err := e.ReadVersion(ctx, "Patient", "vac", 7); err != nil || v.Version != 7 {
		t.Errorf("vread of a vacuumed version: %v", err)
	}

	// Within the lifetime, vacuum keeps what pinned pages read.
	e.SetPageLifetime(search.DefaultPageLifetime)
	for i := 0; i < 6; i++ {
		put(t, e, fmt.Sprintf(`{"resourceType":"Observation","id":"vq%d","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2339-0"}]}}`, i))
	}
	q := parse(t, "Observation", "code=2339-0&_count=2")
	first, err := e.Search(ctx, q, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// vq3 stops matching, vq4 is deleted, vq6 is new.
	put(t, e, `{"resourceType":"Observation","id":"vq3","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"0000-0"}]}}`)
	del(t, e, "Observation", "vq4")
	put(t, e, `{"resourceType":"Observation","id":"vq6","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2339-0"}]}}`)
	for range 3 {
		if n, err := e.VacuumNow(ctx); err != nil || n != 0 {
			t.Fatalf("vacuum within the lifetime cleared %d versions (%v)", n, err)
		}
	}
	got := ids(first.Matches)
	for c := first.Next; c != nil; {
		res, err := e.Search(ctx, q, search.Options{Cursor: c})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(res.Matches)...)
		c = res.Next
	}
	if want := []string{"vq0", "vq1", "vq2", "vq3", "vq4", "vq5"}; !slices.Equal(got, want) {
		t.Errorf("pages pinned before the changes: %v, want %v", got, want)
	}

	// Past the lifetime the link is refused, and the rows go.
	e.SetPageLifetime(0)
	var fe *fhir.Error
	if _, err := e.Search(ctx, q, search.Options{Cursor: first.Next}); !errors.As(err, &fe) || fe.Status != 410 {
		t.Errorf("an expired page link: %v, want 410", err)
	}
	cleared := 0
	for try := 0; try < 100 && cleared < 2; try++ {
		n, err := e.VacuumNow(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cleared += n
		time.Sleep(10 * time.Millisecond)
	}
	if cleared != 2 {
		t.Errorf("vacuum past the lifetime cleared %d versions, want 2", cleared)
	}
	if res := run(t, b, "Observation", "code=2339-0", search.Options{}); !slices.Equal(ids(res.Matches), []string{"vq0", "vq1", "vq2", "vq5", "vq6"}) || res.Total != 5 {
		t.Errorf("after vacuum: %v total %d", ids(res.Matches), res.Total)
	}
}
