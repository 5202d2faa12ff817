package validate

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhir/spec"
)

const coreSDPrefix = "http://hl7.org/fhir/StructureDefinition/"

// node is a value in the instance with its FHIRPath location. ext marks
// the "_name" object of a primitive that has only extensions: it counts
// for cardinality but has no value to check.
type node struct {
	v    any
	path string
	ext  bool
	// typ is the FHIR type of v (a type name or backbone path), or ""
	// when the definitions do not say.
	typ string
}

// profiles checks the resource found at path against the profiles it
// claims and, at the top level, Options.Profile.
func (s *semantic) profiles(res map[string]any, rt, path string) {
	var urls []string
	if meta, ok := res["meta"].(map[string]any); ok {
		urls = strs(meta["profile"])
	}
	if s.opts.Profile != "" && path == rt {
		urls = append(urls, s.opts.Profile)
	}
	seen := map[string]bool{}
	for _, u := range urls {
		u, _, _ = strings.Cut(u, "|")
		if seen[u] {
			continue
		}
		seen[u] = true
		pr, ok := s.opts.Profiles.Profile(u)
		if !ok && u == s.opts.Profile && !strings.HasPrefix(u, coreSDPrefix) {
			// Asked for by the caller, as $validate's profile parameter:
			// not knowing it is the caller's error, not the resource's.
			s.c.errorf(fhir.IssueNotFound, "", "profile %s is not loaded", u)
			continue
		}
		if !ok {
			if !strings.HasPrefix(u, coreSDPrefix) {
				s.note(fhir.SeverityWarning, fhir.IssueNotSupported, path+".meta.profile", "profile %s is not loaded, so the resource was not checked against it", u)
			}
			continue
		}
		if pr.Type != rt {
			s.c.errorf(fhir.IssueInvalid, path, "profile %s constrains %s, not %s", u, pr.Type, rt)
			continue
		}
		s.applyProfile(pr, res, path, res, 0)
	}
}

// extensionProfile checks an extension against the loaded definition of
// its url, if any: an extension definition is a profile on Extension
// (R4 extensibility.html#Extension).
func (s *semantic) extensionProfile(ext map[string]any, path string, f *frame) {
	url, _ := ext["url"].(string)
	if s.opts.Profiles == nil || url == "" {
		return
	}
	if pr, ok := s.opts.Profiles.Profile(url); ok && pr.Type == "Extension" {
		s.applyProfile(pr, ext, path, f.res, 0)
	}
}

// applyProfile checks v, found at path in the resource res, against pr
// and the profiles it derives from.
func (s *semantic) applyProfile(pr *Profile, v map[string]any, path string, res map[string]any, depth int) {
	if depth > 16 {
		return
	}
	f := &frame{res: res, root: res}
	if base, ok := s.opts.Profiles.Profile(pr.Base); ok {
		s.applyProfile(base, v, path, res, depth+1)
	} else if !strings.HasPrefix(pr.Base, coreSDPrefix) {
		s.info("base|"+pr.Base, fhir.IssueNotSupported, path, "profile %s derives from %s, which is not loaded, so its rules were not checked", pr.URL, pr.Base)
	}
	root := []node{{v: v, path: path, typ: pr.Type}}
	for _, r := range pr.rules {
		if len(r.segs) == 0 {
			s.profileInvariants(pr, r, root[0], pr.Type, f)
			continue
		}
		parents, ok := s.walk(pr, root, r.segs[:len(r.segs)-1])
		if !ok {
			continue
		}
		last := r.segs[len(r.segs)-1]
		var all []node
		for _, p := range parents {
			kids, ok := s.step(pr, r.segs, len(r.segs)-1, p)
			if !ok {
				all = nil
				break
			}
			s.cardinality(pr, r, last, p, kids)
			all = append(all, kids...)
		}
		if r.closed && last.slice == "" {
			s.closedSlicing(pr, r, all)
		}
		for _, n := range all {
			if n.ext {
				continue
			}
			s.values(pr, r, n)
			s.choiceType(pr, r, last, n)
			s.profileInvariants(pr, r, n, n.typ, f)
		}
	}
}

