package fhirpath

import (
	"reflect"
	"sort"
	"strings"
)

// Filtering, projection, subsetting, combining, type and tree-navigation
// functions: http://hl7.org/fhirpath/N1/#filtering-and-projection,
// #subsetting, #combining, #types-and-reflection and #tree-navigation.
var filterFunctions = map[string]fnDef{
	"where":  {1, 1, fnWhere, false},
	"select": {1, 1, fnSelect, false},
	"repeat": {1, 1, fnRepeat, false},
	"ofType": {1, 1, func(c *env, n *callNode, f []Item) ([]Item, error) {
		if err := c.checkType(n.ts); err != nil {
			return nil, err
		}
		return c.filterType(f, n.ts), nil
	}, true},
	"is": {1, 1, func(c *env, n *callNode, f []Item) ([]Item, error) {
		it, ok, err := singleInput(n, f)
		if !ok {
			return nil, err
		}
		if err := c.checkType(n.ts); err != nil {
			return nil, err
		}
		return boolItems(c.isA(it, n.ts)), nil
	}, true},
	// as() filters a collection of several items instead of failing as
	// FHIRPath N1 prescribes: R4's own invariant dom-3 applies it to
	// %resource.descendants(), so the strict rule would make every
	// resource with contained resources unvalidatable. The official suite
	// expects the error (testFHIRPathAsFunction21, listed as lenient).
	"as": {1, 1, func(c *env, n *callNode, f []Item) ([]Item, error) {
		if err := c.checkType(n.ts); err != nil {
			return nil, err
		}
		return c.filterType(f, n.ts), nil
	}, true},
	"first": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		if len(f) == 0 {
			return nil, nil
		}
		return f[0:1:1], nil
	}, false},
	"last": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		if len(f) == 0 {
			return nil, nil
		}
		return f[len(f)-1 : len(f) : len(f)], nil
	}, false},
	"tail": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		if len(f) < 2 {
			return nil, nil
		}
		return f[1:len(f):len(f)], nil
	}, false},
	"skip": {1, 1, func(c *env, n *callNode, f []Item) ([]Item, error) {
		k, ok, err := c.intArg(n, 0)
		if !ok {
			return nil, err
		}
		if k <= 0 {
			return f, nil
		}
		if k >= int64(len(f)) {
			return nil, nil
		}
		return f[k:len(f):len(f)], nil
	}, false},
	"take": {1, 1, func(c *env, n *callNode, f []Item) ([]Item, error) {
		k, ok, err := c.intArg(n, 0)
		if !ok {
			return nil, err
		}
		if k <= 0 {
			return nil, nil
		}
		if k >= int64(len(f)) {
			return f, nil
		}
		return f[0:k:k], nil
	}, false},
	"single": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		if len(f) > 1 {
			return nil, evalErr("single() on a collection of %d items", len(f))
		}
		return f, nil
	}, false},
	"intersect": {1, 1, func(c *env, n *callNode, f []Item) ([]Item, error) {
		other, err := c.arg(n, 0)
		if err != nil {
			return nil, err
		}
		var out []Item
		for _, x := range f {
			if contains(other, x) && !contains(out, x) {
				out = append(out, x)
			}
		}
		return out, nil
	}, false},
	"exclude": {1, 1, func(c *env, n *callNode, f []Item) ([]Item, error) {
		other, err := c.arg(n, 0)
		if err != nil {
			return nil, err
		}
		var out []Item
		for _, x := range f {
			if !contains(other, x) {
				out = append(out, x)
			}
		}
		return out, nil
	}, false},
	"union": {1, 1, func(c *env, n *callNode, f []Item) ([]Item, error) {
		other, err := c.arg(n, 0)
		return union(f, other), err
	}, false},
	"combine": {1, 1, func(c *env, n *callNode, f []Item) ([]Item, error) {
		other, err := c.arg(n, 0)
		out := make([]Item, 0, len(f)+len(other))
		return append(append(out, f...), other...), err
	}, false},
	"iif": {2, 3, fnIif, false},
	"not": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		b, ok, err := toBool(f)
		if !ok {
			return nil, err
		}
		return boolItems(!b), nil
	}, false},
	"children": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		var out []Item
		for _, it := range f {
			out = c.allChildren(out, it)
		}
		return out, nil
	}, false},
	"descendants": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		var out []Item
		queue := f
		for len(queue) > 0 && len(out) < 1_000_000 {
			var next []Item
			for _, it := range queue {
				next = c.allChildren(next, it)
			}
			out = append(out, next...)
			queue = next
		}
		return out, nil
	}, false},
	"trace": {1, 2, func(c *env, n *callNode, f []Item) ([]Item, error) {
		name, _, err := c.stringArg(n, 0)
		if err != nil || c.opts.Trace == nil {
			return f, err
		}
		shown := f
		if len(n.args) == 2 {
			shown = nil
			for i := range f {
				r, err := c.withThis(n.args[1], f, i)
				if err != nil {
					return nil, err
				}
				shown = append(shown, r...)
			}
		}
		c.opts.Trace(name, Collection(shown))
		return f, nil
	}, false},
	"type": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		out := make([]Item, 0, len(f))
		for _, it := range f {
			out = append(out, Item{v: typeOf(it), typ: "System.TypeInfo"})
		}
		return out, nil
	}, false},
}

