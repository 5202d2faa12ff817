package searchparam

// Query is a parsed search: which resources match (Filters, all of which
// must hold), and how the result is shaped.
type Query struct {
	// Types are the resource types searched: one for a type-level search,
	// those of _type (or none, meaning every type) for a system search.
	Types []string
	// Filters are ANDed; the values within one Filter are ORed.
	Filters []*Filter
	Sort    []SortKey
	// Count is the page size: default 20, at most MaxCount; 0 asks for the
	// total only.
	Count int
	// CountAsked is the _count the client sent when it was above
	// MaxCount and Count holds MaxCount instead (search.html 3.1.1.6:
	// the server "is not bound to return the number requested"); 0
	// otherwise. Applied carries the count used.
	CountAsked int
	Total      Total
	Summary    Summary
	Elements   []string
	Include    []Include
	RevInclude []Include
	// Ignored lists the parameters a lenient parse skipped (unknown names
	// or unsupported modifiers), so the self link can leave them out.
	Ignored []string
	// Applied is every parameter that was used, in request order, for the
	// self link (without _cursor).
	Applied []Param
	// Cursor is the _cursor parameter of a page link, as sent; the search
	// package decodes it.
	Cursor string
}

// Param is one name=value pair of a query string, as sent.
type Param struct {
	Name, Value string
}

// Filter is one search parameter test, as R4 search.html 3.1.1 defines it.
type Filter struct {
	// Key is the parameter as written, such as "subject:Patient.name:exact".
	Key string
	// Types are the resource types the filter applies to.
	Types []string
	// Def is the parameter tested (for a chain, the reference parameter).
	Def *Def
	// Modifier is the modifier on Def, if any. For ModType, TargetType
	// holds the type.
	Modifier   Modifier
	TargetType string
	// Missing is set for :missing; MissingValue is true for :missing=true.
	MissingValue bool
	// Chain, when set, tests the resources Def refers to (search.html
	// 3.1.1.4.13, chained parameters); Values is then empty.
	Chain *Filter
	// Has, when set, is a reverse chain (search.html 3.1.1.4.14, _has):
	// resources of Has.Type whose Has.Ref refers to the candidate and that
	// satisfy Has.Filter. Def is then nil.
	Has *Has
	// Values are ORed.
	Values []Value
}

// Has is the body of a _has filter.
type Has struct {
	Type   string
	Ref    *Def
	Filter *Filter
}

// Modifier is a search parameter modifier (search.html 3.1.1.5).
type Modifier string

// The modifiers Junction accepts.
const (
	ModNone       Modifier = ""
	ModMissing    Modifier = "missing"
	ModExact      Modifier = "exact"
	ModContains   Modifier = "contains"
	ModText       Modifier = "text"
	ModNot        Modifier = "not"
	ModAbove      Modifier = "above"
	ModBelow      Modifier = "below"
	ModIdentifier Modifier = "identifier"
	ModOfType     Modifier = "of-type"
	ModType       Modifier = "[type]"
)

// Value is one search value; which fields are set depends on the kind of
// the parameter.
type Value struct {
	// Kind is the kind of the parameter the value was parsed for (for a
	// composite component, the component's kind).
	Kind   Kind
	Prefix Prefix
	// String is the normalised value for string, _text and _content
	// (unless :exact, when it is the value as sent), the value for uri.
	String string
	Token  Token
	// Date and Approx (for ap) are the ranges of a date value.
	Date, Approx Range
	Number       Number
	Quantity     Quantity
	Ref          Reference
	// Components are the values of a composite, in component order.
	Components []Value
	// Near is the point and distance of Location's near parameter.
	Near Near
}

// Token is a token value: [system]|[code] (search.html 3.1.1.4.9).
type Token struct {
	// AnySystem: the value had no "|", so any system matches.
	AnySystem bool
	// System is the system to match; "" with AnySystem false means "no
	// system" (the "|code" form).
	System string
	// Code is the code to match; "" means any code ("system|" form).
	Code string
	// TypeSystem and TypeCode are the identifier type of :of-type.
	TypeSystem, TypeCode string
	// Text is the normalised text of :text.
	Text string
}

// Quantity is a quantity value: [number]|[system]|[code]
// (search.html 3.1.1.4.8).
type Quantity struct {
	Number Number
	// AnySystem: no system given, so Code matches Quantity.code or
	// Quantity.unit in any system.
	AnySystem bool
	System    string
	Code      string
	// Canonical is set when the unit is UCUM with an exact conversion:
	// the value converted and the canonical code; the planner then matches
	// the canonical index columns so 5.4 mg finds 0.0054 g.
	Canonical     bool
	CanonicalCode string
	CanonicalNum  Number
}

// Reference is a reference value (search.html 3.1.1.4.10).
type Reference struct {
	// Type and ID are set for "Type/id" and for "id" alone (Type then
	// empty: any of the parameter's target types).
	Type, ID string
	// URL is set for an absolute URL or canonical that is not on this
	// server; Version for "url|version".
	URL, Version string
	// Identifier is set for :identifier.
	Identifier Token
}

// SortKey is one _sort key.
type SortKey struct {
	Def        *Def
	Descending bool
}

// Total is the _total mode.
type Total string

// The _total modes; TotalDefault lets the server choose.
const (
	TotalDefault  Total = ""
	TotalNone     Total = "none"
	TotalEstimate Total = "estimate"
	TotalAccurate Total = "accurate"
)

// Summary is the _summary mode.
type Summary string

// The _summary modes.
const (
	SummaryNone  Summary = ""
	SummaryTrue  Summary = "true"
	SummaryText  Summary = "text"
	SummaryData  Summary = "data"
	SummaryCount Summary = "count"
	SummaryFalse Summary = "false"
)

// Include is one _include or _revinclude.
type Include struct {
	// Source is the type holding the reference; "*" with Param nil for
	// _include=*.
	Source string
	// Param is the reference parameter, nil for "*".
	Param *Def
	// Target narrows the referenced type, "" for any.
	Target  string
	Iterate bool
}

// DefaultCount is the page size when _count is absent, and MaxCount the
// largest page the server returns (stated in the CapabilityStatement).
const (
	DefaultCount = 20
	MaxCount     = 1000
)
