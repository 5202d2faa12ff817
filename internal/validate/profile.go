package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/nhs-junction/junction/internal/fhir/spec"
)

// Profiles is a set of profiles: StructureDefinitions that constrain a
// resource type (derivation constraint, R4 profiling.html). Validate
// checks a resource against each profile it claims in meta.profile, and
// against Options.Profile. It is safe for concurrent use.
//
// A profile is read from its differential (or, without one, its
// snapshot) on top of the profile it derives from, so publications that
// ship only differentials, as UK Core does, can be loaded. Checked are:
// tightened cardinality (min and max), fixed[x] and pattern[x] values,
// required bindings, Reference target types, the types allowed for a
// choice element, the profile's own invariants, and slices whose
// discriminators are of type value or pattern (including the implicit
// url discriminator of extension slices), and closed slicing. Slices
// discriminated by type, profile or exists are not checked, and say so
// in an information issue. Not checked either: mustSupport, maxLength,
// minValue and maxValue, and constraints that a profile states only in
// its snapshot when it also has a differential.
type Profiles struct {
	mu    sync.RWMutex
	byURL map[string]*Profile
}

// NewProfiles returns an empty set of profiles.
func NewProfiles() *Profiles { return &Profiles{byURL: map[string]*Profile{}} }

// Profile is a loaded profile.
type Profile struct {
	URL, Name string
	// Type is the resource or data type the profile constrains; Base the
	// url of the StructureDefinition it derives from.
	Type, Base string
	rules      []*elemRule
	byID       map[string]*elemRule
}

// elemRule is one ElementDefinition of a profile, reduced to what is
// checked.
type elemRule struct {
	id       string
	segs     []segment
	min      *int
	max      string
	fixed    any // fixed[x]
	pattern  any // pattern[x]
	binding  string
	targets  []string // targetProfile urls of a Reference type
	typeProf []string // profile urls of the type (an extension slice's definition)
	slicing  []discriminator
	closed   bool     // slicing.rules is closed: every item is in a slice
	types    []string // type codes, which restrict a choice element
	// constraints are the invariants the profile adds to the element.
	constraints []spec.Constraint
}

type segment struct{ name, slice string }

type discriminator struct{ typ, path string }

// ErrNotProfile is returned by Load for a StructureDefinition that is
// not a constraint on a type, such as a base resource definition or a
// logical model; there is nothing to load.
var ErrNotProfile = errors.New("validate: not a profile (StructureDefinition.derivation is not constraint)")

type sdDoc struct {
	ResourceType   string `json:"resourceType"`
	URL            string `json:"url"`
	Name           string `json:"name"`
	Type           string `json:"type"`
	BaseDefinition string `json:"baseDefinition"`
	Derivation     string `json:"derivation"`
	Differential   *struct {
		Element []map[string]any `json:"element"`
	} `json:"differential"`
	Snapshot *struct {
		Element []map[string]any `json:"element"`
	} `json:"snapshot"`
}

// Load adds the StructureDefinition in sdJSON, replacing a profile with
// the same url. It fails with ErrNotProfile for a definition that is not
// a constraint, and with an error for JSON that is not a
// StructureDefinition with a url, type and elements.
func (p *Profiles) Load(sdJSON []byte) error {
	var sd sdDoc
	if err := json.Unmarshal(sdJSON, &sd); err != nil {
		return fmt.Errorf("validate: profile: %w", err)
	}
	if sd.ResourceType != "StructureDefinition" || sd.URL == "" || sd.Type == "" {
		return errors.New("validate: profile: not a StructureDefinition with a url and a type")
	}
	if sd.Derivation != "constraint" {
		return ErrNotProfile
	}
	var els []map[string]any
	switch {
	case sd.Differential != nil:
		els = sd.Differential.Element
	case sd.Snapshot != nil:
		els = sd.Snapshot.Element
	default:
		return fmt.Errorf("validate: profile %s has neither differential nor snapshot", sd.URL)
	}
	pr := &Profile{URL: sd.URL, Name: sd.Name, Type: sd.Type, Base: sd.BaseDefinition, byID: map[string]*elemRule{}}
	for _, e := range els {
		r, err := parseRule(e, sd.Type)
		if err != nil {
			return fmt.Errorf("validate: profile %s: %w", sd.URL, err)
		}
		if r == nil {
			continue
		}
		pr.rules = append(pr.rules, r)
		pr.byID[r.id] = r
	}
	p.mu.Lock()
	p.byURL[pr.URL] = pr
	p.mu.Unlock()
	return nil
}

// Profile returns the profile with the url (a "|version" suffix is
// ignored).
func (p *Profiles) Profile(url string) (*Profile, bool) {
	url, _, _ = strings.Cut(url, "|")
	p.mu.RLock()
	defer p.mu.RUnlock()
	pr, ok := p.byURL[url]
	return pr, ok
}

// Remove forgets the profile with the url, as when a server deletes it.
func (p *Profiles) Remove(url string) {
	url, _, _ = strings.Cut(url, "|")
	p.mu.Lock()
	delete(p.byURL, url)
	p.mu.Unlock()
}

// URLs returns the urls of the loaded profiles, sorted.
func (p *Profiles) URLs() []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]string, 0, len(p.byURL))
	for u := range p.byURL {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

func parseRule(e map[string]any, typ string) (*elemRule, error) {
	id, _ := e["id"].(string)
	if id == "" {
		id, _ = e["path"].(string)
	}
	head, rest, _ := strings.Cut(id, ".")
	if head != typ && !strings.HasPrefix(head, typ+":") {
		return nil, fmt.Errorf("element %s is not in %s", id, typ)
	}
	r := &elemRule{id: id}
	if rest != "" {
		for _, s := range strings.Split(rest, ".") {
			name, slice, _ := strings.Cut(s, ":")
			r.segs = append(r.segs, segment{name, slice})
		}
	}
	if m, ok := e["min"].(float64); ok {
		n := int(m)
		r.min = &n
	}
	r.max, _ = e["max"].(string)
	for k, v := range e {
		switch {
		case strings.HasPrefix(k, "fixed"):
			r.fixed = v
		case strings.HasPrefix(k, "pattern"):
			r.pattern = v
		}
	}
	if b, ok := e["binding"].(map[string]any); ok {
		if s, _ := b["strength"].(string); s == "required" {
			r.binding, _ = b["valueSet"].(string)
		}
	}
	types, _ := e["type"].([]any)
	for _, t := range types {
		tm, _ := t.(map[string]any)
		for _, u := range strs(tm["targetProfile"]) {
			r.targets = append(r.targets, u)
		}
		r.typeProf = append(r.typeProf, strs(tm["profile"])...)
		if code, _ := tm["code"].(string); code != "" {
			r.types = append(r.types, code)
		}
	}
	cs, _ := e["constraint"].([]any)
	for _, c := range cs {
		cm, _ := c.(map[string]any)
		k := spec.Constraint{Path: id}
		k.Key, _ = cm["key"].(string)
		k.Severity, _ = cm["severity"].(string)
		k.Expression, _ = cm["expression"].(string)
		k.Human, _ = cm["human"].(string)
		if k.Key != "" && k.Expression != "" {
			r.constraints = append(r.constraints, k)
		}
	}
	if sl, ok := e["slicing"].(map[string]any); ok {
		r.closed = sl["rules"] == "closed"
		ds, _ := sl["discriminator"].([]any)
		for _, d := range ds {
			dm, _ := d.(map[string]any)
			t, _ := dm["type"].(string)
			p, _ := dm["path"].(string)
			r.slicing = append(r.slicing, discriminator{t, p})
		}
	}
	return r, nil
}

func strs(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
