// Package fhirpath evaluates FHIRPath expressions (http://hl7.org/fhirpath/N1/,
// with the FHIR R4 additions of http://hl7.org/fhir/R4/fhirpath.html) over
// FHIR resources decoded from JSON.
//
// The package does no I/O. Compile an expression once and evaluate it as
// often as needed; a compiled *Expr is safe for concurrent use:
//
//	e, err := fhirpath.Compile("Observation.subject.where(resolve() is Patient)")
//	...
//	items, err := e.Evaluate(resource, nil)
//
// Input resources are the values encoding/json produces with UseNumber:
// map[string]any, []any, string, bool and json.Number. Decimals stay
// json.Number end to end, so no precision is lost.
//
// Each result Item carries its value and its FHIR type. Types come from a
// Model, by default the R4 model generated in internal/fhir/spec. Choice
// elements are found through their typed JSON names: Observation.value
// selects valueQuantity and types it Quantity. resolve() uses
// Options.Resolve when given, finds contained and Bundle-local targets
// itself, and otherwise yields a content-less item typed by the reference
// ("Patient/123" is a Patient), which is what search parameters such as
// subject.where(resolve() is Patient) need.
//
// Evaluation is lenient where FHIRPath's strict mode would report a type
// error at compile time (name.given1 is empty, not an error). Features the
// engine does not implement — conformsTo(), memberOf() without a hook, and
// the FHIRPath 2.0+ functions listed in notSupported — fail with an error
// wrapping ErrUnsupported rather than returning a guess.
package fhirpath
