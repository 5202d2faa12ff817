package terminology

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhir/packed"
	"strconv"
	"strings"
	"sync"
)

type concept struct {
	code, display, definition string
	props                     []Property
}

type codeSystem struct {
	url, version, name, content string
	hierarchy                   string
	caseSensitive               bool
	concepts                    []concept
	byCode                      map[string]int
	// parents and children index concepts by position. They come from
	// nesting and from the child property (R4 concept-properties#child),
	// which the v3 code systems use for concepts with several parents.
	parents, children [][]int
}

func (cs *codeSystem) index(code string) (int, bool) {
	i, ok := cs.byCode[code]
	if !ok && !cs.caseSensitive {
		i, ok = cs.byCode[strings.ToLower(code)]
	}
	return i, ok
}

// isA reports whether the hierarchy of the code system means
// subsumption. R4 CodeSystem.hierarchyMeaning: grouped-by, part-of and
// classified-with nest concepts without one being a kind of the other;
// an absent meaning is taken as is-a, the common case in the package.
func (cs *codeSystem) isA() bool { return cs.hierarchy == "" || cs.hierarchy == "is-a" }

// below returns the positions of the concepts under concept i.
func (cs *codeSystem) below(i int) map[int]bool { return cs.closure(i, cs.children) }

// above returns the positions of the concepts over concept i.
func (cs *codeSystem) above(i int) map[int]bool { return cs.closure(i, cs.parents) }

func (cs *codeSystem) closure(i int, edges [][]int) map[int]bool {
	seen := map[int]bool{}
	if !cs.isA() {
		return seen
	}
	stack := append([]int(nil), edges[i]...)
	for len(stack) > 0 {
		j := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[j] || j == i {
			continue
		}
		seen[j] = true
		stack = append(stack, edges[j]...)
	}
	return seen
}

func (c *concept) prop(code string) (string, bool) {
	for _, p := range c.props {
		if p.Code == code {
			return p.Value, true
		}
	}
	return "", false
}

// link fills byCode, parents and children once the concepts and their
// nesting (parentOf, -1 for roots) are known.
func (cs *codeSystem) link(parentOf []int) {
	n := len(cs.concepts)
	cs.byCode = make(map[string]int, n)
	for i, c := range cs.concepts {
		k := c.code
		if !cs.caseSensitive {
			k = strings.ToLower(k)
		}
		if _, dup := cs.byCode[k]; !dup {
			cs.byCode[k] = i
		}
	}
	cs.parents = make([][]int, n)
	cs.children = make([][]int, n)
	edge := func(p, c int) {
		for _, x := range cs.children[p] {
			if x == c {
				return
			}
		}
		cs.children[p] = append(cs.children[p], c)
		cs.parents[c] = append(cs.parents[c], p)
	}
	for i, p := range parentOf {
		if p >= 0 {
			edge(p, i)
		}
	}
	for i, c := range cs.concepts {
		for _, p := range c.props {
			switch p.Code {
			case "child":
				if j, ok := cs.index(p.Value); ok {
					edge(i, j)
				}
			case "parent", "subsumedBy":
				if j, ok := cs.index(p.Value); ok {
					edge(j, i)
				}
			}
		}
	}
}

type rule struct {
	system, version string
	valueSets       []string
	concepts        []Contains
	filters         []filter
}

type filter struct{ property, op, value string }

type valueSet struct {
	url, version, name string
	include, exclude   []rule
	// expansion holds ValueSet.expansion.contains of a registered value
	// set without a compose.
	expansion []Contains
	// published is the expansion of a core value set from the R4
	// expansions package, used when the compose cannot be expanded from
	// the code systems the registry holds (see Registry.expand).
	published *published
}

// published is a complete expansion as the R4 specification published
// it; the generator carries only those it can show are complete.
type published struct {
	Precomputed
	codes []Contains
}

var (
	coreOnce    sync.Once
	coreSystems map[string]*codeSystem
	coreSets    map[string]*valueSet
)