// walk returns the nodes at segs below the roots, and false when a slice
// on the way cannot be told apart.
func (s *semantic) walk(pr *Profile, roots []node, segs []segment) ([]node, bool) {
	cur := roots
	for i := range segs {
		var next []node
		for _, n := range cur {
			kids, ok := s.step(pr, segs, i, n)
			if !ok {
				return nil, false
			}
			next = append(next, kids...)
		}
		cur = next
	}
	return cur, true
}

// step returns the children of n named by segs[i], keeping only those of
// its slice when it names one.
func (s *semantic) step(pr *Profile, segs []segment, i int, n node) ([]node, bool) {
	m, ok := n.v.(map[string]any)
	if !ok {
		return nil, true
	}
	sg := segs[i]
	var out []node
	add := func(key string, v any) {
		// A primitive with only extensions is present through its
		// "_name" member alone (R4 json.html#primitive).
		ext := false
		if v == nil {
			v, ext = m["_"+key], true
		}
		var typ string
		if n.typ != "" {
			_, typ, _ = spec.Child(n.typ, key)
		}
		if items, ok := v.([]any); ok {
			for j, it := range items {
				if it != nil {
					out = append(out, node{it, fmt.Sprintf("%s.%s[%d]", n.path, key, j), ext, typ})
				}
			}
			return
		}
		out = append(out, node{v, n.path + "." + key, ext, typ})
	}
	if prefix, ok := strings.CutSuffix(sg.name, "[x]"); ok {
		for _, k := range s.keys(m) {
			name := strings.TrimPrefix(k, "_")
			if name != k && m[name] != nil {
				continue
			}
			if suf, ok := strings.CutPrefix(name, prefix); ok && suf != "" && suf[0] >= 'A' && suf[0] <= 'Z' {
				if sg.slice == "" || sg.slice == name {
					add(name, m[name])
				}
			}
		}
		return out, true
	}
	if _, ok := m[sg.name]; ok {
		add(sg.name, m[sg.name])
	} else if _, ok := m["_"+sg.name]; ok {
		add(sg.name, nil)
	}
	if sg.slice == "" {
		return out, true
	}
	match, ok := s.sliceMatcher(pr, segs[:i+1])
	if !ok {
		return nil, false
	}
	kept := out[:0]
	for _, c := range out {
		if match(c.v) {
			kept = append(kept, c)
		}
	}
	return kept, true
}

