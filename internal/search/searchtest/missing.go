package searchtest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/store"
)

// missingCases are reference parameters whose official examples include
// references that name nothing searchable: contained resources
// ("#newborn", "#careteam", "#med0310") and display-only references.
// element is the JSON member the parameter's expression selects.
var missingCases = []struct{ typ, param, element string }{
	{"Observation", "subject", "subject"},
	{"ServiceRequest", "requester", "requester"},
	{"MedicationRequest", "medication", "medicationReference"},
	{"CarePlan", "care-team", "careTeam"},
}

// RunMissingExamples stores the official R4 examples of missingCases'
// types (from the examples package in dir) and checks that param:missing
// follows the element (search.html 3.1.1.5): true finds exactly the
// examples without the element, false exactly those with it, however
// the reference is written. The expected sets are read from the JSON
// directly, not from the index.
func RunMissingExamples(t *testing.T, b Backend, dir string) {
	ctx := context.Background()
	for _, c := range missingCases {
		files, err := filepath.Glob(filepath.Join(dir, c.typ+"-*.json"))
		if err != nil {
			t.Fatal(err)
		}
		var with, without []string
		unsearchable := 0
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var res map[string]json.RawMessage
			if err := json.Unmarshal(raw, &res); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var typ, id string
			json.Unmarshal(res["resourceType"], &typ)
			json.Unmarshal(res["id"], &id)
			if typ != c.typ || id == "" {
				continue
			}
			err = b.Engine.Write(ctx, func(tx store.Tx) error {
				_, err := tx.Put(ctx, store.Version{Type: typ, ID: id, Version: 1, Body: raw})
				return err
			})
			if err != nil {
				t.Fatalf("store %s: %v", filepath.Base(f), err)
			}
			el, ok := res[c.element]
			if !ok {
				without = append(without, id)
				continue
			}
			with = append(with, id)
			var ref struct{ Reference string }
			var refs []struct{ Reference string }
			if json.Unmarshal(el, &ref) == nil {
				refs = append(refs, ref)
			} else {
				json.Unmarshal(el, &refs)
			}
			for _, r := range refs {
				if r.Reference == "" || r.Reference[0] == '#' {
					unsearchable++
				}
			}
		}
		if unsearchable == 0 || len(without) == 0 {
			t.Fatalf("%s.%s: the examples package has changed (%d unsearchable references, %d without)", c.typ, c.element, unsearchable, len(without))
		}
		sort.Strings(with)
		sort.Strings(without)
		for _, m := range []struct {
			value string
			want  []string
		}{{"true", without}, {"false", with}} {
			qs := c.param + ":missing=" + m.value + "&_count=1000"
			res := run(t, b, c.typ, qs, search.Options{})
			got := ids(res.Matches)
			sort.Strings(got)
			if !slices.Equal(got, m.want) {
				t.Errorf("%s?%s: got %v, want %v", c.typ, qs, got, m.want)
			}
		}
	}
	// A presence row must not match a value, sort first, or be included.
	res := run(t, b, "Observation", "_id=1minute-apgar-score,vp-oyster&_sort=subject&_include=Observation:subject", search.Options{})
	if len(res.Included) != 0 || len(res.Matches) != 2 {
		t.Errorf("presence rows: matches %v, included %v", ids(res.Matches), keys(res.Included))
	}
}
