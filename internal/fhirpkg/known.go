package fhirpkg

// KnownInvalid lists the files of the official R4 examples package that
// violate the R4 specification, with a substring of the error a validator
// must report for each. A server that validates on write refuses exactly
// these, for exactly these reasons.
var KnownInvalid = map[string]string{
	// The id has 67 characters; R4 ids are at most 64.
	"SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json": "is not a valid id",
	// Entries share fullUrls (the de-Quantity.* data elements repeat)
	// with no meta.versionId to tell them apart.
	"Bundle-dataelements.json": "bdl-7",
	// DeviceMetric.parent is Reference(Device), not DeviceDefinition.
	"DeviceMetric-example.json": "may refer to Device, not DeviceDefinition",
	// DeviceUseStatement.reasonReference does not allow Procedure.
	"DeviceUseStatement-example.json": "not Procedure",
	// ImplementationGuide.name and .status are 1..1.
	"ImplementationGuide-fhir.json": "missing required element",
	"ig-r4.json":                    "missing required element",
	// MedicationRequest.dispenseRequest.performer is Reference(Organization).
	"MedicationRequest-medrx0301.json": "not Practitioner",
	// Observation.performer does not allow Encounter.
	"Observation-clinical-gender.json": "not Encounter",
	// Questionnaire.item.linkId is 1..1; a nested item lacks it.
	"Questionnaire-qs1.json": "missing required element linkId",
	// Logical models that are neither abstract nor have a baseDefinition.
	"StructureDefinition-Definition.json": "sdf-4",
	"StructureDefinition-Event.json":      "sdf-4",
	"StructureDefinition-FiveWs.json":     "sdf-4",
	"StructureDefinition-Request.json":    "sdf-4",
	// SearchParameter.base is 1..*; these extension search parameters
	// have none.
	"SearchParameter-codesystem-extensions-CodeSystem-author.json":    "missing required element base",
	"SearchParameter-codesystem-extensions-CodeSystem-effective.json": "missing required element base",
	"SearchParameter-codesystem-extensions-CodeSystem-end.json":       "missing required element base",
	"SearchParameter-codesystem-extensions-CodeSystem-keyword.json":   "missing required element base",
	"SearchParameter-codesystem-extensions-CodeSystem-workflow.json":  "missing required element base",
	"SearchParameter-valueset-extensions-ValueSet-author.json":        "missing required element base",
	"SearchParameter-valueset-extensions-ValueSet-effective.json":     "missing required element base",
	"SearchParameter-valueset-extensions-ValueSet-end.json":           "missing required element base",
	"SearchParameter-valueset-extensions-ValueSet-keyword.json":       "missing required element base",
	"SearchParameter-valueset-extensions-ValueSet-workflow.json":      "missing required element base",
}
