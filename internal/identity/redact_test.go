package identity

import (
	"strings"
	"testing"
)

func TestRedactRestricted(t *testing.T) {
	const restricted = `{"resourceType":"Patient","id":"p","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]},"name":[{"family":"Smith"}],"telecom":[{"system":"phone","value":"07700 900123"}],"address":[{"postalCode":"LS1 4AP"}],"contact":[{"name":{"family":"Kin"}}],"generalPractitioner":[{"reference":"Organization/gp"}],"birthDate":"1980-03-07"}`
	cases := []struct {
		name, in     string
		redacted     bool
		keep, remove []string
	}{
		{"restricted patient", restricted, true, []string{`"name":[{"family":"Smith"}]`, `"birthDate":"1980-03-07"`, `"code":"R"`}, []string{"telecom", "address", "contact", "generalPractitioner", "LS1", "07700"}},
		{"unrestricted patient", strings.Replace(restricted, `"code":"R"`, `"code":"U"`, 1), false, []string{"LS1 4AP", "07700"}, nil},
		{"R in another system", strings.Replace(restricted, "v3-Confidentiality", "other", 1), false, []string{"LS1 4AP"}, nil},
		{"other resource type", `{"resourceType":"Observation","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]},"status":"final"}`, false, []string{`"status":"final"`}, nil},
		{"restricted, nothing to remove", `{"resourceType":"Patient","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]}}`, false, []string{`"code":"R"`}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, redacted, err := RedactRestricted([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if redacted != tc.redacted {
				t.Errorf("redacted = %v, want %v", redacted, tc.redacted)
			}
			for _, k := range tc.keep {
				if !strings.Contains(string(out), k) {
					t.Errorf("lost %s: %s", k, out)
				}
			}
			for _, r := range tc.remove {
				if strings.Contains(string(out), r) {
					t.Errorf("kept %s: %s", r, out)
				}
			}
		})
	}
}
