package fhirpath

import (
	"strconv"
	"strings"
)

// Binding powers from the operator precedence table of
// http://hl7.org/fhirpath/N1/#operator-precedence, loosest first. All binary
// operators associate to the left.
const (
	bpImplies = iota + 1
	bpOr
	bpAnd
	bpMembership
	bpEquality
	bpInequality
	bpUnion
	bpType
	bpAdditive
	bpMultiplicative
	bpUnary
	bpPostfix
)

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 200

type parser struct {
	toks  []token
	pos   int
	depth int
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *parser) isOp(s string) bool {
	t := p.peek()
	return t.kind == tOp && t.text == s
}

func (p *parser) expect(s string) error {
	t := p.next()
	if t.kind != tOp || t.text != s {
		return syntaxErr(t.pos, "expected '"+s+"'")
	}
	return nil
}

func binaryPower(t token) int {
	switch t.kind {
	case tOp:
		switch t.text {
		case "*", "/":
			return bpMultiplicative
		case "+", "-", "&":
			return bpAdditive
		case "|":
			return bpUnion
		case "<", ">", "<=", ">=":
			return bpInequality
		case "=", "~", "!=", "!~":
			return bpEquality
		}
	case tIdent:
		if t.quoted {
			return 0
		}
		switch t.text {
		case "div", "mod":
			return bpMultiplicative
		case "is", "as":
			return bpType
		case "in", "contains":
			return bpMembership
		case "and":
			return bpAnd
		case "or", "xor":
			return bpOr
		case "implies":
			return bpImplies
		}
	}
	return 0
}

func (p *parser) parseExpr(minBP int) (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, syntaxErr(p.peek().pos, "expression nested too deeply")
	}
	var left node
	var err error
	if t := p.peek(); t.kind == tOp && (t.text == "+" || t.text == "-") {
		p.next()
		operand, err := p.parseExpr(bpUnary)
		if err != nil {
			return nil, err
		}
		left = &unaryNode{neg: t.text == "-", x: operand}
	} else if left, err = p.parseTerm(); err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind == tOp && t.text == "." {
			p.next()
			if left, err = p.parseInvocation(left); err != nil {
				return nil, err
			}
			continue
		}
		if t.kind == tOp && t.text == "[" {
			p.next()
			idx, err := p.parseExpr(0)
			if err != nil {
				return nil, err
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			left = &indexNode{x: left, idx: idx}
			continue
		}
		bp := binaryPower(t)
		if bp == 0 || bp <= minBP {
			return left, nil
		}
		p.next()
		if bp == bpType {
			ts, err := p.parseTypeSpec()
			if err != nil {
				return nil, err
			}
			left = &typeOpNode{as: t.text == "as", x: left, t: ts}
			continue
		}
		right, err := p.parseExpr(bp)
		if err != nil {
			return nil, err
		}
		left, err = newBinary(t, left, right)
		if err != nil {
			return nil, err
		}
	}
}

func (p *parser) parseTypeSpec() (typeSpec, error) {
	t := p.next()
	if t.kind != tIdent {
		return typeSpec{}, syntaxErr(t.pos, "expected a type name")
	}
	if p.isOp(".") && p.toks[p.pos+1].kind == tIdent {
		p.next()
		n := p.next()
		return typeSpec{ns: t.text, name: n.text}, nil
	}
	return typeSpec{name: t.text}, nil
}

func (p *parser) parseTerm() (node, error) {
	t := p.next()
	switch t.kind {
	case tOp:
		switch t.text {
		case "(":
			x, err := p.parseExpr(0)
			if err != nil {
				return nil, err
			}
			return x, p.expect(")")
		case "{":
			return &literalNode{}, p.expect("}")
		}
	case tIdent:
		if !t.quoted {
			switch t.text {
			case "true", "false":
				return &literalNode{items: boolItems(t.text == "true")}, nil
			case "and", "or", "xor", "implies", "div", "mod":
				return nil, syntaxErr(t.pos, "unexpected '"+t.text+"'")
			}
		}
		p.pos--
		return p.parseInvocation(nil)
	case tString:
		return &literalNode{items: []Item{{v: t.text, typ: TypeString}}}, nil
	case tNumber, tLong:
		return p.parseNumber(t)
	case tDate, tDateTime, tTime:
		k := map[tokKind]temporalKind{tDate: kDate, tDateTime: kDateTime, tTime: kTime}[t.kind]
		v, err := parseTemporal(t.text, k)
		if err != nil {
			return nil, syntaxErr(t.pos, err.Error())
		}
		return &literalNode{items: []Item{sysItem(v)}}, nil
	case tExtConst:
		return &varNode{name: t.text}, nil
	case tSpecial:
		return &specialNode{name: t.text}, nil
	case tEOF:
		return nil, syntaxErr(t.pos, "unexpected end of expression")
	}
	return nil, syntaxErr(t.pos, "unexpected '"+t.text+"'")
}

// parseNumber reads an integer, decimal or quantity literal
// (http://hl7.org/fhirpath/N1/#quantity): a number followed by a quoted
// UCUM unit or a calendar duration keyword is a quantity.
func (p *parser) parseNumber(t token) (node, error) {
	var v any
	if t.kind == tLong || !strings.Contains(t.text, ".") {
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, syntaxErr(t.pos, "integer out of range")
		}
		v = n
	} else {
		d, ok := parseDecimal(t.text)
		if !ok {
			return nil, syntaxErr(t.pos, "bad decimal")
		}
		v = d
	}
	u := p.peek()
	unit := ""
	switch {
	case u.kind == tString:
		unit = u.text
	case u.kind == tIdent && !u.quoted && calendarPlural[u.text] != "":
		unit = calendarPlural[u.text]
	}
	if unit == "" || t.kind == tLong {
		return &literalNode{items: []Item{sysItem(v)}}, nil
	}
	p.next()
	d, ok := v.(decimal)
	if !ok {
		d = decFromInt(v.(int64))
	}
	return &literalNode{items: []Item{sysItem(quantity{v: d, unit: unit})}}, nil
}

// parseInvocation reads a member name, function call or special variable,
// applied to focus (nil means the expression's input).
func (p *parser) parseInvocation(focus node) (node, error) {
	t := p.next()
	switch t.kind {
	case tSpecial:
		if focus != nil {
			return nil, syntaxErr(t.pos, t.text+" cannot follow '.'")
		}
		return &specialNode{name: t.text}, nil
	case tIdent:
	default:
		return nil, syntaxErr(t.pos, "expected a name")
	}
	if !p.isOp("(") {
		return &memberNode{x: focus, name: t.text}, nil
	}
	p.next()
	var args []node
	if !p.isOp(")") {
		for {
			a, err := p.parseExpr(0)
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			if p.isOp(",") {
				p.next()
				continue
			}
			break
		}
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	return newCall(t, focus, args)
}

// asTypeSpec reads a function argument that names a type (is(T), as(T),
// ofType(T)): the grammar parses it as an expression, so it arrives as a
// member name or a two-part path.
func asTypeSpec(n node) (typeSpec, bool) {
	m, ok := n.(*memberNode)
	if !ok {
		return typeSpec{}, false
	}
	if m.x == nil {
		return typeSpec{name: m.name}, true
	}
	ns, ok := m.x.(*memberNode)
	if !ok || ns.x != nil {
		return typeSpec{}, false
	}
	return typeSpec{ns: ns.name, name: m.name}, true
}

type typeSpec struct{ ns, name string }

func (t typeSpec) String() string {
	if t.ns != "" {
		return t.ns + "." + t.name
	}
	return t.name
}
