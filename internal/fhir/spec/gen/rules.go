package main

import (
	"github.com/nhs-junction/junction/internal/fhir/packed"
	"sort"
	"strings"
)

// ruleTable renders the rules that the elements of each type carry
// beyond their structure, keyed by element path (choice elements without
// "[x]", as spec.Element.Path):
//
//	B path strength valueSet
//	R path targetType...
//	K path key severity expression human
//
// B is a binding, R the resource types a Reference may point to (from
// the Reference type's targetProfile; "Resource" allows any) and K a
// constraint. A snapshot repeats the constraints of base types on every
// element (ele-1 from Element, dom-* from DomainResource ...); only those
// the StructureDefinition itself defines are kept (no source, or its own
// url as source), since a validator reaches the others through the base
// type.
func ruleTable(sds []structureDefinition) []string {
	sort.Slice(sds, func(i, j int) bool { return sds[i].ID < sds[j].ID })
	var out []string
	for _, sd := range sds {
		if !wanted(sd) {
			continue
		}
		for _, e := range sd.Snapshot.Element {
			path := strings.TrimSuffix(e.Path, "[x]")
			if e.Binding != nil && e.Binding.ValueSet != "" {
				out = append(out, packed.Line("B", path, e.Binding.Strength, e.Binding.ValueSet))
			}
			for _, t := range e.Type {
				if t.Code != "Reference" || len(t.TargetProfile) == 0 {
					continue
				}
				f := []string{"R", path}
				for _, p := range t.TargetProfile {
					f = append(f, lastSegment(p))
				}
				out = append(out, packed.Line(f...))
			}
			for _, c := range e.Constraint {
				if c.Source != "" && c.Source != sd.URL {
					continue
				}
				out = append(out, packed.Line("K", path, c.Key, c.Severity, c.Expression, c.Human))
			}
		}
	}
	return out
}
