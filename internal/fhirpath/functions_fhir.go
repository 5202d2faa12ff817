package fhirpath

import (
	"strings"
)

// FHIR's additional functions (http://hl7.org/fhir/R4/fhirpath.html#functions)
// and the current-time functions of http://hl7.org/fhirpath/N1/#utility-functions.
var fhirFunctions = map[string]fnDef{
	"extension": {1, 1, fnExtension, false},
	// hasExtension(url) is not in FHIRPath or the FHIR function list, but the
	// R4 package's own SearchParameter questionnaireresponse-item-subject
	// uses it; it means extension(url).exists().
	"hasExtension": {1, 1, func(c *env, n *callNode, f []Item) ([]Item, error) {
		r, err := fnExtension(c, n, f)
		return boolItems(len(r) > 0), err
	}, false},
	"hasValue": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		return boolItems(len(f) == 1 && isPrimitiveValue(f[0])), nil
	}, false},
	"getValue": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		if len(f) != 1 || !isPrimitiveValue(f[0]) {
			return nil, nil
		}
		v, _ := sysValue(f[0])
		return []Item{sysItem(v)}, nil
	}, false},
	"resolve": {0, 0, fnResolve, false},
	"memberOf": {1, 1, func(c *env, n *callNode, f []Item) ([]Item, error) {
		if c.opts.MemberOf == nil {
			return nil, unsupported("memberOf() without a terminology hook")
		}
		it, ok, err := singleInput(n, f)
		if !ok {
			return nil, err
		}
		vs, ok, err := c.stringArg(n, 0)
		if !ok {
			return nil, err
		}
		r, err := c.opts.MemberOf(it.Value(), vs)
		if err != nil {
			return nil, err
		}
		return boolItems(r), nil
	}, false},
	"conformsTo": {1, 1, func(c *env, n *callNode, f []Item) ([]Item, error) {
		return nil, unsupported("conformsTo()")
	}, false},
	// htmlChecks is answered true: narrative safety is checked where the
	// narrative is parsed, not by expression evaluation.
	"htmlChecks": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		return boolItems(true), nil
	}, false},
	"today": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		t := fromGoTime(c.clock(), temporal{kind: kDate, prec: pDay})
		t.hour, t.minute, t.second, t.milli = 0, 0, 0, 0
		return []Item{sysItem(t)}, nil
	}, false},
	"now": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		g := c.clock()
		_, off := g.Zone()
		t := fromGoTime(g, temporal{kind: kDateTime, prec: pMilli, hasTZ: true, tzMin: off / 60, tzZ: off == 0})
		return []Item{sysItem(t)}, nil
	}, false},
	"timeOfDay": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		t := fromGoTime(c.clock(), temporal{kind: kTime, prec: pMilli})
		t.year, t.month, t.day = 0, 0, 0
		return []Item{sysItem(t)}, nil
	}, false},
}

// isPrimitiveValue reports whether an item is a primitive that has a value,
// as opposed to a complex element or a primitive carrying only extensions.
func isPrimitiveValue(it Item) bool {
	switch it.v.(type) {
	case nil, map[string]any, []any, unresolved, typeInfo:
		return false
	}
	return true
}

func fnExtension(c *env, n *callNode, f []Item) ([]Item, error) {
	url, ok, err := c.stringArg(n, 0)
	if !ok {
		return nil, err
	}
	var out []Item
	for _, it := range f {
		m, _ := it.v.(map[string]any)
		if m == nil {
			m = it.ext
		}
		exts, _ := m["extension"].([]any)
		for _, e := range exts {
			em, ok := e.(map[string]any)
			if ok && em["url"] == url {
				out = append(out, Item{v: em, typ: "Extension"})
			}
		}
	}
	return out, nil
}

// fnResolve follows references (http://hl7.org/fhir/R4/fhirpath.html#functions,
// resolve()). Contained ("#id") and Bundle-local references are found in
// %resource; others go to Options.Resolve. When the target cannot be
// fetched, the result is a content-less item whose type is the resource
// type named by the reference, so that the search parameter idiom
// `subject.where(resolve() is Patient)` works at indexing time without any
// I/O.
func fnResolve(c *env, n *callNode, f []Item) ([]Item, error) {
	var out []Item
	for _, it := range f {
		var ref, typ string
		switch v := it.v.(type) {
		case string:
			ref = v
		case map[string]any:
			ref, _ = v["reference"].(string)
			typ, _ = v["type"].(string)
		}
		if ref == "" && typ == "" {
			continue
		}
		if target, ok := c.localTarget(ref); ok {
			out = append(out, target)
			continue
		}
		if c.opts.Resolve != nil && ref != "" {
			if r, ok := c.opts.Resolve(ref); ok && r != nil {
				out = append(out, Item{v: r, typ: inferredType(Item{v: r})})
				continue
			}
		}
		rt := typeFromReference(ref)
		if rt == "" && typ != "" {
			// Reference.type is a type name or a StructureDefinition URL.
			rt = typ[strings.LastIndexByte(typ, '/')+1:]
		}
		if rt != "" {
			out = append(out, Item{v: unresolved{ref: ref}, typ: rt})
		}
	}
	return out, nil
}

func (c *env) localTarget(ref string) (Item, bool) {
	if len(c.resource) == 0 || ref == "" {
		return Item{}, false
	}
	root, _ := c.resource[0].v.(map[string]any)
	if id, ok := strings.CutPrefix(ref, "#"); ok {
		contained, _ := root["contained"].([]any)
		for _, r := range contained {
			if m, ok := r.(map[string]any); ok && m["id"] == id {
				return Item{v: m, typ: inferredType(Item{v: m})}, true
			}
		}
		return Item{}, false
	}
	if root["resourceType"] != "Bundle" {
		return Item{}, false
	}
	entries, _ := root["entry"].([]any)
	for _, e := range entries {
		em, _ := e.(map[string]any)
		if em == nil {
			continue
		}
		res, _ := em["resource"].(map[string]any)
		if res == nil {
			continue
		}
		full, _ := em["fullUrl"].(string)
		rt, _ := res["resourceType"].(string)
		id, _ := res["id"].(string)
		if full == ref || (rt != "" && id != "" && (ref == rt+"/"+id || strings.HasSuffix(full, "/"+ref))) {
			return Item{v: res, typ: rt}, true
		}
	}
	return Item{}, false
}
