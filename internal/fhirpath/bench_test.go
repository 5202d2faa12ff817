package fhirpath

import "testing"

// BenchmarkEvaluate measures expressions of the shape the search indexer
// evaluates at write time.
func BenchmarkEvaluate(b *testing.B) {
	obs := decode(b, observationJSON)
	pat := decode(b, patientJSON)
	for _, bc := range []struct {
		expr     string
		resource any
	}{
		{"Observation.code", obs},
		{"Patient.name", pat},
		{"(Observation.value as Quantity)", obs},
		{"Observation.subject.where(resolve() is Patient)", obs},
		{"Patient.name.given | Patient.name.family", pat},
		{"Observation.effective", obs},
	} {
		e := MustCompile(bc.expr)
		b.Run(bc.expr, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Evaluate(bc.resource, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("Observation.subject.where(resolve() is Patient) | (Observation.value as Quantity).value"); err != nil {
			b.Fatal(err)
		}
	}
}
