package validate_test

import (
	"fmt"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/validate"
)

func ExampleValidate() {
	raw := []byte(`{"resourceType":"Observation","text":{"status":"empty","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">-</div>"},
		"code":{"text":"weight"},"subject":{"reference":"Medication/1"},
		"effectivePeriod":{"start":"2021-02-01","end":"2021-01-01"}}`)
	for _, is := range fhir.ErrorsOf(validate.Validate(raw, validate.Options{})) {
		fmt.Println(is.Code, is.Expression, is.Diagnostics)
	}
	// Output:
	// required [Observation.status] missing required element status (min 1)
	// invalid [Observation.subject.reference] Observation.subject may refer to Patient, Group, Device, Location, not Medication (reference "Medication/1")
	// invariant [Observation.effective.ofType(Period)] per-1: If present, start SHALL have a lower value than end
}

func ExampleProfiles_Load() {
	ps := validate.NewProfiles()
	err := ps.Load([]byte(`{"resourceType":"StructureDefinition","url":"http://example.org/sd/named-patient","type":"Patient",
		"baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint",
		"differential":{"element":[{"id":"Patient.name","path":"Patient.name","min":1}]}}`))
	fmt.Println(err)
	raw := []byte(`{"resourceType":"Patient","meta":{"profile":["http://example.org/sd/named-patient"]},"active":true}`)
	for _, is := range fhir.ErrorsOf(validate.Validate(raw, validate.Options{Profiles: ps})) {
		fmt.Println(is.Expression, is.Diagnostics)
	}
	// Output:
	// <nil>
	// [Patient.name] profile http://example.org/sd/named-patient: Patient.name needs at least 1, has 0
}
