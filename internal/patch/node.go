// Package patch applies the two patch formats of the FHIR R4 patch
// interaction (https://hl7.org/fhir/R4/http.html#patch) to a resource's
// JSON: JSON Patch (RFC 6902) and FHIRPath Patch
// (https://hl7.org/fhir/R4/fhirpatch.html). It is pure: it reads bytes and
// returns bytes, and validating the patched resource is the caller's job.
//
// Both formats work on an ordered copy of the document, so members that a
// patch does not touch keep their order and numbers keep their exact text
// ("1.50" stays "1.50").
package patch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"unicode/utf8"
)

// kind is the JSON type of a node.
type kind uint8

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kArray
	kObject
)

// node is one JSON value. Objects keep their members in document order
// and numbers keep the text that was read, so that rendering an untouched
// document gives the same members, order and digits back.
type node struct {
	kind  kind
	b     bool
	s     string // string contents, or the literal text of a number
	mem   []member
	elems []*node
}

type member struct {
	key string
	val *node
}

// maxDepth bounds nesting so that hostile input cannot exhaust the stack;
// FHIR resources nest far less deeply.
const maxDepth = 500

// maxNodes bounds the number of JSON values a patched document may hold,
// far above any real resource, so that a patch cannot grow one without
// limit.
const maxNodes = 1 << 21

// size counts the JSON values in n.
func size(n *node) int {
	c := 1
	for _, m := range n.mem {
		c += size(m.val)
	}
	for _, e := range n.elems {
		c += size(e)
	}
	return c
}

var errTrailing = errors.New("unexpected data after the JSON value")

// parseJSON reads b as exactly one JSON value. Duplicate member names are
// rejected, as fhir.ParseObject does: RFC 8259 section 4 leaves their
// meaning undefined, so a patch could not say which one it addresses.
func parseJSON(b []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	n, err := decodeNode(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errTrailing
	}
	return n, nil
}

func decodeNode(dec *json.Decoder, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("JSON nested more than %d levels", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return &node{kind: kNull}, nil
	case bool:
		return &node{kind: kBool, b: t}, nil
	case json.Number:
		return &node{kind: kNumber, s: string(t)}, nil
	case string:
		return &node{kind: kString, s: t}, nil
	case json.Delim:
		switch t {
		case '[':
			n := &node{kind: kArray, elems: []*node{}}
			for dec.More() {
				e, err := decodeNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.elems = append(n.elems, e)
			}
			_, err := dec.Token()
			return n, err
		case '{':
			n := &node{kind: kObject, mem: []member{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := kt.(string)
				if n.index(key) >= 0 {
					return nil, fmt.Errorf("duplicate member %q", key)
				}
				v, err := decodeNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.mem = append(n.mem, member{key, v})
			}
			_, err := dec.Token()
			return n, err
		}
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// index returns the position of member key in an object, or -1.
func (n *node) index(key string) int {
	for i, m := range n.mem {
		if m.key == key {
			return i
		}
	}
	return -1
}

// get returns member key of an object, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != kObject {
		return nil
	}
	if i := n.index(key); i >= 0 {
		return n.mem[i].val
	}
	return nil
}

// set replaces member key in place or appends it.
func (n *node) set(key string, v *node) {
	if i := n.index(key); i >= 0 {
		n.mem[i].val = v
		return
	}
	n.mem = append(n.mem, member{key, v})
}

// del removes member key if present.
func (n *node) del(key string) {
	if i := n.index(key); i >= 0 {
		n.mem = append(n.mem[:i:i], n.mem[i+1:]...)
	}
}

// clone returns a deep copy, so that a value copied or added twice never
// shares structure with another place in the document.
func (n *node) clone() *node {
	c := &node{kind: n.kind, b: n.b, s: n.s}
	if n.kind == kObject {
		c.mem = make([]member, len(n.mem))
		for i, m := range n.mem {
			c.mem[i] = member{m.key, m.val.clone()}
		}
	}
	if n.kind == kArray {
		c.elems = make([]*node, len(n.elems))
		for i, e := range n.elems {
			c.elems[i] = e.clone()
		}
	}
	return c
}

// equal reports whether a and b are the same JSON value in the sense of
// RFC 6902 section 4.6: numbers are equal when their values are
// (1, 1.0 and 1e0 are one number), strings when their code points are,
// objects when they have the same members regardless of order, and arrays
// when their elements are equal pairwise.
func equal(a, b *node) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case kNull:
		return true
	case kBool:
		return a.b == b.b
	case kString:
		return a.s == b.s
	case kNumber:
		if a.s == b.s {
			return true
		}
		x, okx := new(big.Rat).SetString(a.s)
		y, oky := new(big.Rat).SetString(b.s)
		return okx && oky && x.Cmp(y) == 0
	case kArray:
		if len(a.elems) != len(b.elems) {
			return false
		}
		for i := range a.elems {
			if !equal(a.elems[i], b.elems[i]) {
				return false
			}
		}
		return true
	}
	if len(a.mem) != len(b.mem) {
		return false
	}
	for _, m := range a.mem {
		o := b.get(m.key)
		if o == nil || !equal(m.val, o) {
			return false
		}
	}
	return true
}

// bytes renders n as compact JSON.
func (n *node) bytes() []byte {
	return n.appendTo(nil)
}

func (n *node) appendTo(b []byte) []byte {
	switch n.kind {
	case kNull:
		return append(b, "null"...)
	case kBool:
		return strconv.AppendBool(b, n.b)
	case kNumber:
		return append(b, n.s...)
	case kString:
		return appendString(b, n.s)
	case kArray:
		b = append(b, '[')
		for i, e := range n.elems {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.appendTo(b)
		}
		return append(b, ']')
	}
	b = append(b, '{')
	for i, m := range n.mem {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m.key)
		b = append(b, ':')
		b = m.val.appendTo(b)
	}
	return append(b, '}')
}

// appendString writes s as a JSON string. Unlike encoding/json it leaves
// '<', '>' and '&' alone, so narrative XHTML stays readable; RFC 8259
// section 7 requires escaping only quotes, backslashes and control
// characters. Invalid UTF-8 cannot occur: the decoder already replaced it.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"':
			b = append(b, `\"`...)
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\r':
			b = append(b, `\r`...)
		case c == '\t':
			b = append(b, `\t`...)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
		i++
	}
	return append(b, '"')
}
