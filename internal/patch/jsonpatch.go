package patch

import (
	"strconv"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
)

// jsonOp is one decoded operation of a JSON Patch document.
type jsonOp struct {
	op    string
	path  []string // the parsed JSON Pointer of "path"
	from  []string // the parsed JSON Pointer of "from" (move, copy)
	value *node    // "value" (add, replace, test)
	// rawPath is the pointer text, for diagnostics.
	rawPath string
}

// ApplyJSONPatch applies a JSON Patch document (RFC 6902) to resource and
// returns the patched JSON. Operations are applied in order and the patch
// is atomic: the first failure returns an error and no result (RFC 6902
// section 5). Members untouched by the patch keep their order and numbers
// keep their exact text.
//
// Errors are *fhir.Error: status 400 when patch is not a valid JSON Patch
// document (not an array, an unknown op, a missing member, a malformed
// pointer), and 422 when a valid operation cannot be applied to this
// resource (a missing path, an index out of range, a failed test, a
// result that is not a JSON object). Diagnostics name the failing
// operation by its zero-based position in the array. An error that is not
// a *fhir.Error means resource itself is not a JSON object.
func ApplyJSONPatch(resource []byte, patch []byte) ([]byte, error) {
	doc, err := parseJSON(resource)
	if err != nil {
		return nil, resourceError(err)
	}
	if doc.kind != kObject {
		return nil, resourceError(fhir.ErrNotObject)
	}
	ops, ferr := parseJSONPatch(patch)
	if ferr != nil {
		return nil, ferr
	}
	rt := ""
	if t := doc.get("resourceType"); t != nil && t.kind == kString {
		rt = t.s
	}
	// copy can double the document with each operation, so a short patch
	// could build an enormous result; count what the patch adds.
	budget := maxNodes - size(doc)
	for i, op := range ops {
		if op.op == "copy" {
			if v, ferr := lookup(doc, op.from); ferr == nil {
				budget -= size(v)
			}
		} else if op.value != nil && op.op != "test" {
			budget -= size(op.value)
		}
		if budget < 0 {
			return nil, opError(unprocessable(fhir.IssueTooCostly, "the patched document would exceed %d JSON values", maxNodes), "JSON Patch operation %d (%s %s)", i, op.op, op.rawPath)
		}
		next, ferr := applyJSONOp(doc, op)
		if ferr != nil {
			return nil, opError(ferr, "JSON Patch operation %d (%s %s)", i, op.op, op.rawPath).At(pointerExpr(rt, op.path))
		}
		doc = next
	}
	if doc.kind != kObject {
		return nil, unprocessable(fhir.IssueStructure, "the patched document is not a JSON object")
	}
	return doc.bytes(), nil
}

// parseJSONPatch decodes the operations of a JSON Patch document (RFC 6902
// section 3 and 4). Members an operation does not define are ignored, as
// section 4 requires.
func parseJSONPatch(b []byte) ([]jsonOp, *fhir.Error) {
	doc, err := parseJSON(b)
	if err != nil {
		return nil, malformed("JSON Patch document is not valid JSON: %v", err)
	}
	if doc.kind != kArray {
		return nil, malformed("JSON Patch document must be a JSON array of operations (RFC 6902 section 3)")
	}
	ops := make([]jsonOp, 0, len(doc.elems))
	for i, e := range doc.elems {
		if e.kind != kObject {
			return nil, malformed("JSON Patch operation %d is not a JSON object", i)
		}
		var op jsonOp
		opv := e.get("op")
		if opv == nil || opv.kind != kString {
			return nil, malformed("JSON Patch operation %d has no \"op\" string", i)
		}
		op.op = opv.s
		switch op.op {
		case "add", "remove", "replace", "move", "copy", "test":
		default:
			return nil, malformed("JSON Patch operation %d: unknown op %q (RFC 6902 section 4 defines add, remove, replace, move, copy and test)", i, op.op)
		}
		p := e.get("path")
		if p == nil || p.kind != kString {
			return nil, malformed("JSON Patch operation %d (%s) has no \"path\" string", i, op.op)
		}
		op.rawPath = p.s
		if op.path, err = parsePointer(p.s); err != nil {
			return nil, malformed("JSON Patch operation %d (%s): path: %v", i, op.op, err)
		}
		switch op.op {
		case "add", "replace", "test":
			if op.value = e.get("value"); op.value == nil {
				return nil, malformed("JSON Patch operation %d (%s %s) has no \"value\"", i, op.op, p.s)
			}
		case "move", "copy":
			f := e.get("from")
			if f == nil || f.kind != kString {
				return nil, malformed("JSON Patch operation %d (%s %s) has no \"from\" string", i, op.op, p.s)
			}
			if op.from, err = parsePointer(f.s); err != nil {
				return nil, malformed("JSON Patch operation %d (%s): from: %v", i, op.op, err)
			}
		}
		ops = append(ops, op)
	}
	return ops, nil
}

