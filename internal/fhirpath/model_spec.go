package fhirpath

import (
	"strings"

	"github.com/nhs-junction/junction/internal/fhir/spec"
)

// specModel is the FHIR R4 model generated from the specification's
// StructureDefinitions.
type specModel struct{}

// R4 returns the FHIR R4 (4.0.1) model, the one used when Options.Model is
// nil.
func R4() Model { return specModel{} }

// Element looks the child up in the R4 snapshot. A name carrying a choice
// type suffix (valueQuantity) is accepted as the element narrowed to that
// type; FHIRPath proper spells it value.ofType(Quantity), but expressions
// in the wild use the JSON name and there is only one thing it can mean.
func (specModel) Element(parent, name string) (ElementInfo, bool) {
	e, typ, ok := spec.Child(parent, name)
	if !ok {
		return ElementInfo{}, false
	}
	if e.Choice && e.Name != name {
		return ElementInfo{Types: singleType(typ)}, true
	}
	if len(e.Types) == 1 && strings.HasPrefix(e.Types[0], systemPrefix) {
		return ElementInfo{Types: systemTypes[e.Types[0]]}, true
	}
	return ElementInfo{Types: e.Types, Choice: e.Choice}, true
}

func (specModel) BaseType(typ string) string { return spec.BaseType(typ) }

// IsType reports whether name is a FHIR type; backbone paths do not count,
// since a type specifier cannot name one.
func (specModel) IsType(name string) bool {
	return strings.IndexByte(name, '.') < 0 && spec.IsType(name)
}

const systemPrefix = "http://hl7.org/fhirpath/"

// systemTypes maps the System type URLs the snapshots give to Element.id,
// Extension.url and primitive values to the engine's type names, as
// preallocated one-element slices.
var systemTypes = map[string][]string{
	spec.SystemString:   {TypeString},
	spec.SystemBoolean:  {TypeBoolean},
	spec.SystemInteger:  {TypeInteger},
	spec.SystemDecimal:  {TypeDecimal},
	spec.SystemDate:     {TypeDate},
	spec.SystemDateTime: {TypeDateTime},
	spec.SystemTime:     {TypeTime},
}

// singleTypes interns one-element type lists so that narrowing a choice
// element does not allocate on every navigation.
var singleTypes = func() map[string][]string {
	m := map[string][]string{}
	for _, t := range spec.ResourceTypes() {
		m[t] = []string{t}
	}
	return m
}()

func singleType(t string) []string {
	if s, ok := singleTypes[t]; ok {
		return s
	}
	return []string{t}
}
