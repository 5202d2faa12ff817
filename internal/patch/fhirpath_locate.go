package patch

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhir/spec"
	"github.com/nhs-junction/junction/internal/fhirpath"
)

// loc is where an element lives: member key of object parent and, for a
// repeating element, its position in the array. A primitive element is
// addressed by the key of its value ("birthDate"), never by its "_"
// companion, even when it has only extensions.
type loc struct {
	parent *node // nil for the resource itself
	key    string
	idx    int // -1 for a single-valued member
}

// tree is the resource decoded for the FHIRPath engine, with a way back
// from every item the engine returns to the place it came from.
//
// The engine hands back the decoded values themselves (fhirpath.Item.Value
// for objects, fhirpath.Item.Extensions for the "_name" object of a
// primitive), so an object is found by the identity of its map. A
// primitive such as a string has no identity, so every primitive is given
// an extension object of its own, empty when the resource has none; an
// empty object adds no id and no extension, so no expression changes
// meaning, and its identity tells where the primitive is.
type tree struct {
	root  *node
	eval  map[string]any
	objs  map[uintptr]loc   // object map -> location
	prims map[uintptr]loc   // extension map of a primitive -> location
	types map[*node]string  // object -> FHIR type or backbone path, "" if unknown
	locs  map[*node]loc     // object -> its location, for pruning
	vals  map[uintptr]*node // extension map of a primitive -> its value node (nil when absent)
}

func mapID(m map[string]any) uintptr { return reflect.ValueOf(m).Pointer() }

// newTree builds the evaluation copy of root and its location tables.
func newTree(root *node) *tree {
	t := &tree{
		root:  root,
		objs:  map[uintptr]loc{},
		prims: map[uintptr]loc{},
		types: map[*node]string{},
		locs:  map[*node]loc{},
		vals:  map[uintptr]*node{},
	}
	t.eval = t.object(root, resourceTypeOf(root), loc{idx: -1})
	return t
}

func resourceTypeOf(n *node) string {
	if rt := n.get("resourceType"); rt != nil && rt.kind == kString {
		return rt.s
	}
	return ""
}

// childType is the type of member key of an object of type parent, from
// the specification; a resource's own resourceType wins, since Resource
// elements (contained, Bundle.entry.resource) can hold any resource.
func childType(parent, key string, v *node) string {
	if v.kind == kObject {
		if rt := resourceTypeOf(v); rt != "" {
			return rt
		}
	}
	if strings.HasPrefix(key, "_") {
		return "Element"
	}
	if parent == "" {
		return ""
	}
	el, typ, ok := spec.Child(parent, key)
	if !ok {
		return ""
	}
	if typ == "" && len(el.Types) == 1 {
		typ = el.Types[0]
	}
	return typ
}

func (t *tree) object(n *node, typ string, at loc) map[string]any {
	m := make(map[string]any, len(n.mem)*2)
	t.objs[mapID(m)] = at
	t.types[n] = typ
	t.locs[n] = at
	for _, mb := range n.mem {
		k, v := mb.key, mb.val
		if base, ok := strings.CutPrefix(k, "_"); ok && isCompanion(n, base) {
			if n.get(base) == nil {
				// A primitive with only extensions (json.html#primitive).
				m[k] = t.companion(n, base, nil, v)
			}
			continue
		}
		ct := ""
		if v.kind == kObject || v.kind == kArray {
			ct = childType(typ, k, firstElem(v))
		}
		switch v.kind {
		case kObject:
			m[k] = t.object(v, ct, loc{n, k, -1})
		case kArray:
			arr := make([]any, len(v.elems))
			prim := n.get("_"+k) != nil
			for i, e := range v.elems {
				switch e.kind {
				case kObject:
					arr[i] = t.object(e, childType(typ, k, e), loc{n, k, i})
				case kArray:
					arr[i] = nil // not FHIR; nothing can address it
				case kNull:
				default:
					arr[i] = scalar(e)
					prim = true
				}
			}
			m[k] = arr
			if prim && k != "resourceType" {
				m["_"+k] = t.companion(n, k, v, n.get("_"+k))
			}
		default:
			m[k] = scalar(v)
			if k != "resourceType" && v.kind != kNull {
				m["_"+k] = t.companion(n, k, v, n.get("_"+k))
			}
		}
	}
	return m
}

// isCompanion reports whether member "_"+base of n is the extension
// companion of primitive element base rather than an element of its own.
func isCompanion(n *node, base string) bool {
	v := n.get(base)
	return v == nil || v.kind != kObject && !(v.kind == kArray && firstElem(v).kind == kObject)
}

