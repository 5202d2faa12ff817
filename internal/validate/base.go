package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhir/spec"
	"github.com/nhs-junction/junction/internal/terminology"
)

// Validate checks raw as a FHIR R4 resource in JSON against the base
// specification and returns its issues: everything Structure checks,
// plus minimum cardinality (also inside backbone elements), codes of
// required bindings (R4 terminologies.html#strength), the resource types
// that References may point to (ElementDefinition.type.targetProfile),
// the invariants of every element (ElementDefinition.constraint,
// evaluated with internal/fhirpath) and, when opts.Profiles is set, the
// profiles the resource claims in meta.profile.
//
// Issues come in document order: first those of Structure, then the
// errors of the other checks, then warnings and information. Issues with
// severity error make the resource invalid. What cannot be
// checked is never guessed: a code whose value set cannot be expanded
// (it needs SNOMED CT, say) gives one information issue per value set,
// and an invariant the engine cannot evaluate is passed over, with an
// information issue when opts.ReportNotEvaluated is set. Validate never
// panics.
func Validate(raw []byte, opts Options) []fhir.Issue {
	v, err := parse(raw)
	if err != nil {
		return []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueStructure, Diagnostics: err.Error()}}
	}
	opts.Required = true
	c := &checker{opt: opts}
	c.resource(v, "")
	var s *semantic
	if v.kind == jObject && len(c.issues) <= maxIssues {
		s = newSemantic(c, opts)
		root, _ := s.toAny(v).(map[string]any)
		if rt, _ := root["resourceType"].(string); spec.IsResourceType(rt) {
			s.resource(root, rt, nil)
		}
	}
	if len(c.issues) > maxIssues {
		c.issues = append(c.issues[:maxIssues], fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueTooCostly,
			Diagnostics: fmt.Sprintf("more than %d issues; the rest are not reported", maxIssues)})
	}
	if s != nil {
		c.issues = append(c.issues, s.infos...)
	}
	return c.issues
}

// toAny converts a parsed value to the shape encoding/json gives with
// UseNumber, which internal/fhirpath evaluates, and records the member
// order of each object so that issues come in document order. A
// duplicate member keeps its last value; Structure has reported it.
func (s *semantic) toAny(v *value) any {
	switch v.kind {
	case jBool:
		return v.b
	case jNumber:
		return json.Number(v.s)
	case jString:
		return v.s
	case jArray:
		out := make([]any, len(v.items))
		for i, it := range v.items {
			out[i] = s.toAny(it)
		}
		return out
	case jObject:
		out := make(map[string]any, len(v.members))
		keys := make([]string, 0, len(v.members))
		for _, m := range v.members {
			if _, dup := out[m.key]; !dup {
				keys = append(keys, m.key)
			}
			out[m.key] = s.toAny(m.val)
		}
		s.order[reflect.ValueOf(out).Pointer()] = keys
		return out
	}
	return nil
}

// keys returns the member names of obj in document order.
func (s *semantic) keys(obj map[string]any) []string {
	if k, ok := s.order[reflect.ValueOf(obj).Pointer()]; ok && len(k) == len(obj) {
		return k
	}
	k := make([]string, 0, len(obj))
	for name := range obj {
		k = append(k, name)
	}
	sort.Strings(k)
	return k
}

// semantic is the state of the checks beyond structure over one
// resource and the resources it contains.
type semantic struct {
	c     *checker
	opts  Options
	terms *terminology.Registry
	// once keys the information issues reported once per validation,
	// such as a value set that could not be expanded.
	once  map[string]bool
	infos []fhir.Issue
	// order holds the member names of each object of the resource in
	// document order, keyed by the object's map pointer.
	order map[uintptr][]string
}

func newSemantic(c *checker, opts Options) *semantic {
	t := opts.Terminology
	if t == nil {
		t = terminology.Default()
	}
	return &semantic{c: c, opts: opts, terms: t, once: map[string]bool{}, order: map[uintptr][]string{}}
}

// info records an information issue once per key. They are kept apart
// from the errors so that many of them cannot push an error out of the
// bounded report.
func (s *semantic) info(key string, code fhir.IssueType, path, format string, args ...any) {
	if s.once[key] {
		return
	}
	s.once[key] = true
	s.note(fhir.SeverityInformation, code, path, format, args...)
}

