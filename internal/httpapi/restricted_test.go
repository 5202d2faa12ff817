package httpapi_test

import (
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/store"
)

// TestRestrictedPatient: a Patient labelled confidentiality R comes back
// without address, telecom, contact and GP, flagged REDACTED, from read,
// search and $everything, and is never found by address, postcode,
// telecom or GP.
func TestRestrictedPatient(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		body := func(id, label string) string {
			return `{"resourceType":"Patient","id":"` + id + `",` + label + `"name":[{"family":"Hidden"}],
			"address":[{"line":["1 Secret Street"],"city":"Leeds","postalCode":"LS1 4AP"}],"telecom":[{"system":"phone","value":"07700900123"}],
			"generalPractitioner":[{"reference":"Organization/gp"}]}`
		}
		runSteps(t, srv, []step{
			{name: "gp", method: "PUT", path: "/fhir/Organization/gp", body: `{"resourceType":"Organization","id":"gp","name":"Riverside"}`, status: 201},
			{name: "restricted", method: "PUT", path: "/fhir/Patient/r1", body: body("r1", `"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]},`), status: 201},
			{name: "ordinary", method: "PUT", path: "/fhir/Patient/n1", body: body("n1", ""), status: 201},
			{name: "obs", method: "PUT", path: "/fhir/Observation/o1", body: `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/r1"}}`, status: 201},
			{name: "read redacted", method: "GET", path: "/fhir/Patient/r1", status: 200, contains: []string{`"family":"Hidden"`, `"code":"REDACTED"`, `"code":"R"`}, absent: []string{"Secret Street", "07700900123", "generalPractitioner"}},
			{name: "vread redacted", method: "GET", path: "/fhir/Patient/r1/_history/1", status: 200, absent: []string{"Secret Street"}},
			{name: "history redacted", method: "GET", path: "/fhir/Patient/r1/_history", status: 200, absent: []string{"Secret Street"}},
			{name: "ordinary not redacted", method: "GET", path: "/fhir/Patient/n1", status: 200, contains: []string{"Secret Street"}, absent: []string{"REDACTED"}},
			{name: "search redacted", method: "GET", path: "/fhir/Patient?family=hidden&_id=r1", status: 200, contains: []string{`"id":"r1"`, `"code":"REDACTED"`}, absent: []string{"Secret Street", "07700900123"}},
			{name: "everything redacted", method: "GET", path: "/fhir/Patient/r1/$everything", status: 200, contains: []string{`"id":"o1"`}, absent: []string{"Secret Street"}},
		})
		for _, q := range []string{"address=leeds", "address-postalcode=LS1", "address-city=leeds", "telecom=07700900123", "general-practitioner=Organization/gp", "phone=07700900123"} {
			s := getSearch(t, do(t, srv, "GET", "/fhir/Patient?"+q, ""))
			ids := strings.Join(s.ids("match"), ",")
			if ids != "Patient/n1" {
				t.Errorf("%s found %q, want only the unrestricted patient", q, ids)
			}
		}
	})
}
