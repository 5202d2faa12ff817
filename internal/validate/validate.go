// Package validate checks resource JSON against the structure of FHIR R4:
// known elements, cardinality as JSON arrays, JSON types and the lexical
// forms of primitive values (R4 json.html and datatypes.html) with
// Structure; Validate adds bindings, reference targets, invariants and
// profiles.
package validate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhir/spec"
	"github.com/nhs-junction/junction/internal/terminology"
)

// Options tunes Structure and Validate.
type Options struct {
	// Required reports elements whose minimum cardinality is not met. It
	// is off by default for Structure because a client may legitimately
	// send partial resources to some operations (for example $validate
	// with mode profile, or as the body of a patch base); Validate always
	// sets it.
	Required bool
	// Terminology answers required bindings and memberOf() for Validate;
	// nil means terminology.Default(), the core package.
	Terminology *terminology.Registry
	// Profiles holds the profiles Validate checks resources against when
	// they claim them in meta.profile; nil checks none.
	Profiles *Profiles
	// Profile is a profile url to check the resource against besides
	// those it claims in meta.profile, as the profile parameter of
	// $validate; it needs Profiles. A url that Profiles does not hold is
	// an error (code not-found), while an unknown profile claimed in
	// meta.profile is only a warning.
	Profile string
	// ReportNotEvaluated makes Validate add an information issue for
	// each invariant it could not evaluate.
	ReportNotEvaluated bool
}

// maxIssues bounds the report for hostile or badly broken input.
const maxIssues = 100

// Structure validates raw as a FHIR R4 resource in JSON and returns its
// issues in document order. It returns nil for a
// structurally valid resource. It never panics.
func Structure(raw []byte) []fhir.Issue {
	return StructureWith(raw, Options{})
}

// StructureWith is Structure with options.
func StructureWith(raw []byte, opt Options) []fhir.Issue {
	v, err := parse(raw)
	if err != nil {
		return []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueStructure, Diagnostics: err.Error()}}
	}
	c := &checker{opt: opt}
	c.resource(v, "")
	if len(c.issues) > maxIssues {
		c.issues = append(c.issues[:maxIssues], fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueTooCostly,
			Diagnostics: fmt.Sprintf("more than %d issues; the rest are not reported", maxIssues)})
	}
	return c.issues
}

type checker struct {
	opt    Options
	issues []fhir.Issue
}

