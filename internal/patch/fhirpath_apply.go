package patch

import (
	"strings"

	"github.com/nhs-junction/junction/internal/fhirpath"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhir/spec"
)

// ApplyFHIRPathPatch applies a FHIRPath Patch (https://hl7.org/fhir/R4/fhirpatch.html),
// a Parameters resource of "operation" parameters, to resource and returns
// the patched JSON. Operations are applied in order; the first failure
// returns an error and no result.
//
// Paths are evaluated with the FHIRPath engine over the resource, so any
// expression it supports may be used, as long as every item it returns is
// an element of this resource: a computed value, or a resource reached by
// resolve() outside the contained resources, is an error. Following the
// specification, the path of add, replace and delete must select one
// element (delete of nothing does nothing: "Path of the element to delete
// (if found)"), and that of insert and move must select a whole list.
//
// Values are checked against the element definitions of FHIR R4: the name
// of add must be an element of the selected element's type, the type of
// the value must suit it (a choice element takes its JSON name from the
// value's type), and a non-repeating element can only be added when it has
// no value. Anonymous values, such as backbone elements, are built from
// parts. Deleting the last child of an element removes the element too,
// since FHIR JSON has no empty objects or arrays.
//
// Errors are *fhir.Error: 400 for a document that is not a FHIRPath Patch
// (not a Parameters resource, unknown or missing parts, a path that is not
// FHIRPath) and 422 for an operation that cannot be applied to this
// resource (no match, several matches, an index out of range, a value of
// the wrong type). Diagnostics name the failing operation by its zero-based
// position and the expression is its path. An error that is not a
// *fhir.Error means resource itself is not a JSON object.
func ApplyFHIRPathPatch(resource []byte, params []byte) ([]byte, error) {
	doc, err := parseJSON(resource)
	if err != nil {
		return nil, resourceError(err)
	}
	if doc.kind != kObject {
		return nil, resourceError(fhir.ErrNotObject)
	}
	ops, ferr := parseFHIRPathPatch(params)
	if ferr != nil {
		return nil, ferr
	}
	for i, op := range ops {
		if ferr := applyFHIRPathOp(doc, op); ferr != nil {
			return nil, opError(ferr, "FHIRPath Patch operation %d (%s %s)", i, op.typ, op.path).At(op.path)
		}
	}
	return doc.bytes(), nil
}

func applyFHIRPathOp(doc *node, op fpOp) *fhir.Error {
	expr, err := compilePath(op.path)
	if err != nil {
		return err
	}
	// The locations are rebuilt for every operation, since the previous
	// one may have moved or removed what they point at.
	t := newTree(doc)
	if err := t.checkPrimitiveChildren(op.path); err != nil {
		return err
	}
	targets, err := t.locate(expr)
	if err != nil {
		return err
	}
	switch op.typ {
	case "add":
		g, err := single(targets, "adding")
		if err != nil {
			return err
		}
		return t.add(g, op)
	case "insert":
		return t.insert(targets, op)
	case "delete":
		if len(targets) == 0 {
			return nil
		}
		g, err := single(targets, "deleting")
		if err != nil {
			return err
		}
		if g.root() {
			return unprocessable(fhir.IssueProcessing, "cannot delete the resource itself")
		}
		t.remove(g.loc)
		t.prune(g.parent)
		return nil
	case "replace":
		g, err := single(targets, "replacing")
		if err != nil {
			return err
		}
		return t.replace(g, op)
	}
	return t.move(targets, op)
}

// single enforces fhirpatch.html: "The FHIRPath statement must return a
// single element".
func single(targets []target, doing string) (target, *fhir.Error) {
	switch len(targets) {
	case 0:
		return target{}, unprocessable(fhir.IssueNotFound, "no element found at the path when %s", doing)
	case 1:
		return targets[0], nil
	}
	return target{}, unprocessable(fhir.IssueProcessing, "the path selects %d elements; it must select exactly one", len(targets))
}

// definition returns the element definition of the element at l.
func (t *tree) definition(l loc) (spec.Element, *fhir.Error) {
	typ := t.types[l.parent]
	if typ == "" {
		return spec.Element{}, unprocessable(fhir.IssueNotSupported, "the type of the element holding %q is not known, so the value cannot be checked", l.key)
	}
	el, _, ok := spec.Child(typ, l.key)
	if !ok {
		return spec.Element{}, unprocessable(fhir.IssueNotSupported, "%s has no element %q", typ, l.key)
	}
	return el, nil
}

