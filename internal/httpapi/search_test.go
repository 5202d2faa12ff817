package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/fhirpkg"
	"github.com/nhs-junction/junction/internal/store"
)

type searchset struct {
	Type  string
	Total *int
	Link  []struct{ Relation, URL string }
	Entry []struct {
		FullURL  string
		Resource struct {
			ResourceType, ID string
		}
		Search struct{ Mode string }
	}
}

func (s searchset) link(rel string) string {
	for _, l := range s.Link {
		if l.Relation == rel {
			return l.URL
		}
	}
	return ""
}

func (s searchset) ids(mode string) []string {
	var out []string
	for _, e := range s.Entry {
		if e.Search.Mode == mode {
			out = append(out, e.Resource.ResourceType+"/"+e.Resource.ID)
		}
	}
	return out
}

func getSearch(t *testing.T, r result) searchset {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("search: %d %s", r.status, r.body)
	}
	var s searchset
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatal(err)
	}
	if s.Type != "searchset" {
		t.Fatalf("not a searchset: %s", r.body)
	}
	return s
}

func TestSearchHTTP(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		put := func(path, body string) {
			if r := do(t, srv, "PUT", path, body); r.status != 201 {
				t.Fatalf("PUT %s: %d %s", path, r.status, r.body)
			}
		}
		put("/fhir/Organization/gp1", `{"resourceType":"Organization","id":"gp1","name":"Riverside Surgery"}`)
		put("/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1","name":[{"family":"Smith","given":["Jane"]}],"birthDate":"1970-02-03","managingOrganization":{"reference":"Organization/gp1"},
			"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`)
		put("/fhir/Patient/p2", `{"resourceType":"Patient","id":"p2","name":[{"family":"Smyth","given":["John"]}],"birthDate":"1981-06-10"}`)
		for i := 0; i < 25; i++ {
			put(fmt.Sprintf("/fhir/Observation/o%d", i), fmt.Sprintf(`{"resourceType":"Observation","id":"o%d","status":"final",
				"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/p1"},
				"effectiveDateTime":"2024-01-%02dT10:00:00Z","valueQuantity":{"value":%d,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`, i, i+1, 60+i))
		}
		q := func(path string) searchset { return getSearch(t, do(t, srv, "GET", path, "")) }

		if s := q("/fhir/Patient?family=smith"); len(s.ids("match")) != 1 || s.ids("match")[0] != "Patient/p1" {
			t.Errorf("family=smith: %v", s.ids("match"))
		}
		if s := q("/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919"); len(s.ids("match")) != 1 {
			t.Errorf("identifier: %v", s.ids("match"))
		}
		if s := q("/fhir/Patient?birthdate=1970"); len(s.ids("match")) != 1 {
			t.Errorf("birthdate=1970: %v", s.ids("match"))
		}
		if s := q("/fhir/Patient?organization.name=riverside"); len(s.ids("match")) != 1 {
			t.Errorf("chain: %v", s.ids("match"))
		}
		if s := q("/fhir/Patient?_has:Observation:subject:code=8867-4"); len(s.ids("match")) != 1 {
			t.Errorf("_has: %v", s.ids("match"))
		}
		if s := q("/fhir/Patient?_id=p1&_revinclude=Observation:subject&_include=Patient:organization"); len(s.ids("include")) != 26 {
			t.Errorf("includes: %d", len(s.ids("include")))
		}
		if s := q("/fhir/Observation?value-quantity=gt80"); len(s.ids("match")) != 4 {
			t.Errorf("value-quantity=gt80: %v", s.ids("match"))
		}
		// Paging: 25 observations, 10 a page, total agrees with what the pages deliver.
		s := q("/fhir/Observation?code=http://loinc.org|8867-4&_count=10&_total=accurate")
		if s.Total == nil || *s.Total != 25 {
			t.Fatalf("total: %v", s.Total)
		}
		seen := map[string]bool{}
		for page := 0; ; page++ {
			for _, id := range s.ids("match") {
				if seen[id] {
					t.Fatalf("%s on two pages", id)
				}
				seen[id] = true
			}
			next := s.link("next")
			if next == "" {
				break
			}
			u, _ := url.Parse(next)
			s = q(u.RequestURI())
			if page > 5 {
				t.Fatal("paging does not end")
			}
		}
		if len(seen) != 25 {
			t.Errorf("pages delivered %d of 25", len(seen))
		}
		if s := q("/fhir/Patient/p1/Observation?_count=5&_total=accurate"); s.Total == nil || *s.Total != 25 || len(s.ids("match")) != 5 || s.link("next") == "" {
			t.Errorf("compartment: total %v, %d entries", s.Total, len(s.ids("match")))
		}
		if s := q("/fhir/Observation?_summary=count"); s.Total == nil || *s.Total != 25 || len(s.Entry) != 0 {
			t.Errorf("_summary=count: %+v", s)
		}
		if s := q("/fhir?_type=Patient,Organization&_count=100"); len(s.ids("match")) != 3 {
			t.Errorf("system search: %v", s.ids("match"))
		}
		if s := q("/fhir/Observation?_sort=-date&_count=1"); len(s.ids("match")) != 1 || s.ids("match")[0] != "Observation/o24" {
			t.Errorf("sort: %v", s.ids("match"))
		}
		r := do(t, srv, "POST", "/fhir/Patient/_search", "family=smyth", "Content-Type", "application/x-www-form-urlencoded")
		if s := getSearch(t, r); len(s.ids("match")) != 1 || s.ids("match")[0] != "Patient/p2" {
			t.Errorf("POST _search: %v", s.ids("match"))
		}
		lenient := getSearch(t, do(t, srv, "GET", "/fhir/Patient?family=smith&nonsense=1", "", "Prefer", "handling=lenient"))
		if len(lenient.ids("match")) != 1 || strings.Contains(lenient.link("self"), "nonsense") || len(lenient.Entry) != 2 {
			t.Errorf("lenient: %+v", lenient)
		}
		runSteps(t, srv, []step{
			{name: "unknown param", method: "GET", path: "/fhir/Patient?nonsense=1", status: 400},
			{name: "bad date", method: "GET", path: "/fhir/Patient?birthdate=notadate", status: 400},
			{name: "bad prefix", method: "GET", path: "/fhir/Patient?family=gtx", status: 200},
			{name: "bad modifier", method: "GET", path: "/fhir/Patient?family:below=x", status: 400},
			{name: "not in compartment", method: "GET", path: "/fhir/Patient/p1/Organization", status: 400},
			{name: "bad cursor", method: "GET", path: "/fhir/Patient?_cursor=garbage", status: 400},
		})
	})
}

