package searchparam

import (
	"testing"
	"time"
)

func TestR4Registry(t *testing.T) {
	reg := R4()
	n := 0
	for _, typ := range []string{"Patient", "Observation", "Condition", "Encounter", "MedicationRequest"} {
		for _, d := range reg.Params(typ) {
			n++
			if d.Expression == "" && d.Kind != KindSpecial {
				t.Errorf("%s.%s has no expression", typ, d.Name)
			}
			for _, c := range d.Components {
				if _, ok := reg.ByURL(c.Definition); !ok {
					t.Errorf("%s.%s: component %s is unknown", typ, d.Name, c.Definition)
				}
			}
		}
	}
	if n < 100 {
		t.Errorf("only %d parameters", n)
	}
	if d, ok := reg.Lookup("Condition", "code"); !ok || d.Expression != "Condition.code" {
		t.Errorf("Condition.code = %+v", d)
	}
	for _, qs := range []string{
		"subject:Patient.name=smith&code=http://loinc.org|1234-5&date=ge2020&value-quantity=lt5.4|http://unitsofmeasure.org|mg",
		"code-value-quantity=http://loinc.org|8480-6$gt100&patient.organization.name=nhs&_has:Provenance:target:agent=Practitioner/1",
		"_lastUpdated=gt2020&_tag=http://example.org|x&_profile=http://example.org/p&_security=R&_source=http://x&_text=fever&_content=fever",
	} {
		params, _ := ParseQueryString(qs)
		if _, err := Parse(reg, "Observation", params, Options{Now: time.Now()}); err != nil {
			t.Errorf("%s: %v", qs, err)
		}
	}
	params, _ := ParseQueryString("birthdate=1974&name=smith&_has:Observation:patient:code=1234-5&general-practitioner.identifier=https://fhir.nhs.uk/Id/ods-organization-code|A81001")
	if _, err := Parse(reg, "Patient", params, Options{}); err != nil {
		t.Error(err)
	}
}
