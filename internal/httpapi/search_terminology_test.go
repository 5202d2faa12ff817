package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/nhs-junction/junction/internal/store"
)

// TestTokenTerminologyModifiers: :in and :not-in expand value sets, and
// :below and :above follow the hierarchy of code systems the server holds.
func TestTokenTerminologyModifiers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		act := "http://terminology.hl7.org/CodeSystem/v3-ActCode"
		for i, code := range []string{"AMB", "IMP", "EMER", "ACUTE"} {
			body := fmt.Sprintf(`{"resourceType":"Encounter","id":"e%d","status":"finished","class":{"system":"%s","code":"%s"}}`, i, act, code)
			if r := do(t, srv, "PUT", fmt.Sprintf("/fhir/Encounter/e%d", i), body); r.status != 201 {
				t.Fatalf("%d %s", r.status, r.body)
			}
		}
		for i, g := range []string{"male", "female", "unknown"} {
			do(t, srv, "PUT", fmt.Sprintf("/fhir/Patient/g%d", i), fmt.Sprintf(`{"resourceType":"Patient","id":"g%d","gender":"%s"}`, i, g))
		}
		count := func(q string) int {
			s := getSearch(t, do(t, srv, "GET", q, ""))
			return len(s.ids("match"))
		}
		vs := "http://hl7.org/fhir/ValueSet/administrative-gender"
		if n := count("/fhir/Patient?gender:in=" + vs); n != 3 {
			t.Errorf("gender:in: %d", n)
		}
		if n := count("/fhir/Patient?gender:not-in=" + vs); n != 0 {
			t.Errorf("gender:not-in: %d", n)
		}
		// IMP (inpatient) has ACUTE below it in v3-ActCode.
		if n := count("/fhir/Encounter?class:below=" + act + "|IMP"); n != 2 {
			t.Errorf("class:below=IMP: %d, want IMP and ACUTE", n)
		}
		if n := count("/fhir/Encounter?class:above=" + act + "|ACUTE"); n != 2 {
			t.Errorf("class:above=ACUTE: %d, want ACUTE and IMP", n)
		}
		runSteps(t, srv, []step{
			{name: "unknown value set", method: "GET", path: "/fhir/Patient?gender:in=http://example.org/nope", status: 400},
			{name: "external system", method: "GET", path: "/fhir/Observation?code:below=http://snomed.info/sct|404684003", status: 400},
			{name: "below without system", method: "GET", path: "/fhir/Encounter?class:below=IMP", status: 400},
		})
	})
}

// TestCodeElementSystem: an element of type code carries no system in
// the resource; searching with the system its required binding implies
// finds it, and another system does not.
func TestCodeElementSystem(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		do(t, srv, "PUT", "/fhir/Patient/f", `{"resourceType":"Patient","id":"f","gender":"female"}`)
		do(t, srv, "PUT", "/fhir/Patient/m", `{"resourceType":"Patient","id":"m","gender":"male"}`)
		for q, want := range map[string]string{
			"gender=http://hl7.org/fhir/administrative-gender|female": "Patient/f",
			"gender=female":                                               "Patient/f",
			"gender=http://example.org/other|female":                      "",
			"gender:not=http://hl7.org/fhir/administrative-gender|female": "Patient/m",
		} {
			s := getSearch(t, do(t, srv, "GET", "/fhir/Patient?"+q, ""))
			got := ""
			if ids := s.ids("match"); len(ids) > 0 {
				got = ids[0]
				if len(ids) > 1 {
					got = fmt.Sprint(ids)
				}
			}
			if got != want {
				t.Errorf("%s: %q, want %q", q, got, want)
			}
		}
	})
}