// add appends the named child to the selected element. On a primitive,
// the child goes into its "_" companion, which holds the primitive's id
// and extensions (json.html#primitive).
func (t *tree) add(g target, op fpOp) *fhir.Error {
	obj, typ := g.obj, t.types[g.obj]
	if g.obj == nil {
		obj, typ = t.companionObject(g.loc), "Element"
	} else if obj.kind != kObject {
		return unprocessable(fhir.IssueProcessing, "the selected element is not an object")
	}
	if typ == "" {
		return unprocessable(fhir.IssueNotSupported, "the type of the selected element is not known, so %q cannot be checked", op.name)
	}
	el, ctyp, ok := spec.Child(typ, op.name)
	if !ok {
		return unprocessable(fhir.IssueValue, "%s has no element %q", typ, op.name)
	}
	if el.Choice && ctyp != "" && op.value.typ != ctyp {
		return unprocessable(fhir.IssueValue, "%q needs a value of type %s, not %s", op.name, ctyp, op.value.typ)
	}
	p, err := fit(el, op.value)
	if err != nil {
		return err
	}
	return addChild(obj, typ, el, p)
}

// companionObject returns the "_" object of the primitive at l, creating
// it when absent.
func (t *tree) companionObject(l loc) *node {
	key := "_" + l.key
	typ := t.types[l.parent]
	if l.idx < 0 {
		c := l.parent.get(key)
		if c == nil || c.kind != kObject {
			c = &node{kind: kObject}
			setSingle(l.parent, typ, l.key, l.parent.get(l.key), c)
		}
		return c
	}
	comp := l.parent.get(key)
	if comp == nil || comp.kind != kArray {
		comp = &node{kind: kArray}
		insertMember(l.parent, typ, key, comp)
	}
	for len(comp.elems) <= l.idx {
		comp.elems = append(comp.elems, nullNode())
	}
	if comp.elems[l.idx].kind != kObject {
		comp.elems[l.idx] = &node{kind: kObject}
	}
	return comp.elems[l.idx]
}

// list checks that targets are a whole list, every entry of one repeating
// element in order, and returns where that list is and its length.
// fhirpatch.html: insert and move take the "Path of the collection".
func list(targets []target) (parent *node, key string, n int, err *fhir.Error) {
	g := targets[0]
	if g.root() || g.idx < 0 {
		return nil, "", 0, unprocessable(fhir.IssueProcessing, "the path selects a single-valued element, not a list")
	}
	n = listLen(g.parent.get(g.key), g.parent.get("_"+g.key))
	if len(targets) != n {
		return nil, "", 0, unprocessable(fhir.IssueProcessing, "the path must select a whole list (all %d entries), not %d of them", n, len(targets))
	}
	for i, x := range targets {
		if x.parent != g.parent || x.key != g.key || x.idx != i {
			return nil, "", 0, unprocessable(fhir.IssueProcessing, "the path must select the entries of one list, in order")
		}
	}
	return g.parent, g.key, n, nil
}

func (t *tree) insert(targets []target, op fpOp) *fhir.Error {
	var parent *node
	var key string
	var n int
	if len(targets) == 0 {
		// An empty list has no entries for the path to return; find the
		// element that would hold it instead.
		var err *fhir.Error
		if parent, key, err = t.emptyList(op.path); err != nil {
			return err
		}
	} else {
		var err *fhir.Error
		if parent, key, n, err = list(targets); err != nil {
			return err
		}
	}
	if op.index > n {
		return unprocessable(fhir.IssueProcessing, "index %d is out of range: the list has %d entries", op.index, n)
	}
	el, err := t.definition(loc{parent: parent, key: key})
	if err != nil {
		return err
	}
	if !el.IsArray() {
		return unprocessable(fhir.IssueProcessing, "%s does not repeat", el.Path)
	}
	p, err := fit(el, op.value)
	if err != nil {
		return err
	}
	insertInList(parent, t.types[parent], key, op.index, p.val, p.ext)
	return nil
}

// emptyList handles insert into a list that has no entries yet. Only a
// path that ends in a plain member name can say where that list would be
// ("Patient.identifier"); its prefix must select one object.
func (t *tree) emptyList(path string) (*node, string, *fhir.Error) {
	prefix, name, ok := splitLastMember(path)
	if !ok {
		return nil, "", unprocessable(fhir.IssueNotFound, "no list found at the path")
	}
	expr, err := compilePath(prefix)
	if err != nil {
		return nil, "", unprocessable(fhir.IssueNotFound, "no list found at the path")
	}
	targets, err := t.locate(expr)
	if err != nil {
		return nil, "", err
	}
	if len(targets) != 1 || targets[0].obj == nil || targets[0].obj.kind != kObject {
		return nil, "", unprocessable(fhir.IssueNotFound, "no list found at the path")
	}
	obj := targets[0].obj
	if obj.get(name) != nil || obj.get("_"+name) != nil {
		return nil, "", unprocessable(fhir.IssueProcessing, "%q is present but the path selects none of its entries", name)
	}
	return obj, name, nil
}

// splitLastMember splits "a.b(c).d" into "a.b(c)" and "d" when the path is
// a plain chain of navigation, indexers and function calls, so that the
// split cannot change how an operator binds.
func splitLastMember(path string) (prefix, name string, ok bool) {
	depth, last := 0, -1
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case c == '\'' || c == '`':
			j := i + 1
			for j < len(path) && path[j] != c {
				if path[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(path) {
				return "", "", false
			}
			i = j
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case depth > 0:
		case c == '.':
			last = i
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
		default:
			return "", "", false
		}
	}
	if last <= 0 || depth != 0 {
		return "", "", false
	}
	name = path[last+1:]
	if name == "" || !isIdentifier(name) || spec.IsType(name) && isUpper(name[0]) {
		return "", "", false
	}
	return path[:last], name, true
}

