package httpapi_test

import (
	"testing"

	"github.com/nhs-junction/junction/internal/store"
)

// TestAutoLink: the same person registered at a GP practice and at a
// trust, with the same valid NHS number, is linked when the second record
// is written; a number whose trace failed (status 04) does not link.
func TestAutoLink(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		pat := func(id, org, status string) string {
			ext := ""
			if status != "" {
				ext = `,"extension":[{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus","valueCodeableConcept":{"coding":[{"system":"https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland","code":"` + status + `"}]}}]`
			}
			return `{"resourceType":"Patient","id":"` + id + `","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"` + ext + `},{"system":"https://` + org + `.example.nhs.uk/mrn","value":"` + id + `"}]}`
		}
		runSteps(t, srv, []step{
			{name: "gp record", method: "PUT", path: "/fhir/Patient/gp-1", body: pat("gp-1", "gp", "01"), status: 201, absent: []string{`"link"`}},
			{name: "trust record links", method: "PUT", path: "/fhir/Patient/trust-1", body: pat("trust-1", "trust", "01"), status: 201,
				contains: []string{`"link":[{"other":{"reference":"Patient/gp-1"},"type":"seealso"}]`}},
			{name: "update keeps one link", method: "PUT", path: "/fhir/Patient/trust-1", body: pat("trust-1", "trust", "01"), status: 200,
				contains: []string{`"reference":"Patient/gp-1"`}, absent: []string{`"reference":"Patient/trust-1"`}},
			{name: "failed trace does not link", method: "PUT", path: "/fhir/Patient/ae-1", body: pat("ae-1", "ae", "04"), status: 201, absent: []string{`"link"`}},
			{name: "pix sees all three organisations", method: "GET", path: "/fhir/Patient/$ihe-pix?sourceIdentifier=https://gp.example.nhs.uk/mrn|gp-1", status: 200,
				contains: []string{"https://trust.example.nhs.uk/mrn"}},
		})
	})
}