// note records a warning or information issue, apart from the errors
// for the same reason as info; a bundle of a hundred resources without
// narrative has a hundred dom-6 warnings.
func (s *semantic) note(sev fhir.Severity, code fhir.IssueType, path, format string, args ...any) {
	if len(s.infos) >= maxIssues {
		return
	}
	is := fhir.Issue{Severity: sev, Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if path != "" {
		is.Expression = []string{path}
	}
	s.infos = append(s.infos, is)
}

// frame is the resource an element belongs to, for the FHIRPath
// variables %resource and %rootResource.
type frame struct {
	res map[string]any
	// root is the resource that contains res, or res itself when it is
	// not contained.
	root      map[string]any
	contained bool
}

// resource checks a resource object found at path (the resource type at
// the top level).
func (s *semantic) resource(res map[string]any, path string, container map[string]any) {
	rt, _ := res["resourceType"].(string)
	if !spec.IsResourceType(rt) {
		return
	}
	if path == "" {
		path = rt
	}
	f := &frame{res: res, root: res}
	if container != nil {
		f.root, f.contained = container, true
	}
	s.object(res, rt, rt, path, f)
	if s.opts.Profiles != nil {
		// Profiles apply wherever a resource claims them, including
		// Bundle entries and contained resources.
		s.profiles(res, rt, path)
	}
}

// object checks the members of obj, a value of type typ (a type name or
// backbone path) held by the element with definition path def.
func (s *semantic) object(obj map[string]any, typ, def, path string, f *frame) {
	if len(s.c.issues) > maxIssues {
		return
	}
	if typ == "Extension" {
		s.extensionProfile(obj, path, f)
	}
	var choices map[string]string // element path -> first member name
	for _, key := range s.keys(obj) {
		val := obj[key]
		if key == "resourceType" {
			continue
		}
		if name, ok := strings.CutPrefix(key, "_"); ok {
			if _, both := obj[name]; both {
				continue
			}
			// A primitive that has only its id and extensions.
			key, val = name, nil
		}
		e, et, ok := spec.Child(typ, key)
		if !ok || et == "" {
			continue
		}
		if e.Choice {
			// R4 formats.html#choice: a choice element has one type,
			// so one JSON member.
			if first, dup := choices[e.Path]; dup {
				s.c.errorf(fhir.IssueStructure, join(path, key), "choice element %s[x] has more than one value (%s and %s)", e.Path, first, key)
				continue
			}
			if choices == nil {
				choices = map[string]string{}
			}
			choices[e.Path] = key
		}
		p := elementPath(path, e, et)
		if spec.IsPrimitive(et) {
			s.primitives(val, obj["_"+key], e, et, p, f)
			continue
		}
		if items, isArr := val.([]any); isArr {
			for i, it := range items {
				s.element(it, e, et, index(p, i), f)
			}
			continue
		}
		s.element(val, e, et, p, f)
	}
	s.invariants(obj, nil, typ, def, path, f)
}

// primitives checks the values of primitive element e, of type et:
// val is its value or array of values (nil when it has only the "_name"
// member), companion the "_name" member holding ids and extensions, at
// the same indexes for an array (R4 json.html#primitive). The
// invariants of a primitive (ele-1 among them) and those of its
// extensions apply as to any other element.
func (s *semantic) primitives(val, companion any, e spec.Element, et, path string, f *frame) {
	one := func(v any, comp map[string]any, p string) {
		if v == nil && comp == nil {
			return
		}
		if v != nil {
			s.element(v, e, et, p, f)
		}
		exts, _ := comp["extension"].([]any)
		for i, x := range exts {
			if m, ok := x.(map[string]any); ok {
				s.object(m, "Extension", "Element.extension", index(p+".extension", i), f)
			}
		}
		s.invariants(v, comp, et, e.Path, p, f)
	}
	vals, isArr := val.([]any)
	comps, compArr := companion.([]any)
	if !isArr && !compArr {
		comp, _ := companion.(map[string]any)
		one(val, comp, path)
		return
	}
	for i := range max(len(vals), len(comps)) {
		var v any
		var comp map[string]any
		if i < len(vals) {
			v = vals[i]
		}
		if i < len(comps) {
			comp, _ = comps[i].(map[string]any)
		}
		one(v, comp, index(path, i))
	}
}

// element checks one value of element e with concrete type et.
func (s *semantic) element(v any, e spec.Element, et, path string, f *frame) {
	if v == nil {
		return
	}
	if b, ok := spec.ElementBinding(e.Path); ok && b.Strength == "required" {
		s.binding(v, et, b.ValueSet, e.Path, path)
	}
	obj, isObj := v.(map[string]any)
	if !isObj {
		return
	}
	switch {
	case spec.IsResource(et):
		// A contained resource has its container as %rootResource; a
		// resource in Bundle.entry or Parameters is its own root (R4
		// fhirpath.html#variables).
		var container map[string]any
		if e.Name == "contained" {
			container = f.root
		}
		s.resource(obj, path, container)
		return
	case et == "Reference":
		s.reference(obj, e.Path, path)
	}
	if !spec.IsPrimitive(et) && !strings.HasPrefix(et, "http://hl7.org/fhirpath/System.") {
		s.object(obj, et, e.Path, path, f)
	}
}

// binding checks a value of an element with a required binding: a code
// (or string or uri), a Coding or a CodeableConcept, which must have at
// least one Coding from the value set (R4 terminologies.html#required).
func (s *semantic) binding(v any, typ, valueSet, def, path string) {
	check := func(system, code string) (bool, string, bool) {
		res, err := s.terms.ValidateCode(valueSet, system, code, "")
		if err != nil {
			reason := err.Error()
			if errors.Is(err, terminology.ErrUnknownValueSet) {
				reason = "the value set is not available"
			}
			s.info("vs|"+valueSet, fhir.IssueNotSupported, path,
				"codes of %s were not checked against its required value set %s: %s", def, valueSet, reason)
			return false, "", false
		}
		return res.Valid, res.Message, true
	}
	switch typ {
	case "code", "string", "uri":
		code, ok := v.(string)
		if !ok {
			return
		}
		if valid, _, checked := check("", code); checked && !valid {
			s.c.errorf(fhir.IssueCodeInvalid, path, "%q is not a code of the required value set %s of %s", code, valueSet, def)
		}
	case "Coding":
		m, _ := v.(map[string]any)
		system, _ := m["system"].(string)
		code, _ := m["code"].(string)
		if code == "" {
			return
		}
		if valid, msg, checked := check(system, code); checked && !valid {
			s.c.errorf(fhir.IssueCodeInvalid, path, "the coding is not in the required value set %s of %s: %s", valueSet, def, msg)
		}
	case "CodeableConcept":
		m, _ := v.(map[string]any)
		codings, _ := m["coding"].([]any)
		var tried []string
		for _, c := range codings {
			cm, _ := c.(map[string]any)
			system, _ := cm["system"].(string)
			code, _ := cm["code"].(string)
			if code == "" {
				continue
			}
			valid, _, checked := check(system, code)
			if !checked || valid {
				return
			}
			tried = append(tried, system+"#"+code)
		}
		if len(tried) == 0 {
			s.c.errorf(fhir.IssueCodeInvalid, path, "%s has a required binding to %s but no coding with a code", def, valueSet)
			return
		}
		s.c.errorf(fhir.IssueCodeInvalid, path, "no coding of %s is in its required value set %s (has %s)", def, valueSet, strings.Join(tried, ", "))
	}
}

// reference checks that a Reference points to a resource type its
// element allows (ElementDefinition.type.targetProfile).
func (s *semantic) reference(ref map[string]any, def, path string) {
	targets := spec.ReferenceTargets(def)
	if len(targets) == 0 || containsString(targets, "Resource") {
		return
	}
	allowed := func(t string) bool {
		return containsString(targets, t)
	}
	if t, ok := ref["type"].(string); ok && spec.IsResourceType(t) && !allowed(t) {
		s.c.errorf(fhir.IssueInvalid, path+".type", "%s may refer to %s, not %s", def, strings.Join(targets, ", "), t)
	}
	r, _ := ref["reference"].(string)
	t, ok := refType(r)
	switch {
	case !ok:
	case t == "":
		s.c.errorf(fhir.IssueInvalid, path+".reference", "reference %q is neither Type/id nor an absolute URL (R4 references.html#literal)", r)
	case !allowed(t):
		s.c.errorf(fhir.IssueInvalid, path+".reference", "%s may refer to %s, not %s (reference %q)", def, strings.Join(targets, ", "), t, r)
	}
}

// refType returns the resource type named by a literal reference (R4
// references.html#literal): "Type/id", "Type/id/_history/v" or an
// absolute URL ending so. It reports false for references that name no
// type to check: local ("#id"), urn:, conditional ("Type?query") and
// absolute URLs whose path does not end in a resource type and id, which
// need not be FHIR servers. It returns "" and true for a relative
// reference that is not Type/id.
func refType(r string) (string, bool) {
	if r == "" || r[0] == '#' || strings.HasPrefix(r, "urn:") || strings.Contains(r, "?") {
		return "", false
	}
	if i := strings.Index(r, "/_history/"); i >= 0 {
		r = r[:i]
	}
	segs := strings.Split(r, "/")
	if isAbsolute(r) {
		if len(segs) < 2 || !spec.IsResourceType(segs[len(segs)-2]) {
			return "", false
		}
		return segs[len(segs)-2], true
	}
	if len(segs) != 2 || !spec.IsResourceType(segs[0]) || !fhir.ValidID(segs[1]) {
		return "", true
	}
	return segs[0], true
}

// isAbsolute reports whether r starts with a URL scheme and "://".
func isAbsolute(r string) bool {
	i := strings.Index(r, "://")
	if i <= 0 {
		return false
	}
	for j := 0; j < i; j++ {
		c := r[j]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '.' || c == '-')) {
			return false
		}
	}
	return true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
