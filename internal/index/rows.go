// Package index turns a resource into the rows that search reads: one set
// of typed values per search parameter, computed from the parameter's
// FHIRPath expression exactly as the R4 SearchParameter defines it. It is
// pure: no I/O, no clock.
package index

// Rows are the index values of one resource version. Every row names its
// search parameter; a parameter with no row is "missing" for :missing.
type Rows struct {
	Type, ID string
	// Compartments are the ids of the Patient compartments the resource
	// belongs to (R4 CompartmentDefinition patient): the Patient itself, or
	// the patients its compartment parameters refer to. Storage uses them
	// to keep a patient's data together when sharded.
	Compartments []string

	Strings    []StringRow
	Tokens     []TokenRow
	Refs       []RefRow
	Dates      []DateRow
	Numbers    []NumberRow
	Quantities []QuantityRow
	URIs       []URIRow
	Composites []CompositeRow
	// Text is the normalised text of the narrative (_text); Content the
	// normalised text of every string in the resource (_content).
	Text, Content string
}

// StringRow is a string value: Norm for the default and :contains
// matches (searchparam.Normalize), Exact for :exact.
type StringRow struct {
	Param       string
	Norm, Exact string
}

// TokenRow is a code with its system, or an identifier value with its
// system (and, for :of-type, its type), or text for :text (Code then
// empty). Text is normalised.
type TokenRow struct {
	Param                string
	System, Code         string
	Text                 string
	TypeSystem, TypeCode string
}

// RefRow is a reference. TargetType and TargetID are set for a reference
// to a resource on this server; URL for an absolute or canonical
// reference (Version for "url|version"); IdentSystem and IdentValue for
// Reference.identifier (:identifier). A row with only Param set is a
// presence row: the element is present but refers to nothing searchable
// (a contained resource, a display only), so it counts for :missing and
// matches nothing else.
type RefRow struct {
	Param                   string
	TargetType, TargetID    string
	URL, Version            string
	IdentSystem, IdentValue string
}

// DateRow is a date value as a range of microseconds since the epoch,
// [Low, High) (searchparam.Range).
type DateRow struct {
	Param     string
	Low, High int64
}

// NumberRow is a number value.
type NumberRow struct {
	Param string
	Value float64
}

// QuantityRow is a quantity: its value, system, code and unit as written,
// and when the unit is a UCUM unit with an exact conversion, the value in
// the canonical unit (CanonCode non-empty).
type QuantityRow struct {
	Param              string
	Value              float64
	System, Code, Unit string
	CanonCode          string
	CanonValue         float64
}

// URIRow is a uri, url or canonical value.
type URIRow struct {
	Param string
	URI   string
}

// CompositeRow is one combination of component values taken from the
// same element (search.html 3.1.1.4.12: the components must match within
// one repetition). Each component is a Component holding the one value
// of its kind. Location's near parameter (type special) is stored the
// same way: one row per position, its latitude and longitude as two
// number components (see positionRow).
type CompositeRow struct {
	Param      string
	Components []Component
}

// Component is one value of a composite row; which fields are used
// depends on the component parameter's kind.
type Component struct {
	Token    TokenRow
	String   StringRow
	Date     DateRow
	Number   NumberRow
	Quantity QuantityRow
	Ref      RefRow
	URI      URIRow
}