// TestSummaryTrue: _summary=true keeps the elements R4 marks isSummary
// (and id, meta), drops the rest, and tags the result SUBSETTED.
func TestSummaryTrue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		runSteps(t, srv, []step{
			{name: "seed", method: "PUT", path: "/fhir/Patient/s1", body: `{"resourceType":"Patient","id":"s1","name":[{"family":"Summ"}],"birthDate":"1990-01-01",
				"contact":[{"name":{"family":"Kin"}}],"communication":[{"language":{"text":"Welsh"}}]}`, status: 201},
			{name: "summary", method: "GET", path: "/fhir/Patient?_id=s1&_summary=true", status: 200,
				contains: []string{`"family":"Summ"`, `"birthDate":"1990-01-01"`, `"code":"SUBSETTED"`, `"id":"s1"`}, absent: []string{"Kin", "Welsh"}},
		})
	})
}

// TestSearchNearExamples stores the official R4 examples whose Location
// has a position and finds each at its own position with near, over
// HTTP: 1 km around Location/1 (Ann Arbor) is Location/1 alone, and
// Location/hl7, whose example has latitude and longitude swapped, is
// found where its numbers say, latitude first.
func TestSearchNearExamples(t *testing.T) {
	dir, err := fhirpkg.Dir()
	if err != nil {
		t.Skipf("FHIR examples package unavailable: %v", err)
	}
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		type position struct{ Latitude, Longitude json.Number }
		positions := map[string]position{}
		for _, name := range []string{"Location-1.json", "Location-hl7.json", "Location-ph.json"} {
			body, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			var head struct {
				ID       string
				Position *position
			}
			if err := json.Unmarshal(body, &head); err != nil {
				t.Fatal(err)
			}
			if r := do(t, srv, "PUT", "/fhir/Location/"+head.ID, string(body)); r.status != 201 {
				t.Fatalf("PUT %s: %d %s", name, r.status, r.body)
			}
			if head.Position != nil {
				positions[head.ID] = *head.Position
			}
		}
		if len(positions) != 2 {
			t.Fatalf("positions %v: the examples package has changed", positions)
		}
		for id, p := range positions {
			s := getSearch(t, do(t, srv, "GET", "/fhir/Location?near="+p.Latitude.String()+"|"+p.Longitude.String()+"|1|km", ""))
			if got := s.ids("match"); len(got) != 1 || got[0] != "Location/"+id {
				t.Errorf("near Location/%s: %v", id, got)
			}
		}
		if s := getSearch(t, do(t, srv, "GET", "/fhir/Location?near:missing=true", "")); len(s.ids("match")) != 1 || s.ids("match")[0] != "Location/ph" {
			t.Errorf("near:missing=true: %v", s.ids("match"))
		}
		runSteps(t, srv, []step{
			{name: "near, unknown unit", method: "GET", path: "/fhir/Location?near=42.25|-83.69|5|mi", status: 400, contains: []string{"near", "[mi_i]"}},
			{name: "near, longitude out of range", method: "GET", path: "/fhir/Location?near=-83.69|242.25|5|km", status: 400, contains: []string{"longitude"}},
			{name: "near documented", method: "GET", path: "/fhir/metadata", status: 200, contains: []string{"Without a distance, near means within 10 km"}},
		})
	})
}