type pointerError string

func (e pointerError) Error() string { return string(e) }

// parsePointer splits a JSON Pointer (RFC 6901 section 3) into its
// unescaped reference tokens. "" is the whole document; any other pointer
// starts with "/". In a token "~1" stands for "/" and "~0" for "~", and
// "~" followed by anything else is an error.
func parsePointer(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	if s[0] != '/' {
		return nil, pointerError("JSON Pointer " + strconv.Quote(s) + " must be empty or start with \"/\" (RFC 6901 section 3)")
	}
	toks := strings.Split(s[1:], "/")
	for i, t := range toks {
		if !strings.Contains(t, "~") {
			continue
		}
		var b strings.Builder
		for j := 0; j < len(t); j++ {
			if t[j] != '~' {
				b.WriteByte(t[j])
				continue
			}
			if j+1 < len(t) && (t[j+1] == '0' || t[j+1] == '1') {
				b.WriteByte("~/"[t[j+1]-'0'])
				j++
				continue
			}
			return nil, pointerError("JSON Pointer " + strconv.Quote(s) + " has \"~\" not followed by 0 or 1 (RFC 6901 section 3)")
		}
		toks[i] = b.String()
	}
	return toks, nil
}

// arrayIndex reads token as an index into an array of length n. RFC 6901
// section 4 allows only "0" or digits without a leading zero; "-" (the
// element after the last) is accepted only when appending is allowed.
func arrayIndex(token string, n int, appending bool) (int, *fhir.Error) {
	if token == "-" {
		if appending {
			return n, nil
		}
		return 0, unprocessable(fhir.IssueProcessing, "\"-\" names the element after the last one and can only be the target of add, move or copy (RFC 6901 section 4)")
	}
	if token == "" || len(token) > 1 && token[0] == '0' || strings.TrimLeft(token, "0123456789") != "" {
		return 0, unprocessable(fhir.IssueProcessing, "%q is not an array index (RFC 6901 section 4)", token)
	}
	i, err := strconv.Atoi(token)
	limit := n - 1
	if appending {
		limit = n
	}
	if err != nil || i > limit {
		return 0, unprocessable(fhir.IssueNotFound, "array index %s is out of range: the array has %d elements", token, n)
	}
	return i, nil
}

// lookup returns the value a pointer refers to (RFC 6901 section 4).
func lookup(doc *node, path []string) (*node, *fhir.Error) {
	cur := doc
	for i, t := range path {
		switch cur.kind {
		case kObject:
			next := cur.get(t)
			if next == nil {
				return nil, unprocessable(fhir.IssueNotFound, "member %q does not exist at %s", t, formatPointer(path[:i]))
			}
			cur = next
		case kArray:
			idx, err := arrayIndex(t, len(cur.elems), false)
			if err != nil {
				return nil, err
			}
			cur = cur.elems[idx]
		default:
			return nil, unprocessable(fhir.IssueNotFound, "%s is not an object or array, so it has no %q", formatPointer(path[:i]), t)
		}
	}
	return cur, nil
}

