package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir/packed"
	"github.com/nhs-junction/junction/internal/fhirpkg"
)

// publishedLimit is the number of codes per include at which the R4
// publication cut the expansions it asked the terminology server for
// (the request carried limitedExpansion; observation-codes, ucum-units
// and c80-doc-typecodes stop at exactly 1000 codes, encounter-reason at
// 4000 for four includes). An expansion made with limitedExpansion that
// has this many codes or more may therefore be truncated, whatever its
// total says, and is not carried. The limit also bounds the tables: each
// carried expansion has fewer than 1000 codes, and all of them together
// (25 value sets, 4,984 codes) add about 175 KB to zz_generated.go.
const publishedLimit = 1000

// knownIncomplete lists published expansions that pass the checks of
// complete but are known to lack codes, with the evidence. They are not
// carried.
var knownIncomplete = map[string]string{
	// ISO 4217 added VES (bolívar soberano) in August 2018; the
	// expansion lacks it. Money.currency binds this value set with
	// required strength, so a stale list would refuse valid writes.
	"http://hl7.org/fhir/ValueSet/currencies": "lacks VES",
}

// expansionVS is a ValueSet of the expansions package.
type expansionVS struct {
	URL       string `json:"url"`
	Expansion *struct {
		Identifier string `json:"identifier"`
		Timestamp  string `json:"timestamp"`
		Total      *int   `json:"total"`
		Parameter  []struct {
			Name string `json:"name"`
		} `json:"parameter"`
		Extension []struct {
			URL string `json:"url"`
		} `json:"extension"`
		Contains []expansionCode `json:"contains"`
	} `json:"expansion"`
}

type expansionCode struct {
	System   string          `json:"system"`
	Code     string          `json:"code"`
	Display  string          `json:"display"`
	Contains []expansionCode `json:"contains"`
}

// codes returns the codes of the expansion in document order, flattening
// any nesting.
func (v expansionVS) codes() []expansionCode {
	var out []expansionCode
	var walk func([]expansionCode)
	walk = func(cs []expansionCode) {
		for _, c := range cs {
			if c.Code != "" {
				out = append(out, c)
			}
			walk(c.Contains)
		}
	}
	walk(v.Expansion.Contains)
	return out
}

// complete reports whether the published expansion lists every code of
// the value set, or why not. Missing out on a complete expansion only
// keeps a value set unexpandable; carrying a truncated one would make
// $validate-code and :not-in give wrong answers, so any doubt excludes it.
func (v expansionVS) complete() (bool, string) {
	e := v.Expansion
	if e == nil {
		return false, "no expansion"
	}
	if why, ok := knownIncomplete[v.URL]; ok {
		return false, why
	}
	for _, x := range e.Extension {
		// valueset-unclosed is no reason to doubt the list: it marks
		// SNOMED CT hierarchies, whose post-coordinated expressions no
		// list holds, and is set on some of them and not on others.
		// The terminology server marks an expansion it cut short.
		if x.URL == "http://hl7.org/fhir/StructureDefinition/valueset-toocostly" {
			return false, "marked too costly"
		}
	}
	n := len(v.codes())
	if n == 0 {
		// action-participant-role and care-team-category have empty
		// expansions although their definitions select codes.
		return false, "empty"
	}
	if e.Total != nil && *e.Total != n {
		return false, fmt.Sprintf("total %d but %d codes", *e.Total, n)
	}
	limited := e.Total == nil
	for _, p := range e.Parameter {
		if p.Name == "limitedExpansion" {
			limited = true
		}
	}
	if limited && n >= publishedLimit {
		return false, fmt.Sprintf("%d codes from a limited expansion", n)
	}
	return true, ""
}

// carried chooses the published expansions the tables carry: complete
// ones of the value sets of the examples package that the engine cannot
// expand from the definitions the tables hold. (The one value set of the
// expansions package that the examples package lacks, DICOM CID 29, is
// left out with it.) It mirrors Registry.expand:
// an include or exclude needs a code system's content unless it lists its
// concepts, and only complete code systems have content.
type carried struct {
	held map[string]bool         // complete code systems
	sets map[string]valueSet     // value sets of the examples package
	exp  map[string]expansionVS  // published expansions
	memo map[string]*carriedMemo // by value set url
}

type carriedMemo struct{ computable, carry bool }

func newCarried(css []codeSystem, vss []valueSet, exps []expansionVS) *carried {
	c := &carried{held: map[string]bool{}, sets: map[string]valueSet{}, exp: map[string]expansionVS{}, memo: map[string]*carriedMemo{}}
	for _, s := range css {
		if s.Content == "complete" {
			c.held[s.URL] = true
		}
	}
	for _, v := range vss {
		c.sets[v.URL] = v
	}
	for _, e := range exps {
		c.exp[e.URL] = e
	}
	return c
}

// computable reports whether the engine expands the value set with the
// url, using the carried expansions of the value sets it imports.
func (c *carried) computable(url string) bool {
	if m := c.memo[url]; m != nil {
		return m.computable
	}
	v, ok := c.sets[url]
	if !ok {
		return false
	}
	// A value set that imports itself fails in the engine; the guard
	// entry gives that answer here too.
	m := &carriedMemo{}
	c.memo[url] = m
	ok = true
	for _, in := range append(append([]include(nil), v.Compose.Include...), v.Compose.Exclude...) {
		if in.System != "" && len(in.Concept) == 0 && !c.held[splitVersion(in.System)] {
			ok = false
		}
		for _, u := range in.ValueSet {
			if u = splitVersion(u); !c.computable(u) && !c.carry(u) {
				ok = false
			}
		}
	}
	m.computable = ok
	if e, found := c.exp[url]; !ok && found {
		m.carry, _ = e.complete()
	}
	return ok
}

// carry reports whether the tables carry the published expansion of the
// value set with the url.
func (c *carried) carry(url string) bool {
	c.computable(url)
	m := c.memo[url]
	return m != nil && m.carry
}

func splitVersion(canonical string) string {
	url, _, _ := strings.Cut(canonical, "|")
	return url
}

// expansionLines renders the carried expansions, by value set url, as
//
//	E url identifier timestamp
//	s system
//	e code display
//
// where the e lines are the codes of the expansion in its order and
// belong to the s line before them.
func (c *carried) expansionLines() []string {
	var urls []string
	for u := range c.sets {
		if c.carry(u) {
			urls = append(urls, u)
		}
	}
	sort.Strings(urls)
	var out []string
	for _, u := range urls {
		e := c.exp[u]
		out = append(out, packed.Line("E", u, e.Expansion.Identifier, e.Expansion.Timestamp))
		system := "\x00"
		for _, code := range e.codes() {
			if code.System != system {
				system = code.System
				out = append(out, packed.Line("s", system))
			}
			out = append(out, packed.Line("e", code.Code, code.Display))
		}
	}
	return out
}

// readExpansions reads the ValueSets of the expansions package. The
// package also holds a copy of nearly all of them under names without
// the .json suffix, from another build run a week later with the same
// codes; only the .json files are read.
func readExpansions(dir string) ([]expansionVS, error) {
	return fhirpkg.ReadAll[expansionVS](dir, "ValueSet-*.json")
}
