package spec

import (
	"github.com/nhs-junction/junction/internal/fhir/packed"
	"sort"
	"strings"
	"sync"
)

// SearchParameter is one core SearchParameter resource of R4, reduced to
// what a server needs.
type SearchParameter struct {
	// Name is the SearchParameter.code used in URLs, such as "code" or
	// "_lastUpdated".
	Name string
	URL  string
	// Type is one of number, date, string, token, reference, composite,
	// quantity, uri or special.
	Type string
	// Expression is the full FHIRPath expression, which may cover several
	// bases joined by "|"; ExpressionFor narrows it to one. It is "" for
	// parameters the specification leaves to the server (_content,
	// _query, _text, _filter).
	Expression  string
	Description string
	Base        []string
	// Targets are the resource types a reference parameter may point to.
	Targets     []string
	Components  []Component
	Modifiers   []string
	Comparators []string
	// MultipleOr and MultipleAnd are the SearchParameter's flags; nil
	// where the specification leaves them unset.
	MultipleOr, MultipleAnd *bool
}

// Component is one part of a composite search parameter.
type Component struct {
	// Definition is the canonical URL of the component's SearchParameter.
	Definition string
	// Expression is relative to the composite's own expression.
	Expression string
}

// ExpressionFor returns the parts of p.Expression that apply to
// resourceType: those rooted at it (the "Condition.code" of
// "AllergyIntolerance.code | Condition.code | ..."), or, when none is,
// the whole expression (parameters on Resource or DomainResource, and
// expressions that do not start with a type name).
func (p SearchParameter) ExpressionFor(resourceType string) string {
	parts := SplitUnion(p.Expression)
	if len(parts) < 2 {
		return p.Expression
	}
	var keep []string
	for _, part := range parts {
		if exprRoot(part) == resourceType {
			keep = append(keep, part)
		}
	}
	if len(keep) == 0 {
		return p.Expression
	}
	return strings.Join(keep, " | ")
}

// exprRoot returns the type name an expression part starts with, looking
// inside a leading parenthesis: "(Observation.value as Quantity)" is
// rooted at Observation.
func exprRoot(part string) string {
	part = strings.TrimLeft(part, "( ")
	end := strings.IndexFunc(part, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
	if end < 0 {
		return part
	}
	return part[:end]
}

// SplitUnion splits a FHIRPath expression at its top-level "|"
// operators, ignoring those inside parentheses or string literals, and
// trims each part.
func SplitUnion(expr string) []string {
	var parts []string
	depth, start := 0, 0
	inStr := false
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; {
		case inStr:
			if c == '\\' {
				i++
			} else if c == '\'' {
				inStr = false
			}
		case c == '\'':
			inStr = true
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == '|' && depth == 0:
			parts = append(parts, strings.TrimSpace(expr[start:i]))
			start = i + 1
		}
	}
	if p := strings.TrimSpace(expr[start:]); p != "" || len(parts) > 0 {
		parts = append(parts, p)
	}
	return parts
}

var (
	searchOnce   sync.Once
	searchAll    []SearchParameter
	searchByURL  map[string]int
	searchByBase map[string]map[string]int
)

func loadSearch() {
	searchByURL = map[string]int{}
	searchByBase = map[string]map[string]int{}
	packed.ForLines(searchData, func(f []string) {
		p := SearchParameter{Name: f[0], URL: f[1], Type: f[2], Base: splitList(f[3]), Targets: splitList(f[4]),
			Expression: f[5], Description: f[6], Comparators: splitList(f[7]), Modifiers: splitList(f[8]),
			MultipleOr: triBool(f[9]), MultipleAnd: triBool(f[10])}
		for i := 11; i+1 < len(f); i += 2 {
			p.Components = append(p.Components, Component{Definition: f[i], Expression: f[i+1]})
		}
		n := len(searchAll)
		searchAll = append(searchAll, p)
		searchByURL[p.URL] = n
		for _, b := range p.Base {
			if searchByBase[b] == nil {
				searchByBase[b] = map[string]int{}
			}
			searchByBase[b][p.Name] = n
		}
	})
}

func triBool(s string) *bool {
	if s == "" {
		return nil
	}
	b := s == "1"
	return &b
}

// AllSearchParams returns every core search parameter, sorted by URL.
func AllSearchParams() []SearchParameter {
	searchOnce.Do(loadSearch)
	return searchAll
}

// SearchParams returns the search parameters of resourceType, including
// those it inherits from DomainResource and Resource, sorted by name. It
// returns nil for an unknown type.
func SearchParams(resourceType string) []SearchParameter {
	searchOnce.Do(loadSearch)
	if !IsResource(resourceType) {
		return nil
	}
	var out []SearchParameter
	seen := map[string]bool{}
	for t := resourceType; t != ""; t = BaseType(t) {
		for name, i := range searchByBase[t] {
			if !seen[name] {
				seen[name] = true
				out = append(out, searchAll[i])
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SearchParam returns the search parameter named code (such as "code"
// or "_id") that applies to resourceType, directly or through
// DomainResource or Resource.
func SearchParam(resourceType, code string) (SearchParameter, bool) {
	searchOnce.Do(loadSearch)
	if !IsResource(resourceType) {
		return SearchParameter{}, false
	}
	for t := resourceType; t != ""; t = BaseType(t) {
		if i, ok := searchByBase[t][code]; ok {
			return searchAll[i], true
		}
	}
	return SearchParameter{}, false
}

// SearchParamByURL returns the search parameter with canonical URL url.
func SearchParamByURL(url string) (SearchParameter, bool) {
	searchOnce.Do(loadSearch)
	if i, ok := searchByURL[url]; ok {
		return searchAll[i], true
	}
	return SearchParameter{}, false
}
