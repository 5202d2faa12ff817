package fhirpath

import "strings"

// Model describes the FHIR type system to the engine: the types of child
// elements and the specialisation hierarchy. The engine works without one
// (types of choice elements and resources still come from the JSON), but
// with one every item carries its FHIR type, which `is`, `as`, `ofType`
// and implicit conversions of primitives depend on.
type Model interface {
	// Element describes child element name of parent, where parent is a type
	// name ("HumanName", "Patient") or the path of a backbone element
	// ("Patient.contact"). For a choice element, name is the name without
	// "[x]" ("value"). ok is false when parent has no such element.
	Element(parent, name string) (e ElementInfo, ok bool)
	// BaseType returns the type that typ specialises ("Patient" ->
	// "DomainResource", "Age" -> "Quantity", "code" -> "string"), or "" for
	// a root type or unknown type.
	BaseType(typ string) string
}

// ElementInfo is what the engine needs to know about one element.
type ElementInfo struct {
	// Types lists the element's type names. A backbone element has one
	// entry, its own path ("Patient.contact"); an element defined by
	// reference to another (contentReference) has the referenced path.
	Types []string
	// Choice is true for a choice element ([x]); its JSON property name is
	// the element name followed by the capitalised type name.
	Choice bool
}

// isA reports whether an item's type is typ or specialises it. Names may be
// qualified with the FHIR or System namespace
// (http://hl7.org/fhirpath/N1/#is-type-specifier).
func (c *env) isA(it Item, spec typeSpec) bool {
	have := it.typ
	if have == "" {
		have = inferredType(it)
	}
	if strings.HasPrefix(have, "System.") {
		return spec.ns != "FHIR" && have[len("System."):] == spec.name
	}
	if spec.ns == "System" {
		return false
	}
	if strings.IndexByte(have, '.') > 0 {
		have = "BackboneElement"
	}
	for n := 0; have != "" && n < 16; n++ {
		if have == spec.name {
			return true
		}
		have = c.baseType(have)
	}
	return false
}

// castable is isA for as() and ofType(). The official R4 suite makes a
// code pass `is string` (testFHIRPathIsFunction2) but not `as(string)` or
// `ofType(string)` (testFHIRPathAsFunction11, 16), so primitive
// specialisation counts only for `is`; complex types (Age as Quantity)
// follow the hierarchy everywhere.
//
// An unqualified System type name also accepts the FHIR primitive of the
// same name (dateTime for DateTime): R4's own SearchParameter
// Observation-value-date has a component `value.as(DateTime)` that is
// meant to select valueDateTime, and as() converts, with FHIR primitives
// implicitly convertible to System types
// (http://hl7.org/fhir/R4/fhirpath.html#types). `is` stays exact, as the
// suite requires (testType12: a FHIR boolean is not a System Boolean).
func (c *env) castable(it Item, spec typeSpec) bool {
	if isFHIRPrimitive(it.typ) && spec.ns != "System" {
		if spec.ns == "" && systemTypeNames[spec.name] && strings.EqualFold(it.typ, spec.name) {
			return true
		}
		return it.typ == spec.name
	}
	return c.isA(it, spec)
}

// TypeChecker is an optional capability of a Model: a model that
// implements it lets the engine reject type specifiers that name no type
// (x.is(string1)) instead of answering false.
type TypeChecker interface {
	IsType(name string) bool
}

var systemTypeNames = map[string]bool{
	"Boolean": true, "String": true, "Integer": true, "Decimal": true, "Date": true,
	"DateTime": true, "Time": true, "Quantity": true,
}

// checkType fails for a type specifier that the model does not know.
func (c *env) checkType(t typeSpec) error {
	if t.ns == "System" || (t.ns == "" && systemTypeNames[t.name]) {
		return nil
	}
	if tc, ok := c.model.(TypeChecker); ok && !tc.IsType(t.name) {
		return evalErr("unknown type %s", t)
	}
	return nil
}

// inferredType names the type of a value the model could not type. Only
// resources (by their resourceType) are typed this way; a bare JSON string
// could be any of a dozen FHIR primitives, so it stays unknown.
func inferredType(it Item) string {
	if m, ok := it.v.(map[string]any); ok {
		if rt, ok := m["resourceType"].(string); ok {
			return rt
		}
	}
	return ""
}

func (c *env) baseType(t string) string {
	if c.model != nil {
		if b := c.model.BaseType(t); b != "" {
			return b
		}
	}
	return fallbackBase(t)
}

// fallbackBase supplies the hierarchy facts the engine relies on even
// without a model: resources, quantities and elements.
func fallbackBase(t string) string {
	switch {
	case quantityTypes[t] && t != "Quantity":
		return "Quantity"
	case t == "Resource" || t == "Element" || t == "":
		return ""
	case t == "DomainResource", t == "Bundle", t == "Binary", t == "Parameters":
		return "Resource"
	case t == "BackboneElement":
		return "Element"
	case isFHIRPrimitive(t):
		return "Element"
	}
	return ""
}

// typeFromReference returns the resource type that a reference names,
// following the literal reference form of http://hl7.org/fhir/R4/references.html#literal:
// [base/]Type/id[/_history/vid]. It returns "" for a reference without a
// type (a contained "#id" or a "urn:uuid:" one).
func typeFromReference(ref string) string {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	j := strings.LastIndexByte(ref, '/')
	if j <= 0 {
		return ""
	}
	seg := ref[:j]
	if k := strings.LastIndexByte(seg, '/'); k >= 0 {
		seg = seg[k+1:]
	}
	if seg == "" || seg[0] < 'A' || seg[0] > 'Z' {
		return ""
	}
	for i := 0; i < len(seg); i++ {
		if !isIdentPart(seg[i]) {
			return ""
		}
	}
	return seg
}
