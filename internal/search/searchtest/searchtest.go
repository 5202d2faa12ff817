// Package searchtest is the behavioural suite every search backend must
// pass: the same resources, the same queries, the same answers, on SQLite
// and on PostgreSQL.
package searchtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
)

// Backend is a search engine over an empty store.
type Backend struct {
	Engine *search.Engine
}

// Run runs the suite; open returns a new, empty backend for each test.
func Run(t *testing.T, open func(t *testing.T) Backend) {
	t.Run("Cases", func(t *testing.T) { testCases(t, open(t)) })
	t.Run("Paging", func(t *testing.T) { testPaging(t, open(t)) })
	t.Run("PagingWindows", func(t *testing.T) { testPagingWindows(t, open(t)) })
	t.Run("LongLists", func(t *testing.T) { testLongLists(t, open(t)) })
	t.Run("IndexVersion", func(t *testing.T) { testIndexVersion(t, open(t)) })
	t.Run("Include", func(t *testing.T) { testInclude(t, open(t)) })
	t.Run("Changes", func(t *testing.T) { testChanges(t, open(t)) })
	t.Run("Condition", func(t *testing.T) { testCondition(t, open(t)) })
	t.Run("ConditionalCreate", func(t *testing.T) { testConditionalCreate(t, open(t)) })
	t.Run("Near", func(t *testing.T) { testNear(t, open(t)) })
	t.Run("Vacuum", func(t *testing.T) { testVacuum(t, open(t)) })
	t.Run("Totals", func(t *testing.T) { testTotals(t, open(t)) })
	t.Run("SortDate", func(t *testing.T) { SortDate(t, open(t)) })
}

// put writes body as the next version of its resource.
func put(t *testing.T, st store.Store, body string) store.Version {
	t.Helper()
	var h struct{ ResourceType, ID string }
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	var out store.Version
	ctx := context.Background()
	err := st.Write(ctx, func(tx store.Tx) error {
		cur, err := tx.Current(ctx, h.ResourceType, h.ID)
		if err != nil && err != store.ErrNotFound {
			return err
		}
		out, err = tx.Put(ctx, store.Version{Type: h.ResourceType, ID: h.ID, Version: cur.Version + 1, Body: []byte(body)})
		return err
	})
	if err != nil {
		t.Fatalf("put %s/%s: %v", h.ResourceType, h.ID, err)
	}
	return out
}

func del(t *testing.T, st store.Store, typ, id string) {
	t.Helper()
	ctx := context.Background()
	err := st.Write(ctx, func(tx store.Tx) error {
		cur, err := tx.Current(ctx, typ, id)
		if err != nil {
			return err
		}
		_, err = tx.Put(ctx, store.Version{Type: typ, ID: id, Version: cur.Version + 1, Deleted: true})
		return err
	})
	if err != nil {
		t.Fatalf("delete %s/%s: %v", typ, id, err)
	}
}

func load(t *testing.T, b Backend) {
	for _, f := range fixtures {
		put(t, b.Engine, f)
	}
}

func parse(t testing.TB, typ, qs string) *searchparam.Query {
	t.Helper()
	params, err := searchparam.ParseQueryString(qs)
	if err != nil {
		t.Fatal(err)
	}
	q, err := searchparam.Parse(searchparam.R4(), typ, params, searchparam.Options{Now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatalf("%s?%s: %v", typ, qs, err)
	}
	return q
}

func ids(vs []store.Version) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.ID
	}
	return out
}

func keys(vs []store.Version) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Type + "/" + v.ID
	}
	sort.Strings(out)
	return out
}

func run(t testing.TB, b Backend, typ, qs string, opt search.Options) *search.Result {
	t.Helper()
	res, err := b.Engine.Search(context.Background(), parse(t, typ, qs), opt)
	if err != nil {
		t.Fatalf("%s?%s: %v", typ, qs, err)
	}
	return res
}

