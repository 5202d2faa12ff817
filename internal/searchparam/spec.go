package searchparam

import (
	"sync"

	"github.com/nhs-junction/junction/internal/fhir/spec"
)

var (
	r4Once sync.Once
	r4     *Table
)

// R4 returns the registry of every core R4 search parameter, generated
// from the specification's SearchParameter resources (internal/fhir/spec),
// each with its expression narrowed to the resource type it is used on.
func R4() *Table {
	r4Once.Do(func() {
		types := spec.ResourceTypes()
		defs := map[string][]*Def{}
		byURL := map[string]*Def{}
		for _, t := range types {
			for _, p := range spec.SearchParams(t) {
				if p.Name == "_query" || p.Name == "_filter" {
					// Named queries and _filter are not supported; the
					// parser reports them.
					continue
				}
				d := &Def{Name: p.Name, Kind: Kind(p.Type), URL: p.URL, Expression: p.ExpressionFor(t), Targets: p.Targets, Description: p.Description}
				for _, c := range p.Components {
					d.Components = append(d.Components, Component{Definition: c.Definition, Expression: c.Expression})
				}
				if c := common(p.Name); c != nil && d.Expression == "" {
					// _text and _content: R4 types them string but leaves
					// their meaning to the server; Junction matches them as
					// full text (Common), which takes no modifiers.
					d.Expression, d.Kind = c.Expression, c.Kind
				}
				if d.Kind == KindSpecial && d.Name == "near" {
					// The specification leaves the default distance and the
					// accuracy to the server; say what this one does.
					d.Description = NearDocumentation
				}
				defs[t] = append(defs[t], d)
				if _, ok := byURL[p.URL]; !ok {
					byURL[p.URL] = d
				}
			}
		}
		r4 = NewTable(types, defs)
		// A component is looked up by URL alone; its expression comes from
		// the composite, so any one resource type's copy will do.
		for u, d := range byURL {
			r4.byURL[u] = d
		}
	})
	return r4
}

func common(name string) *Def {
	for _, d := range Common() {
		if d.Name == name {
			return d
		}
	}
	return nil
}