// sliceMatcher returns the test that tells whether an item belongs to the
// slice named by the last of segs, from the discriminators of the sliced
// element (R4 profiling.html#discriminator). Extensions are sliced by url
// when the profile does not say otherwise. It reports false for slices it
// cannot tell apart.
func (s *semantic) sliceMatcher(pr *Profile, segs []segment) (func(any) bool, bool) {
	sliced := idOf(pr.Type, segs, segment{segs[len(segs)-1].name, ""})
	sliceID := idOf(pr.Type, segs, segment{})
	var ds []discriminator
	for p := pr; p != nil; {
		if r := p.byID[sliced]; r != nil && len(r.slicing) > 0 {
			ds = r.slicing
			break
		}
		p, _ = s.opts.Profiles.Profile(p.Base)
	}
	name := segs[len(segs)-1].name
	if ds == nil && (name == "extension" || name == "modifierExtension") {
		ds = []discriminator{{"value", "url"}}
	}
	if len(ds) == 0 {
		return s.unresolved(pr, sliceID, "its slicing is not defined")
	}
	type test struct {
		path    []string
		want    any
		pattern bool
	}
	var tests []test
	for _, d := range ds {
		if d.typ != "value" && d.typ != "pattern" {
			return s.unresolved(pr, sliceID, "discriminator type "+d.typ+" is not supported")
		}
		var want any
		var pattern bool
		target := sliceID
		if d.path != "$this" {
			target += "." + d.path
		}
		if r := pr.byID[target]; r != nil && (r.fixed != nil || r.pattern != nil) {
			want, pattern = r.fixed, r.fixed == nil
			if pattern {
				want = r.pattern
			}
		} else if r := pr.byID[sliceID]; d.path == "url" && r != nil && len(r.typeProf) == 1 {
			want = r.typeProf[0]
		} else {
			return s.unresolved(pr, sliceID, "no fixed or pattern value for discriminator "+d.path)
		}
		var path []string
		if d.path != "$this" {
			path = strings.Split(d.path, ".")
		}
		tests = append(tests, test{path, want, pattern})
	}
	return func(v any) bool {
		for _, t := range tests {
			found := false
			for _, x := range values(v, t.path) {
				if t.pattern && matchesPattern(x, t.want) || !t.pattern && reflect.DeepEqual(normalize(x), normalize(t.want)) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}, true
}

func (s *semantic) unresolved(pr *Profile, sliceID, why string) (func(any) bool, bool) {
	s.info("slice|"+pr.URL+"|"+sliceID, fhir.IssueNotSupported, "", "slice %s of profile %s was not checked: %s", sliceID, pr.URL, why)
	return nil, false
}

// idOf renders segs as an element id ("Patient.identifier:nhsNumber"),
// with the last segment replaced by last when it has a name.
func idOf(typ string, segs []segment, last segment) string {
	var b strings.Builder
	b.WriteString(typ)
	for i, sg := range segs {
		if i == len(segs)-1 && last.name != "" {
			sg = last
		}
		b.WriteString("." + sg.name)
		if sg.slice != "" {
			b.WriteString(":" + sg.slice)
		}
	}
	return b.String()
}

// values returns the values at a dotted path below v, flattening arrays.
func values(v any, path []string) []any {
	cur := []any{v}
	for _, p := range path {
		var next []any
		for _, c := range cur {
			m, ok := c.(map[string]any)
			if !ok {
				continue
			}
			switch x := m[p].(type) {
			case nil:
			case []any:
				next = append(next, x...)
			default:
				next = append(next, x)
			}
		}
		cur = next
	}
	return cur
}

// cardinality checks the number of kids of parent p against the rule.
func (s *semantic) cardinality(pr *Profile, r *elemRule, last segment, p node, kids []node) {
	// The location is a FHIRPath expression, which cannot name a slice;
	// the diagnostics name it by its element id.
	where := p.path + "." + strings.TrimSuffix(last.name, "[x]")
	if r.min != nil && len(kids) < *r.min {
		s.c.errorf(fhir.IssueRequired, where, "profile %s: %s needs at least %d, has %d", pr.URL, r.id, *r.min, len(kids))
	}
	if r.max != "" && r.max != "*" {
		var max int
		if _, err := fmt.Sscan(r.max, &max); err == nil && len(kids) > max {
			s.c.errorf(fhir.IssueStructure, where, "profile %s: %s allows at most %d, has %d", pr.URL, r.id, max, len(kids))
		}
	}
}

// values checks fixed and pattern values, required bindings and
// Reference targets of one node.
func (s *semantic) values(pr *Profile, r *elemRule, n node) {
	if r.fixed != nil && !reflect.DeepEqual(normalize(n.v), normalize(r.fixed)) {
		s.c.errorf(fhir.IssueValue, n.path, "profile %s: %s must be exactly %s", pr.URL, r.id, jsonText(r.fixed))
	}
	if r.pattern != nil && !matchesPattern(n.v, r.pattern) {
		s.c.errorf(fhir.IssueValue, n.path, "profile %s: %s must match the pattern %s", pr.URL, r.id, jsonText(r.pattern))
	}
	if r.binding != "" {
		v, typ := n.v, "code"
		if m, ok := v.(map[string]any); ok {
			if _, isExt := m["url"].(string); isExt {
				// A binding on an extension constrains its value, as
				// the cross-version extensions of R5 state them.
				v, typ = extensionValue(m)
				if v == nil {
					return
				}
				n = node{v: v, path: n.path + ".value"}
			}
		}
		if m, ok := v.(map[string]any); ok {
			typ = "Coding"
			if _, ok := m["coding"]; ok || m["code"] == nil {
				typ = "CodeableConcept"
			}
		}
		s.binding(v, typ, r.binding, r.id, n.path)
	}
	if len(r.targets) > 0 {
		m, _ := n.v.(map[string]any)
		ref, _ := m["reference"].(string)
		t, ok := refType(ref)
		if !ok || !spec.IsResourceType(t) {
			return
		}
		var allowed []string
		for _, u := range r.targets {
			if tp, ok := strings.CutPrefix(u, coreSDPrefix); ok && spec.IsResource(tp) {
				allowed = append(allowed, tp)
			} else if p, ok := s.opts.Profiles.Profile(u); ok {
				allowed = append(allowed, p.Type)
			} else {
				return // a target profile we do not know: cannot tell
			}
		}
		if !containsString(allowed, t) && !containsString(allowed, "Resource") {
			s.c.errorf(fhir.IssueInvalid, n.path+".reference", "profile %s: %s may refer to %s, not %s", pr.URL, r.id, strings.Join(allowed, ", "), t)
		}
	}
}

// closedSlicing reports items of a sliced element with closed slicing
// that belong to none of its slices (R4 ElementDefinition.slicing.rules).
func (s *semantic) closedSlicing(pr *Profile, sliced *elemRule, items []node) {
	var matchers []func(any) bool
	var names []string
	for _, r := range pr.rules {
		if len(r.segs) != len(sliced.segs) || r.segs[len(r.segs)-1].slice == "" || idOf(pr.Type, r.segs, segment{r.segs[len(r.segs)-1].name, ""}) != sliced.id {
			continue
		}
		m, ok := s.sliceMatcher(pr, r.segs)
		if !ok {
			return
		}
		matchers = append(matchers, m)
		names = append(names, r.segs[len(r.segs)-1].slice)
	}
	for _, n := range items {
		in := false
		for _, m := range matchers {
			if m(n.v) {
				in = true
				break
			}
		}
		if !in {
			s.c.errorf(fhir.IssueStructure, n.path, "profile %s: %s is closed to the slices %s, and this item is in none", pr.URL, sliced.id, strings.Join(names, ", "))
		}
	}
}

// choiceType checks that a choice element has one of the types the
// profile allows, named by the suffix of its JSON member.
func (s *semantic) choiceType(pr *Profile, r *elemRule, last segment, n node) {
	prefix, ok := strings.CutSuffix(last.name, "[x]")
	if !ok || len(r.types) == 0 {
		return
	}
	key := n.path[strings.LastIndexByte(n.path, '.')+1:]
	if i := strings.IndexByte(key, '['); i >= 0 {
		key = key[:i]
	}
	suffix := strings.TrimPrefix(key, prefix)
	for _, t := range r.types {
		if strings.EqualFold(t, suffix) {
			return
		}
	}
	s.c.errorf(fhir.IssueStructure, n.path, "profile %s: %s allows only the types %s, not %s", pr.URL, r.id, strings.Join(r.types, ", "), suffix)
}

// profileInvariants evaluates the invariants a profile adds to an
// element, with the element as focus.
func (s *semantic) profileInvariants(pr *Profile, r *elemRule, n node, typ string, f *frame) {
	for _, k := range r.constraints {
		k.Human = fmt.Sprintf("%s (profile %s)", k.Human, pr.URL)
		s.invariant(k, n.v, nil, typ, n.path, f)
	}
}

// extensionValue returns the value[x] of an extension and its type, if
// it is a code, Coding or CodeableConcept.
func extensionValue(ext map[string]any) (any, string) {
	for k, v := range ext {
		if t, ok := strings.CutPrefix(k, "value"); ok {
			switch t {
			case "Code", "String", "Uri":
				return v, "code"
			case "Coding", "CodeableConcept":
				return v, t
			}
		}
	}
	return nil, ""
}

// matchesPattern reports whether v has every element of pattern with
// the same value; an array in the pattern needs each of its items
// matched by some item of v (R4 ElementDefinition.pattern[x]).
func matchesPattern(v, pattern any) bool {
	switch p := pattern.(type) {
	case map[string]any:
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		for k, pv := range p {
			if !matchesPattern(m[k], pv) {
				return false
			}
		}
		return true
	case []any:
		items, ok := v.([]any)
		if !ok {
			return false
		}
		for _, pi := range p {
			found := false
			for _, it := range items {
				if matchesPattern(it, pi) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(normalize(v), normalize(pattern))
}

// normalize makes numbers comparable whether they came from the
// instance (json.Number) or a profile (float64).
func normalize(v any) any {
	switch x := v.(type) {
	case fmt.Stringer:
		var f float64
		if _, err := fmt.Sscan(x.String(), &f); err == nil {
			return f
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}