func (c *checker) add(sev fhir.Severity, code fhir.IssueType, path, format string, args ...any) {
	if len(c.issues) > maxIssues {
		return
	}
	is := fhir.Issue{Severity: sev, Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if path != "" {
		is.Expression = []string{path}
	}
	c.issues = append(c.issues, is)
}

func (c *checker) errorf(code fhir.IssueType, path, format string, args ...any) {
	c.add(fhir.SeverityError, code, path, format, args...)
}

// resource checks v as a resource found at path ("" at the top level,
// where the location starts with the resource type).
func (c *checker) resource(v *value, path string) {
	if v.kind != jObject {
		c.errorf(fhir.IssueStructure, path, "a resource must be a JSON object, not %s", v.kind)
		return
	}
	var rt *value
	for _, m := range v.members {
		if m.key == "resourceType" {
			rt = m.val
			break
		}
	}
	switch {
	case rt == nil:
		c.errorf(fhir.IssueStructure, path, "resource has no resourceType")
		return
	case rt.kind != jString:
		c.errorf(fhir.IssueStructure, join(path, "resourceType"), "resourceType must be a string, not %s", rt.kind)
		return
	case !spec.IsResourceType(rt.s):
		c.errorf(fhir.IssueInvalid, join(path, "resourceType"), "unknown resource type %q", rt.s)
		return
	}
	if path == "" {
		path = rt.s
	}
	c.object(v, rt.s, path, true)
}

// object checks the members of v, an object of type typ (a type name or
// a backbone path).
func (c *checker) object(v *value, typ, path string, isResource bool) {
	if len(v.members) == 0 {
		c.errorf(fhir.IssueStructure, path, "empty object: FHIR JSON never has empty objects")
		return
	}
	c.duplicates(v, path)
	for i, m := range v.members {
		if isDuplicate(v, i) {
			continue
		}
		switch {
		case m.key == "resourceType" && isResource:
			// Checked by resource. Elsewhere it is an ordinary name:
			// ExampleScenario.instance has an element resourceType.
		case strings.HasPrefix(m.key, "_"):
			c.companion(v, m, typ, path)
		default:
			c.member(v, m, typ, path)
		}
	}
	if c.opt.Required {
		c.required(v, typ, path)
	}
}

// duplicates reports member names that occur more than once; JSON
// objects with duplicate names are ambiguous (RFC 8259 section 4) and
// FHIR forbids them.
func (c *checker) duplicates(v *value, path string) {
	for i := range v.members {
		if isDuplicate(v, i) {
			c.errorf(fhir.IssueStructure, join(path, v.members[i].key), "duplicate JSON member %q", v.members[i].key)
		}
	}
}

// isDuplicate reports whether member i repeats an earlier name.
func isDuplicate(v *value, i int) bool {
	for j := 0; j < i; j++ {
		if v.members[j].key == v.members[i].key {
			return true
		}
	}
	return false
}

func lookup(v *value, key string) *value {
	for _, m := range v.members {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

// elementPath is the FHIRPath location of a child: a choice is named by
// its element name with ofType, as in "Observation.value.ofType(Quantity)".
func elementPath(path string, e spec.Element, typ string) string {
	if e.Choice {
		return path + "." + e.Name + ".ofType(" + typ + ")"
	}
	return path + "." + e.Name
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func (c *checker) member(parent *value, m member, typ, path string) {
	e, et, ok := spec.Child(typ, m.key)
	if !ok || (e.Choice && et == "") {
		c.unknown(m.key, typ, path)
		return
	}
	if et == "" {
		c.errorf(fhir.IssueStructure, join(path, m.key), "element %s has no single type", e.Path)
		return
	}
	p := elementPath(path, e, et)
	if e.Max == 0 {
		c.errorf(fhir.IssueStructure, p, "element %s is not allowed (max 0)", e.Path)
		return
	}
	primitive := spec.IsPrimitive(et)
	var comp *value
	if primitive {
		comp = lookup(parent, "_"+m.key)
	}
	if !e.IsArray() {
		if m.val.kind == jArray {
			c.errorf(fhir.IssueStructure, p, "element %s has at most one value, so it must not be an array", e.Path)
			return
		}
		if m.val.kind == jNull {
			c.errorf(fhir.IssueStructure, p, "null is not allowed; omit the element instead")
			return
		}
		c.typed(m.val, et, e, p)
		return
	}
	if m.val.kind != jArray {
		c.errorf(fhir.IssueStructure, p, "element %s repeats (max %s), so it must be an array", e.Path, maxString(e.Max))
		return
	}
	if len(m.val.items) == 0 {
		c.errorf(fhir.IssueStructure, p, "empty array: omit the element instead")
		return
	}
	if e.Max > 0 && len(m.val.items) > e.Max {
		c.errorf(fhir.IssueStructure, p, "element %s has %d values, more than its maximum %d", e.Path, len(m.val.items), e.Max)
	}
	for i, it := range m.val.items {
		ip := index(p, i)
		if it.kind == jNull {
			// R4 json.html: null stands in for a missing value in a
			// primitive array only to keep it aligned with _name, whose
			// entry at the same index must then be present.
			if !primitive || comp == nil || comp.kind != jArray || i >= len(comp.items) || comp.items[i].kind == jNull {
				c.errorf(fhir.IssueStructure, ip, "null is only allowed in a primitive array aligned with a non-null _%s entry", m.key)
			}
			continue
		}
		c.typed(it, et, e, ip)
	}
}

func maxString(max int) string {
	if max < 0 {
		return "*"
	}
	return strconv.Itoa(max)
}

func (c *checker) unknown(key, typ, path string) {
	if e, _, ok := spec.Child(typ, key); ok && e.Choice {
		c.errorf(fhir.IssueStructure, join(path, key), "choice element %s[x] needs a type suffix, such as %s%s", e.Path, key, suffix(e.Types[0]))
		return
	}
	c.errorf(fhir.IssueStructure, join(path, key), "unknown element %q in %s", key, typ)
}

func suffix(t string) string {
	if t == "" {
		return t
	}
	return strings.ToUpper(t[:1]) + t[1:]
}

// typed checks one non-null value of element e with concrete type typ.
func (c *checker) typed(v *value, typ string, e spec.Element, path string) {
	switch {
	case spec.IsPrimitive(typ):
		c.primitive(v, typ, path)
	case strings.HasPrefix(typ, "http://hl7.org/fhirpath/System."):
		c.system(v, typ, e, path)
	case spec.IsResource(typ):
		c.resource(v, path)
	case v.kind != jObject:
		c.errorf(fhir.IssueStructure, path, "%s must be a JSON object, not %s", typ, v.kind)
	default:
		c.object(v, typ, path, false)
	}
}

// system checks the values that R4 gives a FHIRPath System type rather
// than a FHIR primitive: Element.id and Extension.url. They are plain
// JSON strings (XML attributes), so they have no "_name" companion.
func (c *checker) system(v *value, typ string, e spec.Element, path string) {
	if v.kind != jString {
		c.errorf(fhir.IssueStructure, path, "%s must be a JSON string, not %s", e.Path, v.kind)
		return
	}
	t := "string"
	if strings.HasSuffix(e.Path, ".url") {
		t = "uri"
	}
	c.primitive(v, t, path)
}

// companion checks a "_name" member: the id and extensions of primitive
// element name (R4 json.html, "Representing primitive elements").
func (c *checker) companion(parent *value, m member, typ, path string) {
	name := m.key[1:]
	e, et, ok := spec.Child(typ, name)
	if !ok || !spec.IsPrimitive(et) {
		if ok && !e.Choice || ok && et != "" {
			c.errorf(fhir.IssueStructure, join(path, m.key), "%s is not a primitive element, so %s is not allowed", e.Path, m.key)
			return
		}
		c.unknown(m.key, typ, path)
		return
	}
	p := elementPath(path, e, et)
	main := lookup(parent, name)
	if !e.IsArray() {
		if m.val.kind != jObject {
			c.errorf(fhir.IssueStructure, p, "%s must be a JSON object, not %s", m.key, m.val.kind)
			return
		}
		c.primitiveElement(m.val, et, p)
		return
	}
	if m.val.kind != jArray {
		c.errorf(fhir.IssueStructure, p, "%s repeats, so %s must be an array", e.Path, m.key)
		return
	}
	if len(m.val.items) == 0 {
		c.errorf(fhir.IssueStructure, p, "empty array: omit %s instead", m.key)
		return
	}
	if main != nil && main.kind == jArray && len(main.items) != len(m.val.items) {
		c.errorf(fhir.IssueStructure, p, "%s has %d entries but %s has %d; they must align", m.key, len(m.val.items), name, len(main.items))
	}
	for i, it := range m.val.items {
		ip := index(p, i)
		switch it.kind {
		case jNull:
			if main == nil || main.kind != jArray || i >= len(main.items) || main.items[i].kind == jNull {
				c.errorf(fhir.IssueStructure, ip, "null in %s needs a value at the same index of %s", m.key, name)
			}
		case jObject:
			c.primitiveElement(it, et, ip)
		default:
			c.errorf(fhir.IssueStructure, ip, "entries of %s must be objects or null, not %s", m.key, it.kind)
		}
	}
}

// primitiveElement checks the object of a "_name" companion: only the id
// and extension of the primitive type, never its value.
func (c *checker) primitiveElement(v *value, typ, path string) {
	if len(v.members) == 0 {
		c.errorf(fhir.IssueStructure, path, "empty object: FHIR JSON never has empty objects")
		return
	}
	c.duplicates(v, path)
	for i, m := range v.members {
		if isDuplicate(v, i) {
			continue
		}
		if m.key == "value" || strings.HasPrefix(m.key, "_") || m.key == "resourceType" {
			c.unknown(m.key, typ, path)
			continue
		}
		c.member(v, m, typ, path)
	}
}

// required reports children of typ with a minimum cardinality above
// zero that v lacks. A primitive counts as present when only its "_name"
// companion is.
func (c *checker) required(v *value, typ, path string) {
	for _, e := range spec.Children(typ) {
		if e.Min == 0 || present(v, typ, e) {
			continue
		}
		name := e.Name
		if e.Choice {
			name += "[x]"
		}
		c.errorf(fhir.IssueRequired, join(path, e.Name), "missing required element %s (min %d)", name, e.Min)
	}
}

func present(v *value, typ string, e spec.Element) bool {
	for _, m := range v.members {
		k := strings.TrimPrefix(m.key, "_")
		if k == e.Name {
			return true
		}
		if e.Choice && strings.HasPrefix(k, e.Name) {
			if el, _, ok := spec.Child(typ, k); ok && el.Path == e.Path {
				return true
			}
		}
	}
	return false
}
