// Package spec holds the parts of the FHIR R4 (4.0.1) specification that
// the server needs at run time: the elements of every resource, datatype
// and backbone element, the search parameters and the compartments.
//
// The tables are generated from the official package by ./gen (run
// `go generate ./internal/fhir/spec`) and parsed once, on first use. All
// returned slices are shared and MUST NOT be modified by callers.
package spec

import (
	"github.com/nhs-junction/junction/internal/fhir/packed"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// SystemString and its siblings are the FHIRPath system types that the
// R4 snapshots give to primitive values (string.value and so on), to
// Element.id and to Extension.url.
const (
	SystemString   = "http://hl7.org/fhirpath/System.String"
	SystemBoolean  = "http://hl7.org/fhirpath/System.Boolean"
	SystemInteger  = "http://hl7.org/fhirpath/System.Integer"
	SystemDecimal  = "http://hl7.org/fhirpath/System.Decimal"
	SystemDate     = "http://hl7.org/fhirpath/System.Date"
	SystemDateTime = "http://hl7.org/fhirpath/System.DateTime"
	SystemTime     = "http://hl7.org/fhirpath/System.Time"
)

// Element is one child element of a type or backbone element, from the
// StructureDefinition snapshot.
type Element struct {
	// Name is the last path segment; a choice element "value[x]" has
	// Name "value" and Choice true.
	Name string
	// Path is the owning type or backbone path joined with Name, such as
	// "Patient.contact" or "Quantity.value".
	Path string
	// Types are FHIR type codes. A backbone element's type is its own
	// path ("Patient.contact"), which Children accepts; an element with a
	// ContentReference has the referenced path as its single type.
	// Primitive values, Element.id and Extension.url have System types
	// (SystemString...).
	Types []string
	Min   int
	// Max is -1 for "*".
	Max    int
	Choice bool
	// Primitive reports whether every type of the element is a FHIR
	// primitive type (so in JSON it may have a "_name" companion).
	Primitive bool
	// ContentReference is the snapshot's contentReference, such as
	// "#Questionnaire.item" for Questionnaire.item.item.
	ContentReference string
	// Summary is the element's isSummary flag: part of the summary view
	// (_summary=true, R4 search.html#summary).
	Summary bool
}

// IsArray reports whether the element repeats, and so is a JSON array.
func (e Element) IsArray() bool { return e.Max != 1 && e.Max != 0 }

type typeInfo struct {
	name     string
	kind     string // resource, complex-type, primitive-type, backbone
	base     string
	abstract bool
	regex    string
	children []Element
	byName   map[string]int
	choices  []int
}

var (
	typesOnce     sync.Once
	types         map[string]*typeInfo
	resourceTypes []string
)

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

func loadTypes() {
	types = map[string]*typeInfo{}
	var cur *typeInfo
	packed.ForLines(typeData, func(f []string) {
		switch f[0] {
		case "T":
			cur = &typeInfo{name: f[1], kind: f[2], base: f[3], abstract: f[4] == "1", regex: f[5], byName: map[string]int{}}
			types[cur.name] = cur
			if cur.kind == "resource" && !cur.abstract {
				resourceTypes = append(resourceTypes, cur.name)
			}
		case "E":
			min, _ := strconv.Atoi(f[2])
			max, _ := strconv.Atoi(f[3])
			e := Element{Name: f[1], Path: cur.name + "." + f[1], Types: splitList(f[5]), Min: min, Max: max, Choice: f[4] == "1", ContentReference: f[6], Summary: len(f) > 7 && f[7] == "1"}
			cur.byName[e.Name] = len(cur.children)
			if e.Choice {
				cur.choices = append(cur.choices, len(cur.children))
			}
			cur.children = append(cur.children, e)
		}
	})
	for _, t := range types {
		for i := range t.children {
			e := &t.children[i]
			e.Primitive = len(e.Types) > 0
			for _, c := range e.Types {
				if ti := types[c]; ti == nil || ti.kind != "primitive-type" {
					e.Primitive = false
				}
			}
		}
	}
	sort.Strings(resourceTypes)
}

func typeOf(name string) *typeInfo {
	typesOnce.Do(loadTypes)
	if t, ok := types[name]; ok {
		return t
	}
	return resolvePath(name)
}

// resolvePath finds the type of a dotted element path such as
// "Questionnaire.item.item" or "Patient.contact.name" by walking from its
// first segment. Choice elements and multi-typed elements stop the walk.
func resolvePath(path string) *typeInfo {
	head, rest, ok := strings.Cut(path, ".")
	if !ok {
		return nil
	}
	t := types[head]
	for t != nil && rest != "" {
		var name string
		name, rest, _ = strings.Cut(rest, ".")
		i, ok := t.byName[name]
		if !ok || len(t.children[i].Types) != 1 {
			return nil
		}
		t = types[t.children[i].Types[0]]
	}
	return t
}

// IsResourceType reports whether name is a concrete resource type (not
// the abstract Resource or DomainResource).
func IsResourceType(name string) bool {
	t := typeOf(name)
	return t != nil && t.name == name && t.kind == "resource" && !t.abstract
}

// IsResource reports whether name is a resource type, abstract or not.
func IsResource(name string) bool {
	t := typeOf(name)
	return t != nil && t.name == name && t.kind == "resource"
}

// ResourceTypes returns the concrete resource types, sorted.
func ResourceTypes() []string {
	typesOnce.Do(loadTypes)
	return resourceTypes
}

// IsPrimitive reports whether typ is a FHIR primitive type such as
// "string" or "dateTime".
func IsPrimitive(typ string) bool {
	typesOnce.Do(loadTypes)
	t := types[typ]
	return t != nil && t.kind == "primitive-type"
}

// IsType reports whether typ names a type or backbone element known to
// Children.
func IsType(typ string) bool { return typeOf(typ) != nil }

// Kind returns the StructureDefinition kind of typ ("resource",
// "complex-type" or "primitive-type"), "backbone" for a backbone element
// path, or "" if typ is unknown.
func Kind(typ string) string {
	if t := typeOf(typ); t != nil {
		return t.kind
	}
	return ""
}

// BaseType returns the type typ specializes ("DomainResource" for
// "Patient", "Quantity" for "Age", "BackboneElement" for
// "Patient.contact"), or "" for the roots Resource and Element.
func BaseType(typ string) string {
	if t := typeOf(typ); t != nil {
		return t.base
	}
	return ""
}

// PrimitiveRegex returns the regular expression that constrains the
// lexical form of the primitive type typ, from the regex extension of
// its value element. The expression is unanchored, as in the
// specification; it must match the whole value. It is "" for types
// without one (xhtml) and for non-primitive types.
func PrimitiveRegex(typ string) string {
	if !IsPrimitive(typ) {
		return ""
	}
	return types[typ].regex
}

// Children returns the child elements of a type ("Quantity"), a resource
// ("Patient") or a backbone element, named by its path
// ("Patient.contact"), in the order of the specification. A path through
// single-typed elements also resolves ("Questionnaire.item.item",
// "Patient.contact.name"). It returns nil for unknown names.
func Children(typeOrPath string) []Element {
	if t := typeOf(typeOrPath); t != nil {
		return t.children
	}
	return nil
}

// Child finds the element that the JSON member or FHIRPath name selects
// in typeOrPath. For a choice element it accepts the name with a type
// suffix, returning the concrete type: Child("Observation",
// "valueQuantity") gives the Observation.value[x] element and
// "Quantity". For a non-choice element typ is its type when it has one
// type (a Reference's target types are not separate types), else "".
// The bare name of a choice element ("value") also matches, with typ "".
func Child(typeOrPath, name string) (el Element, typ string, ok bool) {
	t := typeOf(typeOrPath)
	if t == nil {
		return Element{}, "", false
	}
	if i, ok := t.byName[name]; ok {
		e := t.children[i]
		if !e.Choice && len(e.Types) == 1 {
			typ = e.Types[0]
		}
		return e, typ, true
	}
	for _, i := range t.choices {
		e := t.children[i]
		suffix, ok := strings.CutPrefix(name, e.Name)
		if !ok || suffix == "" {
			continue
		}
		for _, c := range e.Types {
			if len(c) == len(suffix) && c[1:] == suffix[1:] && upper(c[0]) == suffix[0] {
				return e, c, true
			}
		}
	}
	return Element{}, "", false
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
