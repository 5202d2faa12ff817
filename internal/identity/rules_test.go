package identity

import (
	"strings"
	"testing"
)

func TestCheckNHSNumbers(t *testing.T) {
	ext := func(code string) string {
		return `,"extension":[{"url":"` + VerificationStatusURL + `","valueCodeableConcept":{"coding":[{"system":"https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland","code":"` + code + `"}]}}]`
	}
	id := func(v, extra string) string {
		return `{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + v + `"` + extra + `}]}`
	}
	tests := []struct {
		name, in, expr, diag string
	}{
		{"valid", id("9434765919", ""), "", ""},
		{"valid verified", id("9434765919", ext("01")), "", ""},
		{"wrong check digit", id("9434765918", ""), "Patient.identifier[0].value", "expected 9, got 8"},
		{"spaces", id("943 476 5919", ""), "Patient.identifier[0].value", "spaces"},
		{"short", id("943476591", ""), "Patient.identifier[0].value", "9 digits"},
		{"letters", id("94347659A9", ""), "Patient.identifier[0].value", "non-digit"},
		{"unknown status", id("9434765919", ext("99")), "Patient.identifier[0].extension[0]", "not a code"},
		{"status 07 with number", id("9434765919", ext("07")), "Patient.identifier[0]", "no NHS number"},
		{"in a reference", `{"resourceType":"Observation","subject":{"identifier":{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"123"}}}`, "Observation.subject.identifier.value", "digits"},
		{"other system ignored", `{"resourceType":"Patient","identifier":[{"system":"urn:x","value":"123"}]}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issues := CheckNHSNumbers([]byte(tt.in))
			if tt.expr == "" {
				if len(issues) != 0 {
					t.Fatalf("unexpected issues %+v", issues)
				}
				return
			}
			if len(issues) != 1 || issues[0].Expression[0] != tt.expr || !strings.Contains(issues[0].Diagnostics, tt.diag) {
				t.Fatalf("got %+v, want one issue at %s mentioning %q", issues, tt.expr, tt.diag)
			}
		})
	}
}
