package spec

import (
	"github.com/nhs-junction/junction/internal/fhir/packed"
	"sort"
	"strings"
	"sync"
)

// Binding is an element's binding to a value set (R4
// terminologies.html#strength).
type Binding struct {
	// Strength is required, extensible, preferred or example. Only
	// required bindings constrain the codes of valid instances.
	Strength string
	// ValueSet is the canonical URL of the value set, possibly with a
	// "|version" suffix.
	ValueSet string
}

// Constraint is an invariant of an element (ElementDefinition.constraint).
type Constraint struct {
	// Path is the element path it is defined on: a type ("Period",
	// "DomainResource"), a backbone element ("Patient.contact") or
	// another element ("Narrative.div").
	Path       string
	Key        string
	Severity   string // error or warning
	Expression string // FHIRPath, evaluated with the element as focus
	Human      string
}

type ruleSet struct {
	bindings    map[string]Binding
	targets     map[string][]string
	constraints map[string][]Constraint
	all         []Constraint
}

var (
	rulesOnce sync.Once
	rules     ruleSet
)

func loadRules() {
	rules = ruleSet{bindings: map[string]Binding{}, targets: map[string][]string{}, constraints: map[string][]Constraint{}}
	packed.ForLines(ruleData, func(f []string) {
		switch f[0] {
		case "B":
			rules.bindings[f[1]] = Binding{Strength: f[2], ValueSet: f[3]}
		case "R":
			rules.targets[f[1]] = append(rules.targets[f[1]], f[2:]...)
		case "K":
			c := Constraint{Path: f[1], Key: f[2], Severity: f[3], Expression: f[4], Human: f[5]}
			rules.constraints[c.Path] = append(rules.constraints[c.Path], c)
			rules.all = append(rules.all, c)
		}
	})
	sort.SliceStable(rules.all, func(i, j int) bool { return rules.all[i].Path < rules.all[j].Path })
}

// ElementBinding returns the binding of the element with the path, such
// as "Patient.gender" or "Quantity.comparator" (choice elements without
// "[x]", as Element.Path).
func ElementBinding(path string) (Binding, bool) {
	rulesOnce.Do(loadRules)
	b, ok := rules.bindings[path]
	return b, ok
}

// ReferenceTargets returns the resource types that a Reference in the
// element with the path may point to, from the targetProfile of its
// type; "Resource" means any. It returns nil for elements that are not
// References or do not say.
func ReferenceTargets(path string) []string {
	rulesOnce.Do(loadRules)
	return rules.targets[path]
}

// Constraints returns the invariants defined on the element with the
// path. The invariants of a type apply to every value of the type and
// are defined on the type itself ("Period" holds per-1); those of its
// base types are found through BaseType ("Element" holds ele-1).
func Constraints(path string) []Constraint {
	rulesOnce.Do(loadRules)
	return rules.constraints[strings.TrimSuffix(path, "[x]")]
}

// AllConstraints returns every invariant of the base specification,
// ordered by path.
func AllConstraints() []Constraint {
	rulesOnce.Do(loadRules)
	return rules.all
}
