package fhirpath

import (
	"encoding/json"
	"strings"
)

// System type names (http://hl7.org/fhirpath/N1/#types-and-reflection),
// used as the Type of values that an expression computes rather than reads
// from a resource.
const (
	TypeBoolean  = "System.Boolean"
	TypeString   = "System.String"
	TypeInteger  = "System.Integer"
	TypeDecimal  = "System.Decimal"
	TypeDate     = "System.Date"
	TypeDateTime = "System.DateTime"
	TypeTime     = "System.Time"
	TypeQuantity = "System.Quantity"
)

// Item is one member of a collection.
//
// An item read from a resource holds the decoded JSON value itself
// (map[string]any, string, bool or json.Number) and, where the element's
// definition or the JSON key tells it, the FHIR type name ("HumanName",
// "Quantity", "dateTime", "Patient"). An item computed by the expression
// holds a System value. Items are small values; copying them is cheap.
type Item struct {
	v   any
	typ string         // FHIR or System type name, a backbone element path ("Patient.contact"), or "" when unknown
	ext map[string]any // the "_name" sibling object of a primitive, holding its id and extensions
}

// unresolved stands for the target of a reference that resolve() could not
// fetch: its type is known from the reference text but its content is not.
type unresolved struct{ ref string }

type typeInfo struct{ namespace, name string }

// Value returns the item's value. Values read from a resource are returned
// exactly as decoded (decimals stay json.Number, so no precision is lost);
// a primitive element that has only extensions returns nil. Computed values
// are returned as: string, bool, int64 (Integer), json.Number (Decimal),
// string in ISO 8601 form (Date, DateTime, Time), and for Quantity a
// map[string]any shaped like a FHIR Quantity ("value", "unit", and for UCUM
// units "system" and "code"). The target of a reference that could not be
// fetched is returned as its reference string.
func (it Item) Value() any {
	switch v := it.v.(type) {
	case decimal:
		return json.Number(v.String())
	case temporal:
		return v.String()
	case quantity:
		m := map[string]any{"value": json.Number(v.v.String()), "unit": v.unit}
		if !isCalendarUnit(v.unit) {
			m["system"] = "http://unitsofmeasure.org"
			m["code"] = v.unit
		}
		return m
	case unresolved:
		return v.ref
	case typeInfo:
		return map[string]any{"namespace": v.namespace, "name": v.name}
	}
	return it.v
}

// Type returns the item's type name: a FHIR type ("HumanName", "code",
// "Patient"), "BackboneElement" for an inline backbone element, one of the
// System type constants for computed values, or "" when the model does not
// know the element.
func (it Item) Type() string {
	if strings.IndexByte(it.typ, '.') > 0 && !strings.HasPrefix(it.typ, "System.") && !strings.HasPrefix(it.typ, "FHIR.") {
		return "BackboneElement"
	}
	return it.typ
}

// Extensions returns the extension and id object that FHIR JSON carries in
// the "_name" property beside a primitive value, or nil.
func (it Item) Extensions() map[string]any { return it.ext }

// Collection is the result of evaluating an expression: an ordered list of
// items, possibly empty.
type Collection []Item

// Bool returns the value of a collection holding exactly one boolean, the
// shape invariants evaluate to. ok is false for any other collection.
func (c Collection) Bool() (value, ok bool) {
	if len(c) != 1 {
		return false, false
	}
	b, isBool := c[0].v.(bool)
	return b, isBool
}

func sysItem(v any) Item {
	switch v.(type) {
	case bool:
		return Item{v: v, typ: TypeBoolean}
	case string:
		return Item{v: v, typ: TypeString}
	case int64:
		return Item{v: v, typ: TypeInteger}
	case decimal:
		return Item{v: v, typ: TypeDecimal}
	case quantity:
		return Item{v: v, typ: TypeQuantity}
	case temporal:
		switch v.(temporal).kind {
		case kDate:
			return Item{v: v, typ: TypeDate}
		case kDateTime:
			return Item{v: v, typ: TypeDateTime}
		}
		return Item{v: v, typ: TypeTime}
	}
	return Item{v: v}
}

var (
	trueItems  = []Item{{v: true, typ: TypeBoolean}}
	falseItems = []Item{{v: false, typ: TypeBoolean}}
)

