package searchparam

import "sort"

// Kind is a search parameter type (R4 search-param-type).
type Kind string

// The parameter types of R4.
const (
	KindNumber    Kind = "number"
	KindDate      Kind = "date"
	KindString    Kind = "string"
	KindToken     Kind = "token"
	KindReference Kind = "reference"
	KindComposite Kind = "composite"
	KindQuantity  Kind = "quantity"
	KindURI       Kind = "uri"
	KindSpecial   Kind = "special"
)

// Def is one search parameter as it applies to one resource type.
type Def struct {
	Name       string
	Kind       Kind
	URL        string
	Expression string   // FHIRPath, already narrowed to the resource type
	Targets    []string // reference: the resource types it may point to
	Components []Component
	// Description is the specification's documentation of the parameter,
	// for the CapabilityStatement.
	Description string
}

// Component is one part of a composite parameter: the parameter it takes
// its type from (by canonical URL) and the FHIRPath that selects its
// value relative to the composite's own expression.
type Component struct {
	Definition string
	Expression string
}

// Registry answers what the parser needs to know about search parameters.
type Registry interface {
	// Lookup returns the parameter name of resourceType, or false.
	Lookup(resourceType, name string) (*Def, bool)
	// ByURL returns a parameter by its canonical URL (for composite
	// components), or false.
	ByURL(url string) (*Def, bool)
	// Params lists every parameter of resourceType, by name.
	Params(resourceType string) []*Def
	// IsResourceType reports whether t names a resource type.
	IsResourceType(t string) bool
}

// Table is a Registry held in maps; NewTable builds one.
type Table struct {
	byType map[string]map[string]*Def
	byURL  map[string]*Def
	types  map[string]bool
}

// NewTable returns a Table of the given resource types, each with the
// parameters listed for it in defs, plus the parameters that every
// resource has (Common) where defs does not define them.
func NewTable(types []string, defs map[string][]*Def) *Table {
	t := &Table{byType: map[string]map[string]*Def{}, byURL: map[string]*Def{}, types: map[string]bool{}}
	for _, typ := range types {
		t.types[typ] = true
		m := map[string]*Def{}
		for _, d := range Common() {
			m[d.Name] = d
		}
		for _, d := range defs[typ] {
			m[d.Name] = d
			if d.URL != "" {
				t.byURL[d.URL] = d
			}
		}
		t.byType[typ] = m
	}
	return t
}

// Lookup implements Registry.
func (t *Table) Lookup(resourceType, name string) (*Def, bool) {
	d, ok := t.byType[resourceType][name]
	return d, ok
}

// ByURL implements Registry.
func (t *Table) ByURL(url string) (*Def, bool) {
	d, ok := t.byURL[url]
	return d, ok
}

// Params implements Registry.
func (t *Table) Params(resourceType string) []*Def {
	m := t.byType[resourceType]
	out := make([]*Def, 0, len(m))
	for _, d := range m {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// IsResourceType implements Registry.
func (t *Table) IsResourceType(typ string) bool { return t.types[typ] }

// Common returns the parameters R4 defines on Resource and DomainResource
// (search.html 3.1.1.2, parameters for all resources), indexed like any
// other parameter. _text and _content are full-text parameters: Junction
// indexes the narrative's text and every string of the resource, and
// matches them as :contains (search.html 3.1.1.3.2).
func Common() []*Def {
	return []*Def{
		{Name: "_id", Kind: KindToken, Expression: "Resource.id"},
		{Name: "_lastUpdated", Kind: KindDate, Expression: "Resource.meta.lastUpdated"},
		{Name: "_tag", Kind: KindToken, Expression: "Resource.meta.tag"},
		{Name: "_profile", Kind: KindURI, Expression: "Resource.meta.profile"},
		{Name: "_security", Kind: KindToken, Expression: "Resource.meta.security"},
		{Name: "_source", Kind: KindURI, Expression: "Resource.meta.source"},
		{Name: "_text", Kind: KindSpecial, Expression: "DomainResource.text"},
		{Name: "_content", Kind: KindSpecial, Expression: "Resource"},
	}
}
