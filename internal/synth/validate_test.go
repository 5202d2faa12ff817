package synth

import (
	"testing"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/validate"
)

// TestStructurallyValid runs every generated resource of a few patients,
// and the shared resources, through the server's own structural
// validator with required-element checking on.
func TestStructurallyValid(t *testing.T) {
	g := New(Options{Patients: 40, Seed: testSeed})
	checked := 0
	check := func(where string, raw []byte) {
		checked++
		for _, is := range validate.StructureWith(raw, validate.Options{Required: true}) {
			if is.Severity == fhir.SeverityError || is.Severity == fhir.SeverityFatal {
				t.Errorf("%s: %s %v %s\n%s", where, is.Code, is.Expression, is.Diagnostics, raw)
			}
		}
	}
	for _, raw := range g.Shared() {
		check("shared", raw)
	}
	for i := 0; i < 40; i++ {
		for _, raw := range g.Patient(i) {
			check("patient", raw)
			if t.Failed() {
				return
			}
		}
	}
	// Every patient has at least a Patient resource, and there are shared
	// organisations and practitioners besides.
	if checked <= 40 {
		t.Errorf("only %d resources generated for 40 patients", checked)
	}
}