// applyJSONOp applies one operation and returns the (possibly new) root.
func applyJSONOp(doc *node, op jsonOp) (*node, *fhir.Error) {
	switch op.op {
	case "add":
		return add(doc, op.path, op.value.clone())
	case "remove":
		if len(op.path) == 0 {
			return nil, unprocessable(fhir.IssueProcessing, "cannot remove the whole resource")
		}
		_, err := remove(doc, op.path)
		return doc, err
	case "replace":
		// Section 4.3: the target location MUST exist; the value then
		// takes the old value's place, which keeps member order.
		if len(op.path) == 0 {
			return op.value.clone(), nil
		}
		parent, err := lookup(doc, op.path[:len(op.path)-1])
		if err != nil {
			return nil, err
		}
		last := op.path[len(op.path)-1]
		switch parent.kind {
		case kObject:
			i := parent.index(last)
			if i < 0 {
				return nil, unprocessable(fhir.IssueNotFound, "member %q does not exist at %s", last, formatPointer(op.path[:len(op.path)-1]))
			}
			parent.mem[i].val = op.value.clone()
		case kArray:
			i, err := arrayIndex(last, len(parent.elems), false)
			if err != nil {
				return nil, err
			}
			parent.elems[i] = op.value.clone()
		default:
			return nil, unprocessable(fhir.IssueNotFound, "%s is not an object or array", formatPointer(op.path[:len(op.path)-1]))
		}
		return doc, nil
	case "move":
		// Section 4.4: "from" MUST NOT be a proper prefix of "path".
		if isPrefix(op.from, op.path) {
			if len(op.from) == len(op.path) {
				_, err := lookup(doc, op.from)
				return doc, err
			}
			return nil, unprocessable(fhir.IssueProcessing, "cannot move %s into one of its own children", formatPointer(op.from))
		}
		v, err := remove(doc, op.from)
		if err != nil {
			return nil, err
		}
		return add(doc, op.path, v)
	case "copy":
		v, err := lookup(doc, op.from)
		if err != nil {
			return nil, err
		}
		return add(doc, op.path, v.clone())
	}
	// test (section 4.6)
	v, err := lookup(doc, op.path)
	if err != nil {
		return nil, err
	}
	if !equal(v, op.value) {
		return nil, unprocessable(fhir.IssueProcessing, "test failed: the value at %s is %s, not %s", formatPointer(op.path), clip(v.bytes()), clip(op.value.bytes()))
	}
	return doc, nil
}

// add follows RFC 6902 section 4.1: an existing member is replaced, an
// array index shifts later elements up, "-" appends, and the parent must
// already exist.
func add(doc *node, path []string, v *node) (*node, *fhir.Error) {
	if len(path) == 0 {
		return v, nil
	}
	parent, err := lookup(doc, path[:len(path)-1])
	if err != nil {
		return nil, err
	}
	last := path[len(path)-1]
	switch parent.kind {
	case kObject:
		parent.set(last, v)
	case kArray:
		i, err := arrayIndex(last, len(parent.elems), true)
		if err != nil {
			return nil, err
		}
		parent.elems = append(parent.elems, nil)
		copy(parent.elems[i+1:], parent.elems[i:])
		parent.elems[i] = v
	default:
		return nil, unprocessable(fhir.IssueNotFound, "%s is not an object or array, so nothing can be added to it", formatPointer(path[:len(path)-1]))
	}
	return doc, nil
}

// remove follows RFC 6902 section 4.2 and returns the removed value.
func remove(doc *node, path []string) (*node, *fhir.Error) {
	if len(path) == 0 {
		return nil, unprocessable(fhir.IssueProcessing, "cannot remove the whole resource")
	}
	parent, err := lookup(doc, path[:len(path)-1])
	if err != nil {
		return nil, err
	}
	last := path[len(path)-1]
	switch parent.kind {
	case kObject:
		v := parent.get(last)
		if v == nil {
			return nil, unprocessable(fhir.IssueNotFound, "member %q does not exist at %s", last, formatPointer(path[:len(path)-1]))
		}
		parent.del(last)
		return v, nil
	case kArray:
		i, err := arrayIndex(last, len(parent.elems), false)
		if err != nil {
			return nil, err
		}
		v := parent.elems[i]
		parent.elems = append(parent.elems[:i:i], parent.elems[i+1:]...)
		return v, nil
	}
	return nil, unprocessable(fhir.IssueNotFound, "%s is not an object or array", formatPointer(path[:len(path)-1]))
}

func isPrefix(prefix, path []string) bool {
	if len(prefix) > len(path) {
		return false
	}
	for i := range prefix {
		if prefix[i] != path[i] {
			return false
		}
	}
	return true
}

// formatPointer renders tokens as a JSON Pointer, escaping as RFC 6901
// section 3 requires; the whole document is shown as "/" for readability.
func formatPointer(toks []string) string {
	if len(toks) == 0 {
		return "the document root"
	}
	var b strings.Builder
	for _, t := range toks {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(t))
	}
	return b.String()
}

// pointerExpr renders a pointer as the FHIRPath-style location that
// OperationOutcome.issue.expression carries ("Patient.name[0].family").
func pointerExpr(resourceType string, toks []string) string {
	var b strings.Builder
	b.WriteString(resourceType)
	for _, t := range toks {
		if t != "" && strings.TrimLeft(t, "0123456789") == "" {
			b.WriteString("[" + t + "]")
			continue
		}
		if t == "-" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(t)
	}
	return b.String()
}

// clip shortens a value shown in diagnostics.
func clip(b []byte) string {
	const max = 200
	if len(b) > max {
		return strings.ToValidUTF8(string(b[:max]), "") + "..."
	}
	return string(b)
}
