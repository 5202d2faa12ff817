package httpapi_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/store"
)

// TestRestrictedPatientHops: the demographics withheld for a restricted
// patient (address, telecom, GP) cannot find it, or anything about it,
// from another resource either: not through a chain (search.html
// 3.1.1.4.13) or a reverse chain (3.1.1.4.14, _has) that tests them on
// the patient, nor through _include/_revinclude of the GP reference, nor
// by the ordering of a _sort on them. Searches on what is not withheld
// (the name) still find the patient's observations.
func TestRestrictedPatientHops(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		patient := func(id, gp, label string) string {
			return `{"resourceType":"Patient","id":"` + id + `",` + label + `"name":[{"family":"Hidden"}],
			"address":[{"line":["1 Secret Street"],"city":"Leeds","postalCode":"LS1 4AP"}],"telecom":[{"system":"phone","value":"07700900123"}],
			"generalPractitioner":[{"reference":"Organization/` + gp + `"}]}`
		}
		obs := func(id, subject string) string {
			return `{"resourceType":"Observation","id":"` + id + `","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/` + subject + `"}}`
		}
		runSteps(t, srv, []step{
			{name: "restricted gp", method: "PUT", path: "/fhir/Organization/gpr", body: `{"resourceType":"Organization","id":"gpr","name":"Moorside"}`, status: 201},
			{name: "ordinary gp", method: "PUT", path: "/fhir/Organization/gpn", body: `{"resourceType":"Organization","id":"gpn","name":"Riverside"}`, status: 201},
			{name: "restricted", method: "PUT", path: "/fhir/Patient/r1", body: patient("r1", "gpr", `"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]},`), status: 201},
			{name: "ordinary", method: "PUT", path: "/fhir/Patient/n1", body: patient("n1", "gpn", ""), status: 201},
			{name: "restricted obs", method: "PUT", path: "/fhir/Observation/o1", body: obs("o1", "r1"), status: 201},
			{name: "ordinary obs", method: "PUT", path: "/fhir/Observation/o2", body: obs("o2", "n1"), status: 201},
		})
		cases := []struct {
			query, mode string
			want        []string
		}{
			// Chains through the withheld parameters.
			{"Observation?subject:Patient.address-postalcode=LS1", "match", []string{"Observation/o2"}},
			{"Observation?subject:Patient.address=leeds", "match", []string{"Observation/o2"}},
			{"Observation?subject.address-city=leeds", "match", []string{"Observation/o2"}},
			{"Observation?patient.telecom=07700900123", "match", []string{"Observation/o2"}},
			{"Observation?patient.phone=07700900123", "match", []string{"Observation/o2"}},
			{"Observation?subject:Patient.general-practitioner=Organization/gpr", "match", nil},
			{"Observation?subject:Patient.general-practitioner:Organization.name=moorside", "match", nil},
			{"Observation?subject:Patient._content=secret", "match", []string{"Observation/o2"}},
			// Reverse chains from the GP through the patient's GP reference.
			{"Organization?_has:Patient:general-practitioner:_id=r1", "match", nil},
			{"Organization?_has:Patient:general-practitioner:address=leeds", "match", []string{"Organization/gpn"}},
			{"Organization?_has:Patient:general-practitioner:family=hidden", "match", []string{"Organization/gpn"}},
			// Includes that follow the withheld GP reference.
			{"Organization?_id=gpr,gpn&_revinclude=Patient:general-practitioner", "include", []string{"Patient/n1"}},
			{"Patient?family=hidden&_include=Patient:general-practitioner", "include", []string{"Organization/gpn"}},
			{"Patient?family=hidden&_include=*", "include", []string{"Organization/gpn"}},
			{"Observation?_id=o1,o2&_include=Observation:subject&_include:iterate=Patient:general-practitioner", "include", []string{"Organization/gpn", "Patient/n1"}},
			// Ordering by a withheld parameter.
			{"Patient?family=hidden&_sort=address", "match", []string{"Patient/n1"}},
			// What is not withheld still finds the restricted patient's data.
			{"Observation?subject:Patient.family=hidden", "match", []string{"Observation/o1", "Observation/o2"}},
			{"Observation?_id=o1&_include=Observation:subject", "include", []string{"Patient/r1"}},
		}
		for _, c := range cases {
			u, err := url.Parse(c.query)
			if err != nil {
				t.Fatal(err)
			}
			s := getSearch(t, do(t, srv, "GET", "/fhir/"+u.Path+"?"+u.Query().Encode(), ""))
			got := s.ids(c.mode)
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("%s: %s entries %q, want %q", c.query, c.mode, strings.Join(got, ","), strings.Join(c.want, ","))
			}
		}
	})
}
