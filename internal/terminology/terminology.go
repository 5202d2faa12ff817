// Package terminology answers the terminology questions of a FHIR R4
// server from the code systems and value sets it holds: the complete
// CodeSystems and the ValueSets of the core specification (generated from
// the official package by ./gen), plus those a server registers at run
// time with (*Registry).Add.
//
// It implements the logic behind CodeSystem $lookup and $subsumes,
// ValueSet $expand and $validate-code (R4 terminology-service.html) and
// the :in, :not-in, :above and :below token search modifiers. Large
// external terminologies such as SNOMED CT, LOINC and dm+d are not part
// of the core package. A core value set that needs one of them is
// answered from the expansion the specification published for it
// (package hl7.fhir.r4.expansions), when that expansion is complete;
// otherwise it cannot be expanded, and the error says so
// (ErrExternalSystem).
package terminology

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Sentinel errors. Callers test them with errors.Is; the returned errors
// carry the URL concerned in their text.
var (
	// ErrUnknownValueSet means no value set with the URL is registered.
	// $expand and $validate-code answer it with 404 Not Found.
	ErrUnknownValueSet = errors.New("terminology: unknown value set")
	// ErrUnavailable means a value set's codes depend on content the
	// registry does not hold: a code system (ErrUnknownSystem) or an
	// imported value set. Its codes cannot be enumerated or checked; a
	// validator reports them as not checked, never as wrong.
	ErrUnavailable = errors.New("terminology: content not available")
	// ErrUnknownSystem wraps ErrUnavailable for a code system that is not
	// registered, or is registered without its content
	// (CodeSystem.content other than complete).
	ErrUnknownSystem = fmt.Errorf("%w: code system", ErrUnavailable)
	// ErrExternalSystem wraps ErrUnknownSystem for the large external
	// terminologies (SNOMED CT, LOINC, UCUM, dm+d ...) that the core
	// package references but does not contain.
	ErrExternalSystem = fmt.Errorf("%w: external terminology not loaded", ErrUnknownSystem)
	// ErrUnsupportedFilter means a value set uses a filter operator or
	// property this package does not implement.
	ErrUnsupportedFilter = errors.New("terminology: unsupported value set filter")
	// ErrTooCostly means an expansion would exceed MaxExpansion codes.
	ErrTooCostly = errors.New("terminology: expansion too large")
)

// MaxExpansion bounds the size of an expansion, so a value set that
// includes a whole large code system registered at run time cannot
// exhaust memory.
const MaxExpansion = 100_000

// external names the code systems of R4 terminologies.html ("External
// code systems") that this package cannot hold.
var external = map[string]string{
	"http://snomed.info/sct":                         "SNOMED CT",
	"http://loinc.org":                               "LOINC",
	"http://unitsofmeasure.org":                      "UCUM",
	"http://www.nlm.nih.gov/research/umls/rxnorm":    "RxNorm",
	"https://dmd.nhs.uk":                             "dm+d",
	"http://hl7.org/fhir/sid/icd-10":                 "ICD-10",
	"http://hl7.org/fhir/sid/icd-9-cm":               "ICD-9-CM",
	"http://hl7.org/fhir/sid/icd-10-cm":              "ICD-10-CM",
	"http://hl7.org/fhir/sid/cvx":                    "CVX",
	"http://hl7.org/fhir/sid/ndc":                    "NDC",
	"urn:ietf:bcp:47":                                "BCP 47 language tags",
	"urn:ietf:bcp:13":                                "MIME types (BCP 13)",
	"urn:iso:std:iso:3166":                           "ISO 3166 country codes",
	"urn:iso:std:iso:4217":                           "ISO 4217 currencies",
	"urn:iso:std:iso:11073:10101":                    "ISO/IEEE 11073",
	"http://www.ama-assn.org/go/cpt":                 "CPT",
	"http://unstats.un.org/unsd/methods/m49/m49.htm": "UN M49",
	"http://www.whocc.no/atc":                        "ATC",
	"http://hl7.org/fhir/sid/us-npi":                 "US NPI",
	"urn:oid:1.2.36.1.2001.1005.17":                  "Australian codes",
}

// ExternalSystem is a code system the core package refers to but does
// not contain, such as SNOMED CT; see ExternalSystems.
type ExternalSystem struct{ URL, Name string }