// companion builds the extension objects of primitive element key of
// parent, whose value is val (nil when absent) and whose "_key" member is
// ext (nil when absent), registering each as the identity of its value.
func (t *tree) companion(parent *node, key string, val, ext *node) any {
	if val == nil && ext != nil && ext.kind == kArray {
		val = &node{kind: kArray}
	}
	if val == nil || val.kind != kArray {
		var m map[string]any
		if ext != nil && ext.kind == kObject {
			m = t.object(ext, "Element", loc{parent, "_" + key, -1})
		} else {
			m = map[string]any{}
		}
		t.prims[mapID(m)] = loc{parent, key, -1}
		t.vals[mapID(m)] = val
		return m
	}
	n := len(val.elems)
	if ext != nil && ext.kind == kArray && len(ext.elems) > n {
		n = len(ext.elems)
	}
	out := make([]any, n)
	for i := range out {
		var v, e *node
		if i < len(val.elems) {
			v = val.elems[i]
		}
		if ext != nil && ext.kind == kArray && i < len(ext.elems) {
			e = ext.elems[i]
		}
		var m map[string]any
		switch {
		case e != nil && e.kind == kObject:
			m = t.object(e, "Element", loc{parent, "_" + key, i})
		case v != nil && v.kind != kNull && v.kind != kObject && v.kind != kArray:
			m = map[string]any{}
		default:
			continue
		}
		t.prims[mapID(m)] = loc{parent, key, i}
		if v != nil && v.kind == kNull {
			v = nil
		}
		t.vals[mapID(m)] = v
		out[i] = m
	}
	return out
}

func firstElem(v *node) *node {
	if v.kind == kArray {
		if len(v.elems) > 0 {
			return v.elems[0]
		}
		return &node{kind: kNull}
	}
	return v
}

// scalar converts a primitive node to the form the engine reads.
func scalar(n *node) any {
	switch n.kind {
	case kBool:
		return n.b
	case kNumber:
		return json.Number(n.s)
	case kString:
		return n.s
	}
	return nil
}

// target is one element that a path selected.
type target struct {
	loc
	obj *node // the element when it is an object, else nil
}

// root reports whether the target is the resource itself.
func (g target) root() bool { return g.parent == nil }

// compilePath compiles a patch path. A path that is not FHIRPath makes
// the patch document malformed.
func compilePath(path string) (*fhirpath.Expr, *fhir.Error) {
	expr, err := fhirpath.Compile(path)
	if err != nil {
		if errors.Is(err, fhirpath.ErrUnsupported) {
			return nil, malformed("path %q uses a FHIRPath feature this server does not support: %v", path, err).At(path)
		}
		return nil, malformed("path %q is not a valid FHIRPath expression: %v", path, err).At(path)
	}
	return expr, nil
}

// locate evaluates expr against the resource and maps every item back to
// its place. Items that are not elements of this resource (computed
// values, resources fetched through resolve(), which fhirpatch.html says
// SHALL only reach contained resources) make the path unusable.
func (t *tree) locate(expr *fhirpath.Expr) ([]target, *fhir.Error) {
	items, err := expr.Evaluate(t.eval, nil)
	if err != nil {
		if errors.Is(err, fhirpath.ErrUnsupported) {
			return nil, unprocessable(fhir.IssueNotSupported, "evaluating the path: %v", err)
		}
		return nil, unprocessable(fhir.IssueProcessing, "evaluating the path: %v", err)
	}
	out := make([]target, 0, len(items))
	for _, it := range items {
		if m, ok := it.Value().(map[string]any); ok {
			l, found := t.objs[mapID(m)]
			if !found {
				return nil, unprocessable(fhir.IssueProcessing, "the path selects a value that is not an element of this resource")
			}
			obj := t.root
			if l.parent != nil {
				obj = elementAt(l)
			}
			out = append(out, target{loc: l, obj: obj})
			continue
		}
		ext := it.Extensions()
		if ext == nil {
			return nil, unprocessable(fhir.IssueProcessing, "the path selects a computed value, not an element of this resource")
		}
		l, found := t.prims[mapID(ext)]
		if !found {
			return nil, unprocessable(fhir.IssueProcessing, "the path selects a value that is not an element of this resource")
		}
		// The identity is proof enough; the value check guards against
		// an engine that ever copies extension objects.
		if v := t.vals[mapID(ext)]; v != nil && !reflect.DeepEqual(scalar(v), it.Value()) {
			return nil, unprocessable(fhir.IssueProcessing, "could not locate the selected element")
		}
		out = append(out, target{loc: l})
	}
	return out, nil
}

// elementAt returns the value node at l, or nil.
func elementAt(l loc) *node {
	v := l.parent.get(l.key)
	if v == nil {
		return nil
	}
	if l.idx < 0 {
		return v
	}
	if v.kind == kArray && l.idx < len(v.elems) {
		return v.elems[l.idx]
	}
	return nil
}