func boolItems(b bool) []Item {
	if b {
		return trueItems[:1:1]
	}
	return falseItems[:1:1]
}

// fhirPrimitives maps each FHIR primitive type, keyed by the capitalised form
// used in choice-element JSON names (valueDateTime), to its type name.
var fhirPrimitives = map[string]string{
	"Boolean": "boolean", "Integer": "integer", "String": "string", "Decimal": "decimal",
	"Uri": "uri", "Url": "url", "Canonical": "canonical", "Base64Binary": "base64Binary",
	"Instant": "instant", "Date": "date", "DateTime": "dateTime", "Time": "time",
	"Code": "code", "Oid": "oid", "Id": "id", "Markdown": "markdown",
	"UnsignedInt": "unsignedInt", "PositiveInt": "positiveInt", "Uuid": "uuid",
	"Integer64": "integer64", "Xhtml": "xhtml",
}

func isFHIRPrimitive(t string) bool {
	if t == "" {
		return false
	}
	_, ok := fhirPrimitives[strings.ToUpper(t[:1])+t[1:]]
	return ok && t[0] >= 'a' && t[0] <= 'z'
}

// quantityTypes are the FHIR types that are Quantity or profile it; they
// convert implicitly to System.Quantity
// (http://hl7.org/fhir/R4/fhirpath.html#types).
var quantityTypes = map[string]bool{
	"Quantity": true, "Age": true, "Duration": true, "Distance": true, "Count": true,
	"SimpleQuantity": true, "MoneyQuantity": true,
}

// kind classifies an item's value for operators after the implicit
// conversion of FHIR primitives to System types.
type kind uint8

const (
	kindNone kind = iota
	kindBool
	kindString
	kindInt
	kindDec
	kindTemporal
	kindQty
	kindOther
)

// sysValue converts an item to the System value operators work on, following
// the FHIR-to-System mapping (http://hl7.org/fhir/R4/fhirpath.html#types).
// A string whose FHIR type is a date, dateTime, instant or time becomes a
// temporal value.
func sysValue(it Item) (any, kind) {
	switch v := it.v.(type) {
	case bool:
		return v, kindBool
	case string:
		switch it.typ {
		case "date":
			if t, err := parseTemporal(v, kDate); err == nil {
				return t, kindTemporal
			}
		case "dateTime", "instant":
			if t, err := parseTemporalAuto(v); err == nil {
				return t, kindTemporal
			}
		case "time":
			if t, err := parseTemporal(v, kTime); err == nil {
				return t, kindTemporal
			}
		}
		return v, kindString
	case json.Number:
		s := string(v)
		if it.typ != "decimal" && strings.IndexAny(s, ".eE") < 0 {
			if n, err := v.Int64(); err == nil {
				return n, kindInt
			}
		}
		if d, ok := parseDecimal(s); ok {
			return d, kindDec
		}
		return nil, kindOther
	case int64:
		return v, kindInt
	case decimal:
		return v, kindDec
	case temporal:
		return v, kindTemporal
	case quantity:
		return v, kindQty
	case map[string]any:
		if quantityTypes[it.typ] {
			if q, ok := fhirQuantity(v); ok {
				return q, kindQty
			}
		}
		return v, kindOther
	case nil:
		return nil, kindNone
	}
	return it.v, kindOther
}

// parseTemporalAuto reads a FHIR date, dateTime or instant string, whose
// kind depends on its length: a dateTime element may hold just a date.
func parseTemporalAuto(s string) (temporal, error) {
	if strings.IndexByte(s, 'T') < 0 {
		t, err := parseTemporal(s, kDate)
		if err == nil {
			t.kind = kDateTime
		}
		return t, err
	}
	return parseTemporal(s, kDateTime)
}

// fhirQuantity converts a FHIR Quantity object. The UCUM code is the unit
// when present, since it is the computable one; the display unit is the
// fallback.
func fhirQuantity(m map[string]any) (quantity, bool) {
	n, ok := m["value"].(json.Number)
	if !ok {
		return quantity{}, false
	}
	d, ok := parseDecimal(string(n))
	if !ok {
		return quantity{}, false
	}
	u, _ := m["code"].(string)
	if u == "" {
		u, _ = m["unit"].(string)
	}
	if u == "" {
		u = "1"
	}
	return quantity{v: d, unit: u}, true
}
