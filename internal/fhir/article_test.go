package fhir

import "testing"

func TestArticle(t *testing.T) {
	for word, want := range map[string]string{
		"Observation":         "an Observation",
		"AllergyIntolerance":  "an AllergyIntolerance",
		"Encounter":           "an Encounter",
		"ImagingStudy":        "an ImagingStudy",
		"OperationOutcome":    "an OperationOutcome",
		"Patient":             "a Patient",
		"HumanName":           "a HumanName",
		"StructureDefinition": "a StructureDefinition",
		"uri":                 "a uri",
		"url":                 "a url",
		"uuid":                "a uuid",
		"UsageContext":        "a UsageContext",
		"unsignedInt":         "an unsignedInt",
		"index":               "an index",
		"value":               "a value",
		"":                    "a ",
	} {
		if got := A(word); got != want {
			t.Errorf("A(%q) = %q, want %q", word, got, want)
		}
	}
}
