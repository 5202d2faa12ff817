package httpapi_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/nhs-junction/junction/internal/store"
)

func TestEverything(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		put := func(path, body string) {
			if r := do(t, srv, "PUT", path, body); r.status != 201 {
				t.Fatalf("PUT %s: %d %s", path, r.status, r.body)
			}
		}
		put("/fhir/Organization/gp", `{"resourceType":"Organization","id":"gp","name":"GP"}`)
		put("/fhir/Practitioner/dr", `{"resourceType":"Practitioner","id":"dr"}`)
		put("/fhir/Practitioner/unrelated", `{"resourceType":"Practitioner","id":"unrelated"}`)
		put("/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1","managingOrganization":{"reference":"Organization/gp"}}`)
		put("/fhir/Patient/p2", `{"resourceType":"Patient","id":"p2"}`)
		put("/fhir/Encounter/e1", `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p1"}}`)
		for i := 0; i < 12; i++ {
			put(fmt.Sprintf("/fhir/Observation/o%d", i), fmt.Sprintf(`{"resourceType":"Observation","id":"o%d","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"},"performer":[{"reference":"Practitioner/dr"}]}`, i))
		}
		put("/fhir/Observation/other", `{"resourceType":"Observation","id":"other","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p2"}}`)
		// A Practitioner-typed reference to the patient is not compartment membership for Observation? performer is.
		put("/fhir/Observation/perf", `{"resourceType":"Observation","id":"perf","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p2"},"performer":[{"reference":"Patient/p1"}]}`)

		s := getSearch(t, do(t, srv, "GET", "/fhir/Patient/p1/$everything?_count=5", ""))
		if s.Total == nil || *s.Total != 15 {
			t.Fatalf("total %v, want 15 (patient, encounter, 12 observations, 1 as performer)", s.Total)
		}
		matches, includes := map[string]bool{}, map[string]bool{}
		for page := 0; ; page++ {
			for _, id := range s.ids("match") {
				if matches[id] {
					t.Fatalf("%s on two pages", id)
				}
				matches[id] = true
			}
			for _, id := range s.ids("include") {
				includes[id] = true
			}
			next := s.link("next")
			if next == "" {
				break
			}
			u, _ := url.Parse(next)
			s = getSearch(t, do(t, srv, "GET", u.RequestURI(), ""))
			if page > 5 {
				t.Fatal("paging does not end")
			}
		}
		if len(matches) != 15 || !matches["Patient/p1"] || !matches["Observation/perf"] || matches["Observation/other"] || matches["Patient/p2"] {
			t.Errorf("matches: %v", matches)
		}
		if !includes["Practitioner/dr"] || !includes["Organization/gp"] || includes["Practitioner/unrelated"] {
			t.Errorf("includes: %v", includes)
		}
		if s := getSearch(t, do(t, srv, "GET", "/fhir/Patient/p1/$everything?_type=Encounter", "")); len(s.ids("match")) != 1 || len(s.ids("include")) != 0 {
			t.Errorf("_type=Encounter: %v %v", s.ids("match"), s.ids("include"))
		}
		if s := getSearch(t, do(t, srv, "GET", "/fhir/Patient/p1/$everything?_since=2100-01-01T00:00:00Z", "")); len(s.Entry) != 0 {
			t.Errorf("_since in the future: %d entries", len(s.Entry))
		}
		if s := getSearch(t, do(t, srv, "GET", "/fhir/Patient/$everything?_type=Patient", "")); s.Total == nil || *s.Total != 2 {
			t.Errorf("type level: %v", s.Total)
		}
		runSteps(t, srv, []step{
			{name: "missing patient", method: "GET", path: "/fhir/Patient/nobody/$everything", status: 404},
			{name: "bad since", method: "GET", path: "/fhir/Patient/p1/$everything?_since=soon", status: 400},
			{name: "unknown param", method: "GET", path: "/fhir/Patient/p1/$everything?colour=red", status: 400},
			{name: "not for observations", method: "GET", path: "/fhir/Observation/o1/$everything", status: 400},
		})
	})
}