func loadCore() {
	coreSystems = map[string]*codeSystem{}
	var cur *codeSystem
	var parentOf, stack []int
	done := func() {
		if cur != nil {
			cur.link(parentOf)
		}
	}
	packed.ForLines(codeSystemData, func(f []string) {
		switch f[0] {
		case "S":
			done()
			cur = &codeSystem{url: f[1], version: f[2], name: f[3], content: f[4], hierarchy: f[5], caseSensitive: f[6] == "1"}
			coreSystems[cur.url] = cur
			parentOf, stack = parentOf[:0], stack[:0]
		case "C":
			depth, _ := strconv.Atoi(f[1])
			c := concept{code: f[2], display: f[3], definition: f[4]}
			for i := 5; i+2 < len(f); i += 3 {
				c.props = append(c.props, Property{Code: f[i], Type: f[i+1], Value: f[i+2]})
			}
			stack = stack[:depth]
			p := -1
			if depth > 0 {
				p = stack[depth-1]
			}
			parentOf = append(parentOf, p)
			stack = append(stack, len(cur.concepts))
			cur.concepts = append(cur.concepts, c)
		}
	})
	done()
	coreSets = map[string]*valueSet{}
	var vs *valueSet
	var r *rule
	packed.ForLines(valueSetData, func(f []string) {
		switch f[0] {
		case "V":
			vs = &valueSet{url: f[1], version: f[2], name: f[3]}
			coreSets[vs.url] = vs
		case "I", "X":
			nr := rule{system: f[1], version: f[2], valueSets: f[3:]}
			if f[0] == "I" {
				vs.include = append(vs.include, nr)
				r = &vs.include[len(vs.include)-1]
			} else {
				vs.exclude = append(vs.exclude, nr)
				r = &vs.exclude[len(vs.exclude)-1]
			}
		case "c":
			r.concepts = append(r.concepts, Contains{System: r.system, Version: r.version, Code: f[1], Display: f[2]})
		case "f":
			r.filters = append(r.filters, filter{f[1], f[2], f[3]})
		}
	})
	var p *published
	var system string
	packed.ForLines(expansionData, func(f []string) {
		switch f[0] {
		case "E":
			p = &published{Precomputed: Precomputed{Source: expansionSource, Identifier: f[2], Timestamp: f[3]}}
			if vs := coreSets[f[1]]; vs != nil {
				vs.published = p
			}
		case "s":
			system = f[1]
		case "e":
			p.codes = append(p.codes, Contains{System: system, Code: f[1], Display: f[2]})
		}
	})
}

// The JSON shapes Add reads.
type jsonConcept struct {
	Code       string         `json:"code"`
	Display    string         `json:"display"`
	Definition string         `json:"definition"`
	Property   []jsonProperty `json:"property"`
	Concept    []jsonConcept  `json:"concept"`
}

type jsonProperty struct {
	Code          string                 `json:"code"`
	ValueCode     *string                `json:"valueCode"`
	ValueString   *string                `json:"valueString"`
	ValueBoolean  *bool                  `json:"valueBoolean"`
	ValueDateTime *string                `json:"valueDateTime"`
	ValueInteger  *int64                 `json:"valueInteger"`
	ValueDecimal  json.Number            `json:"valueDecimal"`
	ValueCoding   *struct{ Code string } `json:"valueCoding"`
}

type jsonInclude struct {
	System   string   `json:"system"`
	Version  string   `json:"version"`
	ValueSet []string `json:"valueSet"`
	Concept  []struct {
		Code    string `json:"code"`
		Display string `json:"display"`
	} `json:"concept"`
	Filter []struct {
		Property string `json:"property"`
		Op       string `json:"op"`
		Value    string `json:"value"`
	} `json:"filter"`
}

type jsonContains struct {
	System   string         `json:"system"`
	Version  string         `json:"version"`
	Code     string         `json:"code"`
	Display  string         `json:"display"`
	Abstract bool           `json:"abstract"`
	Inactive bool           `json:"inactive"`
	Contains []jsonContains `json:"contains"`
}

type jsonResource struct {
	ResourceType     string        `json:"resourceType"`
	URL              string        `json:"url"`
	Version          string        `json:"version"`
	Name             string        `json:"name"`
	Content          string        `json:"content"`
	HierarchyMeaning string        `json:"hierarchyMeaning"`
	CaseSensitive    *bool         `json:"caseSensitive"`
	Concept          []jsonConcept `json:"concept"`
	ValueSet         string        `json:"valueSet"`
	Compose          *struct {
		Include []jsonInclude `json:"include"`
		Exclude []jsonInclude `json:"exclude"`
	} `json:"compose"`
	Expansion *struct {
		Contains []jsonContains `json:"contains"`
	} `json:"expansion"`
}

func (p jsonProperty) value() (typ, val string) {
	switch {
	case p.ValueCode != nil:
		return "code", *p.ValueCode
	case p.ValueString != nil:
		return "string", *p.ValueString
	case p.ValueBoolean != nil:
		return "boolean", strconv.FormatBool(*p.ValueBoolean)
	case p.ValueDateTime != nil:
		return "dateTime", *p.ValueDateTime
	case p.ValueInteger != nil:
		return "integer", strconv.FormatInt(*p.ValueInteger, 10)
	case p.ValueDecimal != "":
		return "decimal", string(p.ValueDecimal)
	case p.ValueCoding != nil:
		return "coding", p.ValueCoding.Code
	}
	return "", ""
}