func fnWhere(c *env, n *callNode, f []Item) ([]Item, error) {
	var out []Item
	for i := range f {
		r, err := c.withThis(n.args[0], f, i)
		if err != nil {
			return nil, err
		}
		b, ok, err := toBool(r)
		if err != nil {
			return nil, err
		}
		if ok && b {
			out = append(out, f[i])
		}
	}
	return out, nil
}

func fnSelect(c *env, n *callNode, f []Item) ([]Item, error) {
	if len(f) == 1 {
		return c.withThis(n.args[0], f, 0)
	}
	var out []Item
	for i := range f {
		r, err := c.withThis(n.args[0], f, i)
		if err != nil {
			return nil, err
		}
		out = append(out, r...)
	}
	return out, nil
}

// Bounds on repeat(): a projection that keeps producing new values
// ((1).repeat($this + 1)) would otherwise never finish. Elements of the
// resource are deduplicated by identity in constant time, so only the
// bound on computed values, which are compared pairwise, is small.
const (
	maxRepeatItems    = 100_000
	maxRepeatComputed = 1_000
)

// fnRepeat applies the projection to its own output until no new items
// appear. Items already seen are not projected again, so cyclic data
// terminates.
func fnRepeat(c *env, n *callNode, f []Item) ([]Item, error) {
	var out, computed []Item
	elems := map[uintptr]bool{}
	queue := f
	for len(queue) > 0 {
		var next []Item
		for i := range queue {
			r, err := c.withThis(n.args[0], queue, i)
			if err != nil {
				return nil, err
			}
			for _, x := range r {
				if m, ok := x.v.(map[string]any); ok {
					p := reflect.ValueOf(m).Pointer()
					if elems[p] {
						continue
					}
					elems[p] = true
				} else {
					if contains(computed, x) {
						continue
					}
					if len(computed) >= maxRepeatComputed {
						return nil, evalErr("repeat() produced more than %d values", maxRepeatComputed)
					}
					computed = append(computed, x)
				}
				if len(out) >= maxRepeatItems {
					return nil, evalErr("repeat() produced more than %d items", maxRepeatItems)
				}
				out = append(out, x)
				next = append(next, x)
			}
		}
		queue = next
	}
	return out, nil
}

func fnIif(c *env, n *callNode, f []Item) ([]Item, error) {
	if len(f) > 1 {
		return nil, evalErr("iif() needs at most one input item")
	}
	// The arguments see the input item as $this
	// (('context').iif($this = 'context', ...)); $index is left as the
	// enclosing iteration set it.
	saved := c.this
	if len(f) == 1 {
		c.this = f
	}
	defer func() { c.this = saved }()
	crit, err := c.arg(n, 0)
	if err != nil {
		return nil, err
	}
	b, ok, err := toBool(crit)
	if err != nil {
		return nil, err
	}
	if ok && b {
		return c.arg(n, 1)
	}
	if len(n.args) == 3 {
		return c.arg(n, 2)
	}
	return nil, nil
}

// allChildren appends every child element of it, in property-name order so
// the result is deterministic.
func (c *env) allChildren(out []Item, it Item) []Item {
	m, ok := it.v.(map[string]any)
	if !ok {
		// A primitive's children are its extensions and id.
		out = primitiveChildren(out, it, "extension")
		return primitiveChildren(out, it, "id")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if k == "resourceType" {
			continue
		}
		if name, ok := strings.CutPrefix(k, "_"); ok {
			if _, both := m[name]; both {
				continue
			}
			k = name
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = appendValues(out, m[k], m["_"+k], c.keyType(it.typ, k))
	}
	return out
}

// keyType finds the type of the JSON property key of an element of type
// parent, recognising choice properties by their type suffix.
func (c *env) keyType(parent, key string) string {
	if c.model != nil && parent != "" {
		if e, ok := c.model.Element(parent, key); ok && !e.Choice && len(e.Types) == 1 {
			return e.Types[0]
		}
	}
	for i := 1; i < len(key); i++ {
		if key[i] >= 'A' && key[i] <= 'Z' {
			if c.model != nil && parent != "" {
				if e, ok := c.model.Element(parent, key[:i]); !ok || !e.Choice {
					continue
				}
			}
			if t, ok := fhirPrimitives[key[i:]]; ok {
				return t
			}
			return key[i:]
		}
	}
	return ""
}

func typeOf(it Item) typeInfo {
	t := it.typ
	if t == "" {
		t = inferredType(it)
	}
	if ns, name, ok := strings.Cut(t, "."); ok && (ns == "System" || ns == "FHIR") {
		return typeInfo{namespace: ns, name: name}
	}
	if strings.IndexByte(t, '.') > 0 {
		t = "BackboneElement"
	}
	return typeInfo{namespace: "FHIR", name: t}
}
