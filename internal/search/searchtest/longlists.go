package searchtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/store"
)

// testLongLists searches with lists far longer than SQLite's expression
// depth limit (1,000): a token parameter with 1,500 codes in several
// systems (what :in on a large value set becomes), a string parameter
// with 1,200 values, and _revinclude from a page of 1,000 resources.
func testLongLists(t *testing.T, b Backend) {
	ctx := context.Background()
	err := b.Engine.Write(ctx, func(tx store.Tx) error {
		for i := range 1100 {
			body := fmt.Sprintf(`{"resourceType":"Patient","id":"ll%d","name":[{"family":"Fam%d"}]}`, i, i)
			if _, err := tx.Put(ctx, store.Version{Type: "Patient", ID: fmt.Sprintf("ll%d", i), Version: 1, Body: []byte(body)}); err != nil {
				return err
			}
		}
		for i := range 40 {
			system := []string{"http://loinc.org", "http://snomed.info/sct"}[i%2]
			body := fmt.Sprintf(`{"resourceType":"Observation","id":"llo%d","status":"final","code":{"coding":[{"system":"%s","code":"c%d"}]},"subject":{"reference":"Patient/ll%d"}}`, i, system, i, i*20)
			if _, err := tx.Put(ctx, store.Version{Type: "Observation", ID: fmt.Sprintf("llo%d", i), Version: 1, Body: []byte(body)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Codes c0..c1499, qualified with LOINC, LOINC, SNOMED CT, SNOMED CT
	// in turn, against observations coded LOINC, SNOMED CT in turn: the
	// system and the code must both agree, for 20 of the 40.
	var codes []string
	for i := range 1500 {
		system := []string{"http://loinc.org", "http://loinc.org", "http://snomed.info/sct", "http://snomed.info/sct"}[i%4]
		codes = append(codes, system+"|c"+fmt.Sprint(i))
	}
	res := run(t, b, "Observation", "code="+strings.Join(codes, ",")+"&_count=100", search.Options{})
	if res.Total != 20 {
		t.Errorf("1,500 codes: total %d, want 20", res.Total)
	}
	res = run(t, b, "Observation", "code:not="+strings.Join(codes, ",")+"&_count=100&_id=llo0,llo1", search.Options{})
	if got := ids(res.Matches); !slices.Equal(got, []string{"llo1"}) {
		t.Errorf("1,500 codes with :not: %v", got)
	}
	var names []string
	for i := range 1200 {
		names = append(names, fmt.Sprintf("Nomatch%d", i))
	}
	names = append(names, "Fam1099")
	res = run(t, b, "Patient", "family="+strings.Join(names, ","), search.Options{})
	if got := ids(res.Matches); !slices.Equal(got, []string{"ll1099"}) {
		t.Errorf("1,201 names: %v", got)
	}
	res = run(t, b, "Patient", "_count=1000&_revinclude=Observation:subject&family:contains=fam", search.Options{})
	if len(res.Matches) != 1000 || len(res.Included) != 40 {
		t.Errorf("_revinclude from 1,000 resources: %d matches, %d included", len(res.Matches), len(res.Included))
	}
}
