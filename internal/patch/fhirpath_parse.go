package patch

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhir/spec"
)

// fpOp is one decoded FHIRPath Patch operation
// (https://hl7.org/fhir/R4/fhirpatch.html, the table of operations).
type fpOp struct {
	typ   string // add | insert | delete | replace | move
	path  string
	name  string // add
	value *pvalue
	// index (insert), source and destination (move); -1 when absent.
	index, source, destination int
}

// pvalue is the value part of an operation: either a typed value
// (value[x], or a resource), or, for anonymous types such as a backbone
// element, the parts it is built from once the target element is known
// (fhirpatch.html: "instead of providing a value, a set of parts that are
// values are provided").
type pvalue struct {
	typ   string // FHIR type of value[x] ("date", "HumanName") or the resource type
	val   *node  // the JSON value; nil when the primitive has only extensions
	ext   *node  // the "_value[x]" object of a primitive, or nil
	parts []*node
}

func (v *pvalue) primitive() bool { return v.parts == nil && spec.IsPrimitive(v.typ) }

// parseFHIRPathPatch decodes the Parameters resource of a FHIRPath Patch.
// Every parameter is named "operation" and carries its arguments as parts
// named type, path, name, value, index, source and destination; anything
// else makes the document malformed.
func parseFHIRPathPatch(b []byte) ([]fpOp, *fhir.Error) {
	doc, err := parseJSON(b)
	if err != nil {
		return nil, malformed("FHIRPath Patch document is not valid JSON: %v", err)
	}
	if doc.kind != kObject || resourceTypeOf(doc) != "Parameters" {
		return nil, malformed("FHIRPath Patch document must be a Parameters resource")
	}
	params := doc.get("parameter")
	if params == nil {
		return nil, nil
	}
	if params.kind != kArray {
		return nil, malformed("Parameters.parameter must be an array")
	}
	ops := make([]fpOp, 0, len(params.elems))
	for i, p := range params.elems {
		op, ferr := parseOperation(p)
		if ferr != nil {
			return nil, opError(ferr, "FHIRPath Patch operation %d", i).At("Parameters.parameter[" + strconv.Itoa(i) + "]")
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func parseOperation(p *node) (fpOp, *fhir.Error) {
	op := fpOp{index: -1, source: -1, destination: -1}
	if p.kind != kObject {
		return op, malformed("parameter is not a JSON object")
	}
	if name := p.get("name"); name == nil || name.kind != kString || name.s != "operation" {
		return op, malformed("parameter must be named \"operation\"")
	}
	parts := p.get("part")
	if parts == nil || parts.kind != kArray {
		return op, malformed("operation has no parts")
	}
	seen := map[string]bool{}
	for _, part := range parts.elems {
		if part.kind != kObject {
			return op, malformed("part is not a JSON object")
		}
		nm := part.get("name")
		if nm == nil || nm.kind != kString {
			return op, malformed("part has no name")
		}
		if seen[nm.s] {
			return op, malformed("part %q appears more than once", nm.s)
		}
		seen[nm.s] = true
		var ferr *fhir.Error
		switch nm.s {
		case "type":
			op.typ, ferr = stringPart(part, nm.s)
		case "path":
			op.path, ferr = stringPart(part, nm.s)
		case "name":
			op.name, ferr = stringPart(part, nm.s)
		case "value":
			op.value, ferr = valuePart(part)
		case "index":
			op.index, ferr = intPart(part, nm.s)
		case "source":
			op.source, ferr = intPart(part, nm.s)
		case "destination":
			op.destination, ferr = intPart(part, nm.s)
		default:
			return op, malformed("unknown part %q", nm.s)
		}
		if ferr != nil {
			return op, ferr
		}
	}
	need := func(ok bool, what string) *fhir.Error {
		if ok {
			return nil
		}
		return malformed("%s operation needs %s part", op.typ, fhir.A(what))
	}
	var ferr *fhir.Error
	switch op.typ {
	case "add":
		ferr = firstErr(need(op.path != "", "path"), need(op.name != "", "name"), need(op.value != nil, "value"))
	case "insert":
		ferr = firstErr(need(op.path != "", "path"), need(op.value != nil, "value"), need(op.index >= 0, "index"))
	case "delete":
		ferr = need(op.path != "", "path")
	case "replace":
		ferr = firstErr(need(op.path != "", "path"), need(op.value != nil, "value"))
	case "move":
		ferr = firstErr(need(op.path != "", "path"), need(op.source >= 0, "source"), need(op.destination >= 0, "destination"))
	case "":
		return op, malformed("operation has no type part")
	default:
		return op, malformed("unknown operation type %q (fhirpatch.html defines add, insert, delete, replace and move)", op.typ)
	}
	return op, ferr
}

func firstErr(errs ...*fhir.Error) *fhir.Error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// valueKey finds the single value[x] member of a part.
func valueKey(part *node) (key string, ok bool, err *fhir.Error) {
	for _, m := range part.mem {
		if strings.HasPrefix(m.key, "value") && len(m.key) > 5 && unicode.IsUpper(rune(m.key[5])) {
			if key != "" {
				return "", false, malformed("part has both %s and %s", key, m.key)
			}
			key = m.key
		}
	}
	if key == "" {
		for _, m := range part.mem {
			if strings.HasPrefix(m.key, "_value") && len(m.key) > 6 && unicode.IsUpper(rune(m.key[6])) {
				return m.key[1:], true, nil
			}
		}
	}
	return key, key != "", nil
}

// stringPart reads a part whose value is a string-like primitive
// (valueString, valueCode).
func stringPart(part *node, name string) (string, *fhir.Error) {
	key, ok, err := valueKey(part)
	if err != nil {
		return "", err
	}
	v := part.get(key)
	if !ok || v == nil || v.kind != kString || v.s == "" {
		return "", malformed("part %q needs a non-empty string value", name)
	}
	return v.s, nil
}

// intPart reads a part whose value is a non-negative integer
// (valueInteger).
func intPart(part *node, name string) (int, *fhir.Error) {
	key, ok, err := valueKey(part)
	if err != nil {
		return 0, err
	}
	v := part.get(key)
	if !ok || v == nil || v.kind != kNumber {
		return 0, malformed("part %q needs an integer value", name)
	}
	i, perr := strconv.Atoi(v.s)
	if perr != nil || i < 0 {
		return 0, malformed("part %q must be a non-negative integer, not %s", name, v.s)
	}
	return i, nil
}

// valuePart reads the value of a part: value[x] (with its "_value[x]"
// companion for a primitive), a resource, or nested parts.
func valuePart(part *node) (*pvalue, *fhir.Error) {
	key, ok, err := valueKey(part)
	if err != nil {
		return nil, err
	}
	res, parts := part.get("resource"), part.get("part")
	n := 0
	for _, present := range []bool{ok, res != nil, parts != nil} {
		if present {
			n++
		}
	}
	if n != 1 {
		return nil, malformed("part %q needs exactly one of value[x], resource or part", partName(part))
	}
	switch {
	case ok:
		suffix := key[len("value"):]
		typ := suffix
		if low := strings.ToLower(suffix[:1]) + suffix[1:]; spec.IsPrimitive(low) {
			typ = low
		} else if !spec.IsType(suffix) || spec.Kind(suffix) != "complex-type" {
			return nil, malformed("%s does not name a FHIR data type", key)
		}
		pv := &pvalue{typ: typ, val: part.get(key), ext: part.get("_" + key)}
		if spec.IsPrimitive(typ) {
			if pv.val != nil && (pv.val.kind == kObject || pv.val.kind == kArray) {
				return nil, malformed("%s must be a primitive JSON value", key)
			}
			if pv.val != nil && pv.val.kind == kNull {
				pv.val = nil
			}
			if pv.ext != nil && pv.ext.kind != kObject {
				return nil, malformed("_%s must be a JSON object", key)
			}
			if pv.val == nil && pv.ext == nil {
				return nil, malformed("%s has no value", key)
			}
		} else if pv.val == nil || pv.val.kind != kObject {
			return nil, malformed("%s must be a JSON object", key)
		}
		return pv, nil
	case res != nil:
		rt := ""
		if res.kind == kObject {
			rt = resourceTypeOf(res)
		}
		if !spec.IsResourceType(rt) {
			return nil, malformed("part %q has a resource without a known resourceType", partName(part))
		}
		return &pvalue{typ: rt, val: res}, nil
	}
	if parts.kind != kArray || len(parts.elems) == 0 {
		return nil, malformed("part %q needs a non-empty array of parts", partName(part))
	}
	for _, p := range parts.elems {
		if p.kind != kObject {
			return nil, malformed("part is not a JSON object")
		}
		if nm := p.get("name"); nm == nil || nm.kind != kString || nm.s == "" {
			return nil, malformed("part has no name")
		}
		if _, err := valuePart(p); err != nil {
			return nil, err
		}
	}
	return &pvalue{parts: parts.elems}, nil
}

func partName(part *node) string {
	if nm := part.get("name"); nm != nil && nm.kind == kString {
		return nm.s
	}
	return ""
}