func testCases(t *testing.T, b Backend) {
	load(t, b)
	for _, c := range cases {
		t.Run(c.typ+"?"+c.query, func(t *testing.T) {
			res := run(t, b, c.typ, c.query, search.Options{})
			got := ids(res.Matches)
			want := slices.Clone(c.want)
			if !c.ordered {
				sort.Strings(got)
				sort.Strings(want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
			if res.Total != len(c.want) {
				t.Errorf("total %d, want %d", res.Total, len(c.want))
			}
		})
	}
}

// testPagingWindows pages with small pages through searches whose
// driving filter selects many more candidates than match (other filters,
// older versions and deleted resources reject them), so a page needs
// several windows of candidates, and checks the pages together are the
// whole result in seq order, each match once.
func testPagingWindows(t *testing.T, b Backend) {
	for i := 0; i < 40; i++ {
		put(t, b.Engine, fmt.Sprintf(`{"resourceType":"Observation","id":"w%02d","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/wp"},"valueQuantity":{"value":%d}}`, i, i))
	}
	put(t, b.Engine, `{"resourceType":"Patient","id":"wp"}`)
	for i := 0; i < 40; i += 3 {
		// A second version: the first one's index rows are candidates
		// that are no longer current.
		put(t, b.Engine, fmt.Sprintf(`{"resourceType":"Observation","id":"w%02d","status":"amended","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/wp"},"valueQuantity":{"value":%d}}`, i, i))
	}
	del(t, b.Engine, "Observation", "w38")
	// 700 candidates of one code, of which a few match: the first window
	// (256 candidates) and later, wider ones pass over the rejected.
	err := b.Engine.Write(context.Background(), func(tx store.Tx) error {
		for i := range 700 {
			id := fmt.Sprintf("wm%03d", i)
			body := fmt.Sprintf(`{"resourceType":"Observation","id":"%s","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1234-5"}]},"valueQuantity":{"value":%d}}`, id, i)
			if _, err := tx.Put(context.Background(), store.Version{Type: "Observation", ID: id, Version: 1, Body: []byte(body)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, qs := range []string{
		"code=1234-5&value-quantity=gt690&_count=3",
		"code=1234-5&value-quantity=lt2&_count=1",
		"code=1234-5&value-quantity=ge250&value-quantity=le262&_count=4",
		"code=1234-5&_count=300",
		"code=8867-4&value-quantity=gt30&_count=2",
		"code=8867-4&value-quantity=lt4&_count=1",
		"code=8867-4&status=amended&_count=3",
		"_id=w01,w05,w09,w38,w39&_count=1",
		"subject=Patient/wp&value-quantity=ge35&_count=2",
	} {
		t.Run(qs, func(t *testing.T) {
			all := run(t, b, "Observation", strings.Split(qs, "&_count")[0]+"&_count=1000", search.Options{})
			want := ids(all.Matches)
			if len(want) == 0 {
				t.Fatal("no matches")
			}
			q := parse(t, "Observation", qs)
			var got []string
			opt := search.Options{}
			for n := 0; n <= len(want); n++ {
				res, err := b.Engine.Search(context.Background(), q, opt)
				if err != nil {
					t.Fatal(err)
				}
				if res.Total != len(want) {
					t.Fatalf("page %d: total %d, want %d", n, res.Total, len(want))
				}
				got = append(got, ids(res.Matches)...)
				if res.Next == nil {
					break
				}
				opt.Cursor = res.Next
			}
			if !slices.Equal(got, want) {
				t.Errorf("paged %v, want %v", got, want)
			}
		})
	}
	// The compartment's own resource comes in the window of its seq, once.
	c, err := search.CompartmentFor("Patient", "wp", "Patient")
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, b, "Patient", "_count=1", search.Options{Compartment: c})
	if got := ids(res.Matches); len(got) != 1 || got[0] != "wp" || res.Next != nil {
		t.Errorf("Patient compartment of wp: %v, next %v", got, res.Next)
	}
}

// testPaging pages through a result in both orders while the data
// changes, and checks every page agrees with the first page's total.
func testPaging(t *testing.T, b Backend) {
	for i := 0; i < 25; i++ {
		put(t, b.Engine, fmt.Sprintf(`{"resourceType":"Observation","id":"q%02d","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"valueQuantity":{"value":%d}}`, i, i))
	}
	for _, qs := range []string{"code=8867-4&_count=10", "code=8867-4&_count=10&_sort=-value-quantity"} {
		t.Run(qs, func(t *testing.T) {
			q := parse(t, "Observation", qs)
			ctx := context.Background()
			var got []string
			var pages []*search.Result
			opt := search.Options{}
			for n := 0; ; n++ {
				res, err := b.Engine.Search(ctx, q, opt)
				if err != nil {
					t.Fatal(err)
				}
				if res.Total != 25 {
					t.Fatalf("page %d: total %d", n, res.Total)
				}
				pages = append(pages, res)
				got = append(got, ids(res.Matches)...)
				if n == 0 {
					// Changes after the first page must not show in the
					// later pages: one match deleted, one updated so it no
					// longer matches, one new match.
					del(t, b.Engine, "Observation", "q20")
					put(t, b.Engine, `{"resourceType":"Observation","id":"q21","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"0000-0"}]}}`)
					put(t, b.Engine, `{"resourceType":"Observation","id":"q99","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]}}`)
				}
				if res.Next == nil {
					break
				}
				// The cursor survives the trip through a link.
				c, err := search.DecodeCursor(res.Next.Encode())
				if err != nil {
					t.Fatal(err)
				}
				opt.Cursor = c
				if n > 5 {
					t.Fatal("too many pages")
				}
			}
			if len(pages) != 3 || len(got) != 25 {
				t.Fatalf("%d pages, %d matches: %v", len(pages), len(got), got)
			}
			seen := map[string]bool{}
			for _, id := range got {
				if seen[id] {
					t.Fatalf("%s twice", id)
				}
				seen[id] = true
			}
			if !seen["q20"] || !seen["q21"] || seen["q99"] {
				t.Errorf("pages did not keep the first page's snapshot: %v", got)
			}
			if strings.Contains(qs, "_sort") && (got[0] != "q24" || got[24] != "q00") {
				t.Errorf("sorted pages %v", got)
			}
			// Back from the last page to the first.
			prev := pages[2].Prev
			var back []string
			for prev != nil {
				res, err := b.Engine.Search(ctx, q, search.Options{Cursor: prev})
				if err != nil {
					t.Fatal(err)
				}
				back = append(ids(res.Matches), back...)
				prev = res.Prev
			}
			if !slices.Equal(back, got[:20]) {
				t.Errorf("previous pages %v, want %v", back, got[:20])
			}
			// A new search sees the changes.
			res, err := b.Engine.Search(ctx, q, search.Options{})
			if err != nil || res.Total != 24 {
				t.Errorf("fresh total %d, %v", res.Total, err)
			}
		})
		// reset for the second query
		put(t, b.Engine, `{"resourceType":"Observation","id":"q21","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"valueQuantity":{"value":21}}`)
		put(t, b.Engine, `{"resourceType":"Observation","id":"q20","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"valueQuantity":{"value":20}}`)
		del(t, b.Engine, "Observation", "q99")
	}
	res := run(t, b, "Observation", "code=8867-4&_summary=count", search.Options{})
	if res.Total != 25 || len(res.Matches) != 0 {
		t.Errorf("_summary=count: total %d, %d matches", res.Total, len(res.Matches))
	}
	res = run(t, b, "Observation", "code=8867-4&_total=none&_count=5", search.Options{})
	if res.Total != -1 || len(res.Matches) != 5 {
		t.Errorf("_total=none: total %d, %d matches", res.Total, len(res.Matches))
	}
}

func testInclude(t *testing.T, b Backend) {
	load(t, b)
	// Canonical references: by url, and by url|version.
	put(t, b.Engine, `{"resourceType":"Questionnaire","id":"qv1","url":"http://example.org/Questionnaire/phq","version":"1","status":"active"}`)
	put(t, b.Engine, `{"resourceType":"Questionnaire","id":"qv2","url":"http://example.org/Questionnaire/phq","version":"2","status":"active"}`)
	put(t, b.Engine, `{"resourceType":"Questionnaire","id":"qo","url":"http://example.org/Questionnaire/other","status":"active"}`)
	put(t, b.Engine, `{"resourceType":"QuestionnaireResponse","id":"qr1","questionnaire":"http://example.org/Questionnaire/phq|1","status":"completed"}`)
	put(t, b.Engine, `{"resourceType":"QuestionnaireResponse","id":"qr2","questionnaire":"http://example.org/Questionnaire/phq","status":"completed"}`)
	for _, c := range []struct {
		typ, qs        string
		match, include []string
	}{
		{"Observation", "_id=ob1&_include=Observation:subject", []string{"Observation/ob1"}, []string{"Patient/p1"}},
		{"Observation", "_id=ob1&_include=Observation:subject:Group", []string{"Observation/ob1"}, nil},
		{"Observation", "_id=ob1,ob3&_include=Observation:patient&_include=Observation:performer", []string{"Observation/ob1", "Observation/ob3"}, []string{"Patient/p1", "Patient/p2", "Practitioner/pr1"}},
		{"Observation", "_id=ob1&_include=*", []string{"Observation/ob1"}, []string{"Patient/p1", "Practitioner/pr1"}},
		{"Patient", "_id=p1&_revinclude=Observation:subject", []string{"Patient/p1"}, []string{"Observation/ob1", "Observation/ob2"}},
		{"Patient", "_id=p1&_revinclude=*", []string{"Patient/p1"}, []string{"List/l1", "Observation/ob1", "Observation/ob2", "RiskAssessment/ra1"}},
		{"Observation", "_id=ob1&_include=Observation:patient&_include:iterate=Patient:organization&_include:iterate=Organization:partof", []string{"Observation/ob1"}, []string{"Organization/o1", "Organization/o3", "Patient/p1"}},
		{"Observation", "_id=ob3&_include=Observation:patient&_revinclude:iterate=Observation:patient", []string{"Observation/ob3"}, []string{"Observation/ob4", "Patient/p2"}},
		{"Patient", "_id=p1&_include=Patient:organization&_revinclude=Observation:patient", []string{"Patient/p1"}, []string{"Observation/ob1", "Observation/ob2", "Organization/o1"}},
		{"QuestionnaireResponse", "_id=qr1&_include=QuestionnaireResponse:questionnaire", []string{"QuestionnaireResponse/qr1"}, []string{"Questionnaire/qv1"}},
		{"QuestionnaireResponse", "_id=qr2&_include=QuestionnaireResponse:questionnaire", []string{"QuestionnaireResponse/qr2"}, []string{"Questionnaire/qv1", "Questionnaire/qv2"}},
		{"QuestionnaireResponse", "_id=qr1&_include=*", []string{"QuestionnaireResponse/qr1"}, []string{"Questionnaire/qv1"}},
		{"Questionnaire", "_id=qv1&_revinclude=QuestionnaireResponse:questionnaire", []string{"Questionnaire/qv1"}, []string{"QuestionnaireResponse/qr1", "QuestionnaireResponse/qr2"}},
		{"Questionnaire", "_id=qv2&_revinclude=QuestionnaireResponse:questionnaire", []string{"Questionnaire/qv2"}, []string{"QuestionnaireResponse/qr2"}},
		{"Questionnaire", "_id=qo&_revinclude=QuestionnaireResponse:questionnaire", []string{"Questionnaire/qo"}, nil},
	} {
		t.Run(c.typ+"?"+c.qs, func(t *testing.T) {
			res := run(t, b, c.typ, c.qs, search.Options{})
			if got := keys(res.Matches); !slices.Equal(got, c.match) {
				t.Errorf("matches %v, want %v", got, c.match)
			}
			if got := keys(res.Included); !slices.Equal(got, c.include) && !(len(got) == 0 && len(c.include) == 0) {
				t.Errorf("included %v, want %v", got, c.include)
			}
		})
	}
	// A compartment search.
	comp, err := search.CompartmentFor("Patient", "p1", "Observation")
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, b, "Observation", "", search.Options{Compartment: comp})
	if got := keys(res.Matches); !slices.Equal(got, []string{"Observation/ob1", "Observation/ob2"}) {
		t.Errorf("compartment %v", got)
	}
	comp, _ = search.CompartmentFor("Patient", "p1", "Patient")
	res = run(t, b, "Patient", "", search.Options{Compartment: comp})
	if got := keys(res.Matches); !slices.Equal(got, []string{"Patient/p1"}) {
		t.Errorf("Patient/p1/Patient: %v", got)
	}
	comp, _ = search.CompartmentFor("Practitioner", "pr1", "Observation")
	res = run(t, b, "Observation", "code=8867-4", search.Options{Compartment: comp})
	if got := keys(res.Matches); !slices.Equal(got, []string{"Observation/ob1"}) {
		t.Errorf("Practitioner/pr1/Observation: %v", got)
	}
	if _, err := search.CompartmentFor("Patient", "p1", "Organization"); err == nil {
		t.Error("Organization is not in the Patient compartment")
	}
}

// testChanges checks that searches see only current versions.
func testChanges(t *testing.T, b Backend) {
	load(t, b)
	put(t, b.Engine, `{"resourceType":"Patient","id":"p3","name":[{"family":"Taylor"}],"gender":"other"}`)
	del(t, b.Engine, "Observation", "ob5")
	for _, c := range []struct {
		typ, qs string
		want    []string
	}{
		{"Patient", "family=muller", nil},
		{"Patient", "family=taylor", []string{"p3"}},
		{"Patient", "gender=female", []string{"p1"}},
		{"Observation", "patient=p3", nil},
		{"Observation", "code=8310-5", nil},
		{"Patient", "_has:Observation:patient:code=8310-5", nil},
		{"Observation", "subject:Patient.gender=other", nil},
		{"Observation", "subject:Patient.gender=female", []string{"ob1", "ob2"}},
	} {
		res := run(t, b, c.typ, c.qs, search.Options{})
		got := ids(res.Matches)
		sort.Strings(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s?%s: got %v, want %v", c.typ, c.qs, got, c.want)
		}
	}
	// Vacuum drops the rows of replaced versions; reindexing rewrites
	// the current ones. Neither changes any answer.
	ctx := context.Background()
	old := run(t, b, "Patient", "_count=1", search.Options{})
	put(t, b.Engine, fixtures[5]) // p2 again: a newer snapshot than old's
	snap := run(t, b, "Patient", "_count=1", search.Options{}).Snapshot
	if err := b.Engine.Vacuum(ctx, snap); err != nil {
		t.Fatal(err)
	}
	var fe *fhir.Error
	if _, err := b.Engine.Search(ctx, parse(t, "Patient", "_count=1"), search.Options{Cursor: old.Next}); !errors.As(err, &fe) || fe.Status != 410 {
		t.Errorf("a page pinned before the vacuum horizon: %v, want 410", err)
	}
	if res := run(t, b, "Patient", "_count=1", search.Options{}); res.Next != nil {
		if _, err := b.Engine.Search(ctx, parse(t, "Patient", "_count=1"), search.Options{Cursor: res.Next}); err != nil {
			t.Errorf("a page pinned at the horizon: %v", err)
		}
	}
	batches := 0
	if err := b.Engine.Reindex(ctx, 0, func(int64, int) { batches++ }); err != nil || batches != 1 {
		t.Fatalf("reindex: %v, %d batches", err, batches)
	}
	for _, c := range cases {
		if c.typ == "Patient" && strings.HasPrefix(c.query, "_sort=_id") {
			res := run(t, b, c.typ, c.query, search.Options{})
			if got := ids(res.Matches); !slices.Equal(got, c.want) || res.Total != 3 {
				t.Errorf("after reindex: %v, total %d", got, res.Total)
			}
		}
	}
	if res := run(t, b, "Patient", "family=taylor", search.Options{}); res.Total != 1 {
		t.Errorf("after reindex: family=taylor total %d", res.Total)
	}
	if res := run(t, b, "Observation", "code=8310-5", search.Options{}); res.Total != 0 {
		t.Errorf("after vacuum: deleted observation found")
	}

	// The deleted resource can come back, and is found again.
	put(t, b.Engine, fixtures[11])
	if res := run(t, b, "Observation", "code=8310-5", search.Options{}); len(res.Matches) != 1 {
		t.Errorf("recreated resource not found: %v", ids(res.Matches))
	}
}

// testCondition checks that a restriction (access control) applies to
// every resource version a search reads: a hidden resource leaks through
// none of the matches, a chain, a reverse chain (_has, _list), _include,
// _revinclude, :iterate, the total, or a conditional write's search. Each
// query is first run without the restriction, to show the hidden resource
// is in its reach.
func testCondition(t *testing.T, b Backend) {
	load(t, b)
	ctx := context.Background()
	hide := func(typ, id string) search.Restriction {
		return func(v string, types []string) *search.Condition {
			if len(types) > 0 && !slices.Contains(types, typ) {
				// The contract lets a restriction skip what cannot be
				// of its type; a wrong types list would leak here.
				return nil
			}
			return &search.Condition{SQL: "NOT (" + v + ".type = ? AND " + v + ".id = ?)", Args: []any{typ, id}}
		}
	}
	o1 := hide("Organization", "o1")
	for _, c := range []struct {
		name, typ, qs string
		where         search.Restriction
		open, hidden  []string // matches and includes without, and with, the restriction
		openTotal     int
	}{
		{"match", "Organization", "name=leeds", o1, []string{"Organization/o1"}, nil, 1},
		{"total", "Organization", "_total=accurate&_count=1", o1, []string{"Organization/o1"}, []string{"Organization/o2"}, 3},
		{"chain", "Patient", "organization.name=leeds", o1, []string{"Patient/p1"}, nil, 1},
		{"chain of two hops", "Observation", "subject:Patient.organization.name=leeds", o1, []string{"Observation/ob1", "Observation/ob2"}, nil, 2},
		{"chain, not driving", "Patient", "gender=female&organization.name=leeds", o1, []string{"Patient/p1"}, nil, 1},
		{"reverse chain", "Organization", "_has:Organization:partof:name=leeds", o1, []string{"Organization/o3"}, nil, 1},
		{"list", "Patient", "_list=l1", hide("List", "l1"), []string{"Patient/p1", "Patient/p3"}, nil, 2},
		{"include", "Patient", "_id=p1&_include=Patient:organization", o1, []string{"Organization/o1", "Patient/p1"}, []string{"Patient/p1"}, 1},
		{"revinclude", "Organization", "_id=o3&_revinclude=Organization:partof", o1, []string{"Organization/o1", "Organization/o3"}, []string{"Organization/o3"}, 1},
		{"iterate", "Observation", "_id=ob1&_include=Observation:subject&_include:iterate=Patient:organization", o1,
			[]string{"Observation/ob1", "Organization/o1", "Patient/p1"}, []string{"Observation/ob1", "Patient/p1"}, 1},
		{"revinclude iterate", "Organization", "_id=o3&_revinclude=Organization:partof&_revinclude:iterate=Patient:organization", o1,
			[]string{"Organization/o1", "Organization/o3", "Patient/p1"}, []string{"Organization/o3"}, 1},
		{"compartment member", "Observation", "subject=Patient/p1&_revinclude=RiskAssessment:subject", hide("Observation", "ob2"),
			[]string{"Observation/ob1", "Observation/ob2"}, []string{"Observation/ob1"}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			all := func(res *search.Result) []string { return keys(append(slices.Clone(res.Matches), res.Included...)) }
			res := run(t, b, c.typ, c.qs, search.Options{})
			if got := all(res); !slices.Equal(got, c.open) || res.Total != c.openTotal {
				t.Fatalf("without the restriction: %v total %d, want %v total %d", got, res.Total, c.open, c.openTotal)
			}
			res = run(t, b, c.typ, c.qs, search.Options{Where: c.where})
			if got := all(res); !slices.Equal(got, c.hidden) {
				t.Errorf("with the restriction: %v, want %v", got, c.hidden)
			}
			// The total, and a count alone, leave the hidden out.
			q := parse(t, c.typ, c.qs+"&_summary=count")
			cnt, err := b.Engine.Search(ctx, q, search.Options{Where: c.where})
			if err != nil {
				t.Fatal(err)
			}
			want := len(res.Matches)
			if c.name == "total" {
				want = 2 // three organisations, one hidden; one per page
			}
			if res.Total != want || cnt.Total != want {
				t.Errorf("total %d, _summary=count %d, want %d", res.Total, cnt.Total, want)
			}
			// The search a conditional write runs is restricted alike.
			err = b.Engine.Write(ctx, func(tx store.Tx) error {
				in, err := b.Engine.SearchTx(ctx, tx, parse(t, c.typ, c.qs), search.Options{Where: c.where})
				if err != nil {
					return err
				}
				if got := all(in); !slices.Equal(got, c.hidden) {
					t.Errorf("in a write: %v, want %v", got, c.hidden)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// testConditionalCreate races clients that each create a Patient unless
// one with the same identifier exists: exactly one must be created.
func testConditionalCreate(t *testing.T, b Backend) {
	ctx := context.Background()
	q := parse(t, "Patient", "identifier=https://fhir.nhs.uk/Id/nhs-number|9990000026")
	const clients = 8
	var wg sync.WaitGroup
	created := make(chan string, clients)
	all := make(chan struct{})
	var mu sync.Mutex
	arrived := 0
	arrive := func() {
		mu.Lock()
		defer mu.Unlock()
		if arrived++; arrived == clients {
			close(all)
		}
	}
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for attempt := 0; attempt < 20; attempt++ {
				err := b.Engine.Write(ctx, func(tx store.Tx) error {
					res, err := b.Engine.SearchTx(ctx, tx, q, search.Options{})
					if err != nil {
						return err
					}
					if len(res.Matches) > 0 {
						return nil
					}
					// Hold the window between the check and the write open
					// until every client has checked (or a while has
					// passed, as it will when the checks are serialised).
					arrive()
					select {
					case <-all:
					case <-time.After(300 * time.Millisecond):
					}
					id := fmt.Sprintf("cc%d", i)
					body := fmt.Sprintf(`{"resourceType":"Patient","id":"%s","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000026"}]}`, id)
					if _, err := tx.Put(ctx, store.Version{Type: "Patient", ID: id, Version: 1, Body: []byte(body)}); err != nil {
						return err
					}
					created <- id
					return nil
				})
				if errors.Is(err, store.ErrVersionConflict) {
					continue
				}
				if err != nil {
					t.Error(err)
				}
				return
			}
		}()
	}
	wg.Wait()
	close(created)
	res := run(t, b, "Patient", "identifier=9990000026", search.Options{})
	if len(res.Matches) != 1 {
		t.Errorf("%d patients created, want 1: %v", len(res.Matches), ids(res.Matches))
	}
}