// ExternalSystems lists the well-known external code systems whose codes
// this package cannot check, sorted by URL, for a CapabilityStatement to
// say so. Value sets that need them fail with ErrExternalSystem, unless
// the core tables carry their published expansion (Precomputed).
func ExternalSystems() []ExternalSystem {
	out := make([]ExternalSystem, 0, len(external))
	for u, n := range external {
		out = append(out, ExternalSystem{u, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URL < out[j].URL })
	return out
}

// Property is one property of a concept, as in CodeSystem.concept.property
// (for example status, notSelectable, deprecationDate). Value is the text
// of its value; Type is the value's type ("code", "boolean", "dateTime",
// "string", "integer", "decimal" or "coding").
type Property struct {
	Code, Type, Value string
}

// Concept is a code of a code system, as $lookup reports it.
type Concept struct {
	System, Version, Code, Display, Definition string
	Properties                                 []Property
	// Parents and Children are the codes directly above and below this
	// one in the is-a hierarchy of the code system.
	Parents, Children []string
}

// Contains is one code of an expansion (ValueSet.expansion.contains).
type Contains struct {
	System, Version, Code, Display string
	// Abstract is set for codes marked notSelectable in their code
	// system: they group other codes and should not be used in data.
	Abstract bool
	// Inactive is set for codes whose status property is retired or
	// whose inactive property is true (R4 concept-properties).
	Inactive bool
}

// Expansion is the result of $expand: the codes of one page and the
// total number of codes matching the filter.
type Expansion struct {
	URL, Version string
	Total        int
	Offset       int
	Contains     []Contains
	// Precomputed is set when the codes are not computed from the value
	// set's definition but taken from the expansion the R4 specification
	// published for it (see Precomputed).
	Precomputed *Precomputed
}

// Precomputed describes an expansion published with the R4
// specification (package hl7.fhir.r4.expansions 4.0.1). The core tables
// carry these for the value sets whose codes come from code systems the
// registry does not hold, such as SNOMED CT or CVX, and whose published
// expansion is complete: about 5,000 codes in 25 value sets.
// Their codes are those of the terminology editions the publication used
// in 2019; codes added since, and SNOMED CT post-coordinated
// expressions, are not in them.
type Precomputed struct {
	// Source names the package, as "hl7.fhir.r4.expansions#4.0.1".
	Source string
	// Identifier and Timestamp are expansion.identifier and
	// expansion.timestamp of the published expansion.
	Identifier, Timestamp string
}

// Result is the answer of $validate-code.
type Result struct {
	// Valid reports whether the code is in the value set and, when a
	// display was given, whether it is the display of the code.
	Valid bool
	// Display is the code system's display of the code, when known.
	Display string
	// Message explains a false Valid.
	Message string
}

// Subsumption outcomes of $subsumes (R4 codesystem-operation-subsumes).
const (
	Equivalent  = "equivalent"
	Subsumes    = "subsumes"
	SubsumedBy  = "subsumed-by"
	NotSubsumed = "not-subsumed"
)

// Registry holds code systems and value sets. A Registry from New starts
// with the core tables; Add registers more. It is safe for concurrent
// use.
type Registry struct {
	mu      sync.RWMutex
	systems map[string]*codeSystem
	sets    map[string]*valueSet
	// cache holds complete (unfiltered) expansions by value set URL. It
	// has its own lock because readers fill it while holding mu for
	// reading; Add clears it, since a new resource may change any
	// expansion.
	cacheMu sync.Mutex
	cache   map[string]*expanded
}

var (
	defaultOnce sync.Once
	defaultReg  *Registry
)

// Default returns the registry of the core package, built on first use
// and shared. Callers that register their own resources should use New
// instead, so as not to change the answers of other users of Default.
func Default() *Registry {
	defaultOnce.Do(func() { defaultReg = New() })
	return defaultReg
}

// New returns a registry holding the core code systems and value sets.
func New() *Registry {
	coreOnce.Do(loadCore)
	r := &Registry{
		systems: make(map[string]*codeSystem, len(coreSystems)),
		sets:    make(map[string]*valueSet, len(coreSets)),
		cache:   map[string]*expanded{},
	}
	for k, v := range coreSystems {
		r.systems[k] = v
	}
	for k, v := range coreSets {
		r.sets[k] = v
	}
	return r
}

// Lookup finds a code in the Default registry; see (*Registry).Lookup.
func Lookup(system, code string) (Concept, bool) { return Default().Lookup(system, code) }

// Expand expands a value set of the Default registry; see
// (*Registry).Expand.
func Expand(valueSetURL, filter string, offset, count int) (Expansion, error) {
	return Default().Expand(valueSetURL, filter, offset, count)
}

// ValidateCode checks a code against a value set of the Default registry;
// see (*Registry).ValidateCode.
func ValidateCode(valueSetURL, system, code, display string) (Result, error) {
	return Default().ValidateCode(valueSetURL, system, code, display)
}

// splitCanonical separates "url|version".
func splitCanonical(s string) (url, version string) {
	url, version, _ = strings.Cut(s, "|")
	return url, version
}

// system returns the code system with the url, or an error wrapping
// ErrUnknownSystem when it is absent or not complete.
func (r *Registry) system(url string) (*codeSystem, error) {
	url, _ = splitCanonical(url)
	cs := r.systems[url]
	if cs != nil && cs.content == "complete" {
		return cs, nil
	}
	if name, ok := external[url]; ok {
		return nil, fmt.Errorf("%w: %s (%s)", ErrExternalSystem, url, name)
	}
	if cs != nil {
		return nil, fmt.Errorf("%w: %s has content %q", ErrUnknownSystem, url, cs.content)
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownSystem, url)
}

// Lookup returns the concept with the code in the code system with the
// URL (a version suffix "|v" is ignored), for CodeSystem $lookup. It
// reports false when the system or the code is unknown. Unlike the other
// methods it also answers from code systems whose content is a fragment
// or an example.
func (r *Registry) Lookup(system, code string) (Concept, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	// A fragment or example code system cannot answer for codes it
	// lacks, but the codes it has are real: $lookup may report them.
	url, _ := splitCanonical(system)
	cs := r.systems[url]
	if cs == nil {
		return Concept{}, false
	}
	i, ok := cs.index(code)
	if !ok {
		return Concept{}, false
	}
	c := &cs.concepts[i]
	out := Concept{System: cs.url, Version: cs.version, Code: c.code, Display: c.display, Definition: c.definition, Properties: c.props}
	for _, p := range cs.parents[i] {
		out.Parents = append(out.Parents, cs.concepts[p].code)
	}
	for _, ch := range cs.children[i] {
		out.Children = append(out.Children, cs.concepts[ch].code)
	}
	return out, true
}

// Subsumes reports how code a relates to code b in the is-a hierarchy of
// the system: Equivalent, Subsumes (a is an ancestor of b), SubsumedBy
// (a is a descendant of b) or NotSubsumed, as CodeSystem $subsumes. It
// fails when the system is unavailable or a code is not in it.
func (r *Registry) Subsumes(system, a, b string) (string, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	cs, err := r.system(system)
	if err != nil {
		return "", err
	}
	ia, ok := cs.index(a)
	if !ok {
		return "", fmt.Errorf("terminology: code %q is not in %s", a, cs.url)
	}
	ib, ok := cs.index(b)
	if !ok {
		return "", fmt.Errorf("terminology: code %q is not in %s", b, cs.url)
	}
	switch {
	case ia == ib:
		return Equivalent, nil
	case cs.below(ia)[ib]:
		return Subsumes, nil
	case cs.below(ib)[ia]:
		return SubsumedBy, nil
	}
	return NotSubsumed, nil
}

// Descendants returns the codes below code in the is-a hierarchy of the
// system, not including code itself, in code system order: the codes that
// the :below modifier adds to code. Ancestors is its converse, for :above.
func (r *Registry) Descendants(system, code string) ([]string, error) {
	return r.related(system, code, (*codeSystem).below)
}

// Ancestors returns the codes above code in the is-a hierarchy of the
// system, not including code itself, in code system order.
func (r *Registry) Ancestors(system, code string) ([]string, error) {
	return r.related(system, code, (*codeSystem).above)
}

func (r *Registry) related(system, code string, f func(*codeSystem, int) map[int]bool) ([]string, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	cs, err := r.system(system)
	if err != nil {
		return nil, err
	}
	i, ok := cs.index(code)
	if !ok {
		return nil, fmt.Errorf("terminology: code %q is not in %s", code, cs.url)
	}
	set := f(cs, i)
	var out []string
	for j := range cs.concepts {
		if set[j] {
			out = append(out, cs.concepts[j].code)
		}
	}
	return out, nil
}

// HasValueSet reports whether a value set with the URL is registered.
func (r *Registry) HasValueSet(url string) bool {
	url, _ = splitCanonical(url)
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.sets[url] != nil
}
