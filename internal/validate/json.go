package validate

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// kind is the JSON type of a value.
type kind uint8

const (
	jNull kind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

func (k kind) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
}

// value is a parsed JSON value. Objects keep their members in document
// order, duplicates included, so the validator can report them; numbers
// keep their text, since FHIR's lexical rules apply to it.
type value struct {
	kind    kind
	b       bool
	s       string // string content or number text
	items   []*value
	members []member
}

type member struct {
	key string
	val *value
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack; the
// deepest official example nests well under 64 levels.
const maxDepth = 512

type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.off, e.msg)
}

type parser struct {
	b   []byte
	i   int
	err *syntaxError
}

// parse reads b as exactly one JSON value (RFC 8259), allowing only
// whitespace around it.
func parse(b []byte) (*value, error) {
	p := &parser{b: b}
	v := p.value(0)
	if p.err == nil {
		p.ws()
		if p.i < len(p.b) {
			p.fail("unexpected data after the JSON value")
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	return v, nil
}

func (p *parser) fail(msg string) {
	if p.err == nil {
		p.err = &syntaxError{p.i, msg}
	}
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) *value {
	if depth > maxDepth {
		p.fail("nesting too deep")
		return nil
	}
	p.ws()
	if p.i >= len(p.b) {
		p.fail("unexpected end of input")
		return nil
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, ok := p.str()
		if !ok {
			return nil
		}
		return &value{kind: jString, s: s}
	case c == 't':
		return p.lit("true", &value{kind: jBool, b: true})
	case c == 'f':
		return p.lit("false", &value{kind: jBool})
	case c == 'n':
		return p.lit("null", &value{kind: jNull})
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	p.fail(fmt.Sprintf("unexpected character %q", p.b[p.i]))
	return nil
}

func (p *parser) lit(word string, v *value) *value {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		p.fail("invalid literal")
		return nil
	}
	p.i += len(word)
	return v
}

func (p *parser) object(depth int) *value {
	p.i++ // {
	v := &value{kind: jObject}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return v
	}
	for {
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			p.fail("expected a member name")
			return nil
		}
		key, ok := p.str()
		if !ok {
			return nil
		}
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			p.fail("expected ':'")
			return nil
		}
		p.i++
		m := p.value(depth + 1)
		if p.err != nil {
			return nil
		}
		v.members = append(v.members, member{key, m})
		p.ws()
		if p.i >= len(p.b) {
			p.fail("unexpected end of input in object")
			return nil
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return v
		default:
			p.fail("expected ',' or '}'")
			return nil
		}
	}
}

func (p *parser) array(depth int) *value {
	p.i++ // [
	v := &value{kind: jArray}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return v
	}
	for {
		it := p.value(depth + 1)
		if p.err != nil {
			return nil
		}
		v.items = append(v.items, it)
		p.ws()
		if p.i >= len(p.b) {
			p.fail("unexpected end of input in array")
			return nil
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return v
		default:
			p.fail("expected ',' or ']'")
			return nil
		}
	}
}

func (p *parser) number() *value {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	switch {
	case p.i < len(p.b) && p.b[p.i] == '0':
		p.i++
	case digits() == 0:
		p.fail("invalid number")
		return nil
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			p.fail("invalid number")
			return nil
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			p.fail("invalid number")
			return nil
		}
	}
	return &value{kind: jNumber, s: string(p.b[start:p.i])}
}

// str reads a string starting at the opening quote. Invalid UTF-8 and
// unpaired surrogate escapes are errors: FHIR JSON is UTF-8 (R4 json.html).
func (p *parser) str() (string, bool) {
	p.i++ // "
	start := p.i
	// Fast path: no escapes.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			if !utf8.Valid(s) {
				p.fail("invalid UTF-8 in string")
				return "", false
			}
			p.i++
			return string(s), true
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			p.fail("unescaped control character in string")
			return "", false
		}
		p.i++
	}
	buf := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			if !utf8.Valid(buf) {
				p.fail("invalid UTF-8 in string")
				return "", false
			}
			p.i++
			return string(buf), true
		case c < 0x20:
			p.fail("unescaped control character in string")
			return "", false
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.b) {
			break
		}
		e := p.b[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					p.i += 2
					if r2, ok = p.hex4(); !ok {
						return "", false
					}
				}
				r = utf16.DecodeRune(r, r2)
				if r == utf8.RuneError {
					p.fail("unpaired surrogate in string")
					return "", false
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			p.fail("invalid escape in string")
			return "", false
		}
	}
	p.fail("unterminated string")
	return "", false
}

func (p *parser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		p.fail("invalid \\u escape")
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
	if err != nil {
		p.fail("invalid \\u escape")
		return 0, false
	}
	p.i += 4
	return rune(n), true
}
