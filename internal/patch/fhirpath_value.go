package patch

import (
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhir/spec"
)

// systemPrefix starts the FHIRPath system types that the R4 snapshots give
// to Element.id and Extension.url: primitives without a "_" companion.
const systemPrefix = "http://hl7.org/fhirpath/System."

// elementPrimitive reports whether el holds primitive values in JSON.
func elementPrimitive(el spec.Element) bool {
	if el.Primitive {
		return true
	}
	for _, t := range el.Types {
		if !strings.HasPrefix(t, systemPrefix) {
			return false
		}
	}
	return len(el.Types) > 0
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// specializes reports whether typ is want or a specialization of it
// ("Age" of "Quantity", "Patient" of "Resource").
func specializes(typ, want string) bool {
	for t := typ; t != ""; t = spec.BaseType(t) {
		if t == want {
			return true
		}
	}
	return false
}

// placed is a value ready to be stored in an element: the JSON member
// name (which carries the type for a choice element, formats.html#choice),
// the value, and the "_" companion of a primitive.
type placed struct {
	key string
	val *node // nil for a primitive with only extensions
	ext *node
}

// fit checks that pv may be stored in element el and returns it as JSON.
// fhirpatch.html: "The type of the value must be correct for the place at
// which it will be added/inserted. Servers SHALL return an error if the
// type is wrong". Any primitive may go into any primitive element, since
// their JSON forms agree and the lexical rules are checked when the
// result is validated (the specification's own tests put a valueString
// into Narrative.div, an xhtml).
func fit(el spec.Element, pv *pvalue) (placed, *fhir.Error) {
	key := el.Name
	prim := elementPrimitive(el)
	if pv.parts != nil {
		if prim || el.Choice {
			return placed{}, unprocessable(fhir.IssueValue, "element %s needs a value[x] of type %s, not parts", el.Path, strings.Join(el.Types, "|"))
		}
		if len(el.Types) != 1 || spec.IsResource(el.Types[0]) {
			return placed{}, unprocessable(fhir.IssueValue, "element %s cannot be built from parts", el.Path)
		}
		typ := el.Types[0]
		obj, err := buildFromParts(typ, pv.parts)
		if err != nil {
			return placed{}, err
		}
		return placed{key: key, val: obj}, nil
	}
	wrong := func() (placed, *fhir.Error) {
		return placed{}, unprocessable(fhir.IssueValue, "element %s has type %s; a value of type %s does not fit", el.Path, strings.Join(el.Types, "|"), pv.typ)
	}
	if !el.Choice && pv.primitive() != prim {
		return wrong()
	}
	switch {
	case el.Choice:
		ok := false
		for _, t := range el.Types {
			ok = ok || t == pv.typ
		}
		if !ok {
			return wrong()
		}
		key += upperFirst(pv.typ)
	case !prim:
		ok := false
		for _, t := range el.Types {
			ok = ok || specializes(pv.typ, t)
		}
		if !ok {
			return wrong()
		}
	case pv.ext != nil && !el.Primitive:
		return placed{}, unprocessable(fhir.IssueValue, "element %s cannot carry extensions", el.Path)
	case pv.val == nil && !el.Primitive:
		return placed{}, unprocessable(fhir.IssueValue, "element %s needs a value", el.Path)
	}
	p := placed{key: key}
	if pv.val != nil {
		p.val = pv.val.clone()
	}
	if pv.ext != nil {
		p.ext = pv.ext.clone()
	}
	return p, nil
}

// buildFromParts makes an object of type typ (a data type or a backbone
// element path) from named parts, each a value[x], a resource or further
// parts (fhirpatch.html, anonymous types). Repeated names make a list
// where the element repeats.
func buildFromParts(typ string, parts []*node) (*node, *fhir.Error) {
	obj := &node{kind: kObject, mem: []member{}}
	for _, part := range parts {
		name := partName(part)
		el, ctyp, ok := spec.Child(typ, name)
		if !ok {
			return nil, unprocessable(fhir.IssueValue, "%s has no element %q", typ, name)
		}
		pv, err := valuePart(part)
		if err != nil {
			return nil, err
		}
		if el.Choice && ctyp != "" && ctyp != pv.typ {
			return nil, unprocessable(fhir.IssueValue, "part %q holds a value of type %s", name, pv.typ)
		}
		p, err := fit(el, pv)
		if err != nil {
			return nil, err
		}
		if err := addChild(obj, typ, el, p); err != nil {
			return nil, err
		}
	}
	if len(obj.mem) == 0 {
		return nil, unprocessable(fhir.IssueValue, "parts make an empty %s", typ)
	}
	return obj, nil
}

// addChild stores p as element el of obj (of type typ): appended to the
// list of a repeating element, or set on a single one that has no value
// yet (fhirpatch.html: "Add can used for non-repeating elements as long
// as they do not already exist").
func addChild(obj *node, typ string, el spec.Element, p placed) *fhir.Error {
	if el.Choice {
		for _, m := range obj.mem {
			base := strings.TrimPrefix(m.key, "_")
			if len(base) > len(el.Name) && strings.HasPrefix(base, el.Name) && isUpper(base[len(el.Name)]) {
				return unprocessable(fhir.IssueBusinessRule, "%s already has a value (%s); use replace", el.Path, base)
			}
		}
	}
	if el.IsArray() {
		if cur := obj.get(p.key); cur != nil && cur.kind != kArray {
			return unprocessable(fhir.IssueStructure, "%s is not a JSON array", el.Path)
		}
		insertInList(obj, typ, p.key, -1, p.val, p.ext)
		return nil
	}
	if obj.get(p.key) != nil || obj.get("_"+p.key) != nil {
		return unprocessable(fhir.IssueBusinessRule, "%s already has a value; use replace", el.Path)
	}
	setSingle(obj, typ, p.key, p.val, p.ext)
	return nil
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// rank is the position of JSON member key among the elements of typ, so
// that new members go where the specification orders them (json.html
// recommends, and many clients expect, that order). resourceType comes
// first; unknown names rank -2 and constrain nothing.
func rank(typ, key string) int {
	base := strings.TrimPrefix(key, "_")
	if base == "resourceType" {
		return -1
	}
	el, _, ok := spec.Child(typ, base)
	if !ok {
		return -2
	}
	for i, c := range spec.Children(typ) {
		if c.Name == el.Name {
			return i
		}
	}
	return -2
}

// insertMember adds a new member key to obj of type typ in specification
// order; a "_" companion goes right after its value.
func insertMember(obj *node, typ, key string, v *node) {
	pos := len(obj.mem)
	if base, ok := strings.CutPrefix(key, "_"); ok && obj.index(base) >= 0 {
		pos = obj.index(base) + 1
	} else if r := rank(typ, key); r >= -1 && typ != "" {
		pos = 0
		for i, m := range obj.mem {
			if rm := rank(typ, m.key); rm != -2 && rm <= r {
				pos = i + 1
			}
		}
	}
	obj.mem = append(obj.mem, member{})
	copy(obj.mem[pos+1:], obj.mem[pos:])
	obj.mem[pos] = member{key, v}
}

func nullNode() *node { return &node{kind: kNull} }

// setSingle sets single-valued element key of obj to val with companion
// ext, replacing what was there and keeping its position.
func setSingle(obj *node, typ, key string, val, ext *node) {
	if val == nil {
		obj.del(key)
	} else if obj.index(key) >= 0 {
		obj.set(key, val)
	} else {
		insertMember(obj, typ, key, val)
	}
	obj.del("_" + key)
	if ext != nil {
		insertMember(obj, typ, "_"+key, ext)
	}
}

// insertInList inserts val (companion ext) at position at of the list
// element key of obj, or appends it when at is -1. The value array and
// its "_" companion array are kept the same length, as json.html#primitive
// requires, with null where an entry has no value or no extension.
func insertInList(obj *node, typ, key string, at int, val, ext *node) {
	arr, comp := obj.get(key), obj.get("_"+key)
	if comp != nil && comp.kind != kArray {
		comp = nil
	}
	n := listLen(arr, comp)
	if at < 0 || at > n {
		at = n
	}
	if arr == nil {
		arr = &node{kind: kArray}
		insertMember(obj, typ, key, arr)
	}
	for len(arr.elems) < n {
		arr.elems = append(arr.elems, nullNode())
	}
	if val == nil {
		val = nullNode()
	}
	arr.elems = insertAt(arr.elems, at, val)
	if comp == nil && ext != nil {
		comp = &node{kind: kArray}
		insertMember(obj, typ, "_"+key, comp)
	}
	if comp != nil {
		for len(comp.elems) < n {
			comp.elems = append(comp.elems, nullNode())
		}
		if ext == nil {
			ext = nullNode()
		}
		comp.elems = insertAt(comp.elems, at, ext)
	}
	tidyList(obj, key)
}

// removeFromList removes entry i of list element key of obj and returns
// its value and companion (nil when absent).
func removeFromList(obj *node, key string, i int) (val, ext *node) {
	if arr := obj.get(key); arr != nil && arr.kind == kArray && i < len(arr.elems) {
		val = arr.elems[i]
		arr.elems = append(arr.elems[:i:i], arr.elems[i+1:]...)
	}
	if comp := obj.get("_" + key); comp != nil && comp.kind == kArray && i < len(comp.elems) {
		ext = comp.elems[i]
		comp.elems = append(comp.elems[:i:i], comp.elems[i+1:]...)
	}
	if val != nil && val.kind == kNull {
		val = nil
	}
	if ext != nil && ext.kind == kNull {
		ext = nil
	}
	tidyList(obj, key)
	return val, ext
}

// setInList replaces entry i of list element key of obj.
func setInList(obj *node, typ, key string, i int, val, ext *node) {
	removeFromList(obj, key, i)
	insertInList(obj, typ, key, i, val, ext)
}

// tidyList drops a list that became empty and a companion list that holds
// only nulls: FHIR JSON has no empty arrays (json.html).
func tidyList(obj *node, key string) {
	arr, comp := obj.get(key), obj.get("_"+key)
	if comp != nil && comp.kind == kArray && allNull(comp.elems) {
		obj.del("_" + key)
		comp = nil
	}
	if arr != nil && arr.kind == kArray && (len(arr.elems) == 0 || comp == nil && allNull(arr.elems)) {
		obj.del(key)
	}
}

func allNull(xs []*node) bool {
	for _, x := range xs {
		if x.kind != kNull {
			return false
		}
	}
	return true
}

func listLen(arr, comp *node) int {
	n := 0
	if arr != nil && arr.kind == kArray {
		n = len(arr.elems)
	}
	if comp != nil && comp.kind == kArray && len(comp.elems) > n {
		n = len(comp.elems)
	}
	return n
}

func insertAt(xs []*node, i int, v *node) []*node {
	xs = append(xs, nil)
	copy(xs[i+1:], xs[i:])
	xs[i] = v
	return xs
}
