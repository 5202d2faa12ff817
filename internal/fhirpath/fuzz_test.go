package fhirpath

import (
	"testing"
)

var fuzzSeeds = []string{
	"Patient.name.given", "Observation.value as Quantity", "(Observation.value as Quantity).value",
	"Observation.subject.where(resolve() is Patient)", "name.exists() or telecom.exists()",
	"hasValue() or (children().count() > id.count())", "@2012-04-15T15:00:00Z + 1 day",
	"4.0 'g' = 4000 'mg'", "'a\\u0041' & `x`", "%resource.descendants().count()",
	"iif($this.id.exists(), $index, $total)", "1 | 2 | 3 / 0 div 0 mod 0", "-(-1).abs()",
	"/* c */ a // d", "name[0].given[1]", "value.ofType(FHIR.Quantity).is(System.Quantity)",
}

// FuzzCompile checks that no input makes the parser panic or loop.
func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Compile(src)
		if err == nil && e.String() != src {
			t.Fatalf("String() = %q", e.String())
		}
	})
}

// FuzzEvaluate evaluates arbitrary expressions against a Patient and an
// Observation: any result or error is acceptable, a panic is not.
func FuzzEvaluate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	pat := decode(f, patientJSON)
	obs := decode(f, observationJSON)
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Compile(src)
		if err != nil {
			return
		}
		_, _ = e.Evaluate(pat, nil)
		_, _ = e.Evaluate(obs, nil)
	})
}
