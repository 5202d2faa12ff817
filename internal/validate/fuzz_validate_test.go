package validate

import (
	"testing"
)

// FuzzValidate checks that Validate never panics and that every issue is
// complete, with a profile loaded so that its checks run too.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		benchPatient, benchObservation, validTestPatient, `{}`, `{"resourceType":"Patient","contained":[{"resourceType":"Patient","id":"a"}]}`,
		`{"resourceType":"Patient","meta":{"profile":["http://example.org/StructureDefinition/test-patient"]},"identifier":[{"system":1}],"extension":[{"url":"x"}]}`,
		`{"resourceType":"Observation","effectivePeriod":{"start":"2020","end":"2019-12"},"subject":{"reference":"a/b/c"}}`,
	} {
		f.Add([]byte(s))
	}
	ps := NewProfiles()
	if err := ps.Load([]byte(testProfile)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, is := range Validate(b, Options{Profiles: ps, ReportNotEvaluated: true}) {
			if is.Diagnostics == "" || is.Code == "" || is.Severity == "" {
				t.Fatalf("incomplete issue %+v", is)
			}
		}
	})
}