func isIdentifier(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func (t *tree) replace(g target, op fpOp) *fhir.Error {
	if g.root() {
		return unprocessable(fhir.IssueProcessing, "cannot replace the resource itself; use update")
	}
	if strings.HasPrefix(g.key, "_") {
		return unprocessable(fhir.IssueProcessing, "the selected element cannot be replaced")
	}
	el, err := t.definition(g.loc)
	if err != nil {
		return err
	}
	p, err := fit(el, op.value)
	if err != nil {
		return err
	}
	typ := t.types[g.parent]
	if g.idx >= 0 {
		setInList(g.parent, typ, g.key, g.idx, p.val, p.ext)
		return nil
	}
	if p.key != g.key {
		// A choice element changes its JSON name with its type
		// (formats.html#choice): valueQuantity becomes valueString in
		// the same place.
		i := g.parent.index(g.key)
		if i < 0 {
			i = g.parent.index("_" + g.key)
		}
		g.parent.del("_" + g.key)
		g.parent.del(g.key)
		if i > len(g.parent.mem) {
			i = len(g.parent.mem)
		}
		g.parent.mem = append(g.parent.mem, member{})
		copy(g.parent.mem[i+1:], g.parent.mem[i:])
		g.parent.mem[i] = member{p.key, nullNode()}
	}
	setSingle(g.parent, typ, p.key, p.val, p.ext)
	return nil
}

func (t *tree) move(targets []target, op fpOp) *fhir.Error {
	if len(targets) == 0 {
		return unprocessable(fhir.IssueNotFound, "no list found at the path")
	}
	parent, key, n, err := list(targets)
	if err != nil {
		return err
	}
	if op.source >= n || op.destination >= n {
		return unprocessable(fhir.IssueProcessing, "source %d and destination %d must be below the length of the list, %d", op.source, op.destination, n)
	}
	// Remove, then insert at destination in the shortened list: the
	// reading the specification's reorder tests follow.
	val, ext := removeFromList(parent, key, op.source)
	insertInList(parent, t.types[parent], key, op.destination, val, ext)
	return nil
}

// remove deletes the element at l with its "_" companion.
func (t *tree) remove(l loc) {
	if l.idx >= 0 {
		removeFromList(l.parent, l.key, l.idx)
		return
	}
	l.parent.del(l.key)
	l.parent.del("_" + l.key)
}

// prune removes obj if a delete left it empty, and so on upwards: FHIR
// JSON has no empty objects (json.html), and the specification's tests
// expect deleting the only child of an element to delete the element.
func (t *tree) prune(obj *node) {
	for obj != nil && obj != t.root && len(obj.mem) == 0 {
		l, ok := t.locs[obj]
		if !ok || l.parent == nil {
			return
		}
		if base, isComp := strings.CutPrefix(l.key, "_"); isComp {
			// An empty "_" companion: the primitive keeps its value.
			if l.idx < 0 {
				l.parent.del(l.key)
			} else if comp := l.parent.get(l.key); comp != nil && comp.kind == kArray && l.idx < len(comp.elems) {
				comp.elems[l.idx] = nullNode()
				tidyList(l.parent, base)
			}
			if l.parent.get(base) != nil {
				return
			}
		} else {
			t.remove(l)
		}
		obj = l.parent
	}
}

// checkPrimitiveChildren refuses a path that navigates to the id or
// extension of a primitive ("Patient.birthDate.extension"). The FHIRPath
// engine does not yet navigate into a primitive's "_" companion, so such a
// path would select nothing, and a delete of nothing would silently
// succeed. The extension('url') function does reach them and is allowed.
func (t *tree) checkPrimitiveChildren(path string) *fhir.Error {
	depth := 0
	for i := 0; i < len(path); i++ {
		switch c := path[i]; c {
		case '\'', '`':
			for i++; i < len(path) && path[i] != c; i++ {
				if path[i] == '\\' {
					i++
				}
			}
		case '(', '[':
			depth++
		case ')', ']':
			depth--
		case '.':
			if depth != 0 {
				continue
			}
			rest := path[i+1:]
			name := rest
			if j := strings.IndexFunc(rest, func(r rune) bool {
				return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
			}); j >= 0 {
				name = rest[:j]
				if rest[j] == '(' {
					continue
				}
			}
			if name != "extension" && name != "id" {
				continue
			}
			expr, err := fhirpath.Compile(path[:i])
			if err != nil {
				continue
			}
			targets, ferr := t.locate(expr)
			if ferr != nil {
				continue
			}
			for _, g := range targets {
				if g.obj == nil {
					return unprocessable(fhir.IssueNotSupported, "navigating to %q of a primitive element is not supported; use extension('url') to select its extensions", name)
				}
			}
		}
	}
	return nil
}