// Add registers a CodeSystem or ValueSet resource given as FHIR JSON,
// replacing any registered one with the same url, as when a server
// stores one. A CodeSystem whose content is not complete is registered
// but its codes are not enumerable (value sets that need them fail with
// ErrUnknownSystem). A ValueSet is expanded from its compose or, when it
// has none, taken from its expansion. Add validates only what it needs:
// the resource type and a url.
func (r *Registry) Add(resourceJSON []byte) error {
	var res jsonResource
	if err := json.Unmarshal(resourceJSON, &res); err != nil {
		return fmt.Errorf("terminology: %w", err)
	}
	if res.URL == "" {
		return errors.New("terminology: the resource has no url")
	}
	switch res.ResourceType {
	case "CodeSystem":
		cs := &codeSystem{url: res.URL, version: res.Version, name: res.Name, content: res.Content,
			hierarchy: res.HierarchyMeaning, caseSensitive: res.CaseSensitive == nil || *res.CaseSensitive}
		var parentOf []int
		var walk func([]jsonConcept, int)
		walk = func(cs2 []jsonConcept, parent int) {
			for _, c := range cs2 {
				k := concept{code: c.Code, display: c.Display, definition: c.Definition}
				for _, p := range c.Property {
					t, v := p.value()
					k.props = append(k.props, Property{Code: p.Code, Type: t, Value: v})
				}
				i := len(cs.concepts)
				cs.concepts = append(cs.concepts, k)
				parentOf = append(parentOf, parent)
				walk(c.Concept, i)
			}
		}
		walk(res.Concept, -1)
		cs.link(parentOf)
		r.mu.Lock()
		r.systems[cs.url] = cs
		// CodeSystem.valueSet names the value set of all its codes
		// (R4 codesystem.html#4.8.2); it exists implicitly unless one
		// is registered.
		if vs, _ := splitCanonical(res.ValueSet); vs != "" && r.sets[vs] == nil {
			r.sets[vs] = &valueSet{url: vs, version: res.Version, name: res.Name, include: []rule{{system: cs.url}}}
		}
		r.cacheMu.Lock()
		clear(r.cache)
		r.cacheMu.Unlock()
		r.mu.Unlock()
	case "ValueSet":
		vs := &valueSet{url: res.URL, version: res.Version, name: res.Name}
		conv := func(incs []jsonInclude) []rule {
			var out []rule
			for _, in := range incs {
				ru := rule{system: in.System, version: in.Version, valueSets: in.ValueSet}
				for _, c := range in.Concept {
					ru.concepts = append(ru.concepts, Contains{System: in.System, Version: in.Version, Code: c.Code, Display: c.Display})
				}
				for _, f := range in.Filter {
					ru.filters = append(ru.filters, filter{f.Property, f.Op, f.Value})
				}
				out = append(out, ru)
			}
			return out
		}
		switch {
		case res.Compose != nil:
			vs.include, vs.exclude = conv(res.Compose.Include), conv(res.Compose.Exclude)
		case res.Expansion != nil:
			var walk func([]jsonContains)
			walk = func(cs []jsonContains) {
				for _, c := range cs {
					if c.Code != "" {
						vs.expansion = append(vs.expansion, Contains{c.System, c.Version, c.Code, c.Display, c.Abstract, c.Inactive})
					}
					walk(c.Contains)
				}
			}
			walk(res.Expansion.Contains)
		default:
			return fmt.Errorf("terminology: ValueSet %s has neither compose nor expansion", res.URL)
		}
		r.mu.Lock()
		r.sets[vs.url] = vs
		r.cacheMu.Lock()
		clear(r.cache)
		r.cacheMu.Unlock()
		r.mu.Unlock()
	default:
		return fmt.Errorf("terminology: cannot register %s; only CodeSystem and ValueSet", fhir.A(res.ResourceType))
	}
	return nil
}

// Remove forgets the CodeSystem or ValueSet with the url, as when a
// server deletes one; the core tables of the registry are restored in
// its place. Expansions are recomputed on next use.
func (r *Registry) Remove(url string) {
	url, _ = splitCanonical(url)
	coreOnce.Do(loadCore)
	r.mu.Lock()
	defer r.mu.Unlock()
	if cs, ok := coreSystems[url]; ok {
		r.systems[url] = cs
	} else {
		delete(r.systems, url)
	}
	if vs, ok := coreSets[url]; ok {
		r.sets[url] = vs
	} else {
		delete(r.sets, url)
	}
	r.cacheMu.Lock()
	clear(r.cache)
	r.cacheMu.Unlock()
}
