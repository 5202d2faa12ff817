package fhirpath

import (
	"encoding/json"
	"math/big"
	"strings"
)

type binOp uint8

const (
	opUnion binOp = iota
	opEq
	opNe
	opEquiv
	opNotEquiv
	opLt
	opGt
	opLe
	opGe
	opAdd
	opSub
	opMul
	opDiv
	opIntDiv
	opMod
	opConcat
	opAnd
	opOr
	opXor
	opImplies
	opIn
	opContains
)

var binOps = map[string]binOp{
	"|": opUnion, "=": opEq, "!=": opNe, "~": opEquiv, "!~": opNotEquiv,
	"<": opLt, ">": opGt, "<=": opLe, ">=": opGe, "+": opAdd, "-": opSub,
	"*": opMul, "/": opDiv, "div": opIntDiv, "mod": opMod, "&": opConcat,
	"and": opAnd, "or": opOr, "xor": opXor, "implies": opImplies,
	"in": opIn, "contains": opContains,
}

type binaryNode struct {
	op   binOp
	l, r node
}

func newBinary(t token, l, r node) (node, error) {
	op, ok := binOps[t.text]
	if !ok {
		return nil, syntaxErr(t.pos, "unknown operator "+t.text)
	}
	return &binaryNode{op: op, l: l, r: r}, nil
}

func (n *binaryNode) eval(c *env, in []Item) ([]Item, error) {
	switch n.op {
	case opAnd, opOr, opImplies, opXor:
		return n.evalLogic(c, in)
	}
	a, err := n.l.eval(c, in)
	if err != nil {
		return nil, err
	}
	b, err := n.r.eval(c, in)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case opUnion:
		return union(a, b), nil
	case opEq, opNe:
		eq, ok := collectionsEqual(a, b)
		if !ok {
			return nil, nil
		}
		return boolItems(eq == (n.op == opEq)), nil
	case opEquiv, opNotEquiv:
		return boolItems(collectionsEquivalent(a, b) == (n.op == opEquiv)), nil
	case opIn, opContains:
		elem, coll := a, b
		if n.op == opContains {
			elem, coll = b, a
		}
		if len(elem) == 0 {
			return nil, nil
		}
		if len(elem) > 1 {
			return nil, evalErr("membership test of a collection of %d items", len(elem))
		}
		if set := c.stringIndex(coll); set != nil {
			if s, ok := plainString(elem[0]); ok {
				return boolItems(set[s]), nil
			}
		}
		return boolItems(contains(coll, elem[0])), nil
	case opConcat:
		if len(a) > 1 || len(b) > 1 {
			return nil, evalErr("'&' needs single strings")
		}
		var sa, sb string
		if len(a) == 1 {
			sa, _ = a[0].v.(string)
		}
		if len(b) == 1 {
			sb, _ = b[0].v.(string)
		}
		return concat(sa, sb)
	}
	if len(a) == 0 || len(b) == 0 {
		return nil, nil
	}
	if len(a) > 1 || len(b) > 1 {
		return nil, evalErr("operator applied to a collection of more than one item")
	}
	switch n.op {
	case opLt, opGt, opLe, opGe:
		cmp, ok, err := compareItems(a[0], b[0])
		if err != nil || !ok {
			return nil, err
		}
		var r bool
		switch n.op {
		case opLt:
			r = cmp < 0
		case opGt:
			r = cmp > 0
		case opLe:
			r = cmp <= 0
		default:
			r = cmp >= 0
		}
		return boolItems(r), nil
	}
	return arith(n.op, a[0], b[0])
}

// toBool applies singleton evaluation for a Boolean context
// (http://hl7.org/fhirpath/N1/#singleton-evaluation-of-collections): an
// empty collection is unknown, a single boolean is itself, any other single
// item is true, and several items are an error.
func toBool(xs []Item) (val, known bool, err error) {
	switch len(xs) {
	case 0:
		return false, false, nil
	case 1:
		if b, ok := xs[0].v.(bool); ok {
			return b, true, nil
		}
		return true, true, nil
	}
	return false, false, evalErr("expected a single boolean, got %d items", len(xs))
}

// evalLogic implements the three-valued and, or, xor and implies tables of
// http://hl7.org/fhirpath/N1/#boolean-logic. The right operand is skipped
// when the left one decides the result.
func (n *binaryNode) evalLogic(c *env, in []Item) ([]Item, error) {
	a, err := n.l.eval(c, in)
	if err != nil {
		return nil, err
	}
	av, ak, err := toBool(a)
	if err != nil {
		return nil, err
	}
	switch {
	case n.op == opAnd && ak && !av:
		return boolItems(false), nil
	case n.op == opOr && ak && av:
		return boolItems(true), nil
	case n.op == opImplies && ak && !av:
		return boolItems(true), nil
	}
	b, err := n.r.eval(c, in)
	if err != nil {
		return nil, err
	}
	bv, bk, err := toBool(b)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case opAnd:
		if bk && !bv {
			return boolItems(false), nil
		}
		if ak && bk {
			return boolItems(true), nil
		}
	case opOr:
		if bk && bv {
			return boolItems(true), nil
		}
		if ak && bk {
			return boolItems(false), nil
		}
	case opXor:
		if ak && bk {
			return boolItems(av != bv), nil
		}
	case opImplies:
		if ak {
			if bk {
				return boolItems(bv), nil
			}
			return nil, nil
		}
		if bk && bv {
			return boolItems(true), nil
		}
	}
	return nil, nil
}

func union(a, b []Item) []Item {
	if out, ok := unionStrings(a, b); ok {
		return out
	}
	out := make([]Item, 0, len(a)+len(b))
	for _, x := range a {
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	for _, x := range b {
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func contains(coll []Item, x Item) bool {
	for _, y := range coll {
		if eq, ok := itemsEqual(y, x); ok && eq {
			return true
		}
	}
	return false
}

// collectionsEqual implements = on collections
// (http://hl7.org/fhirpath/N1/#equals): empty if either side is empty,
// false if sizes differ, otherwise item by item in order.
func collectionsEqual(a, b []Item) (eq, ok bool) {
	if len(a) == 0 || len(b) == 0 {
		return false, false
	}
	if len(a) != len(b) {
		return false, true
	}
	for i := range a {
		eq, ok := itemsEqual(a[i], b[i])
		if !ok {
			return false, false
		}
		if !eq {
			return false, true
		}
	}
	return true, true
}

// collectionsEquivalent implements ~ (http://hl7.org/fhirpath/N1/#equivalent):
// two empty collections are equivalent, and order does not matter.
func collectionsEquivalent(a, b []Item) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
outer:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && itemsEquivalent(x, y) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

// itemsEqual compares two items after implicit conversion. ok is false when
// equality is unknown: temporal values of different precision, or
// quantities whose units cannot be compared.
func itemsEqual(a, b Item) (eq, ok bool) {
	// Fast path for the common case of comparing codes, strings and ids,
	// which needs no conversion (and so no boxing of values).
	if as, isStr := a.v.(string); isStr && !temporalTypes[a.typ] {
		if bs, isStr := b.v.(string); isStr && !temporalTypes[b.typ] {
			return as == bs, true
		}
	}
	av, ak := sysValue(a)
	bv, bk := sysValue(b)
	av, ak, bv, bk = promote(a.typ, av, ak, b.typ, bv, bk)
	if ak != bk {
		return false, true
	}
	switch ak {
	case kindBool, kindString, kindInt:
		return av == bv, true
	case kindDec:
		return av.(decimal).cmp(bv.(decimal)) == 0, true
	case kindTemporal:
		ta, tb := av.(temporal), bv.(temporal)
		if (ta.kind == kTime) != (tb.kind == kTime) {
			return false, true
		}
		cmp, ok := compareTemporal(ta, tb)
		return ok && cmp == 0, ok
	case kindQty:
		x, y, ok := sameScale(av.(quantity), bv.(quantity))
		if !ok {
			return false, false
		}
		return x.cmp(y) == 0, true
	case kindNone:
		return a.ext != nil && b.ext != nil && jsonEqual(a.ext, b.ext, false), true
	}
	return jsonEqual(a.v, b.v, false), true
}

// temporalTypes are the FHIR types whose JSON strings are dates or times.
var temporalTypes = map[string]bool{"date": true, "dateTime": true, "instant": true, "time": true}

// promote applies the implicit conversions of
// http://hl7.org/fhirpath/N1/#conversion: Integer to Decimal. A string
// whose element type the model did not know (at, ta == "") is also read
// as a date when compared with one; a typed string never is.
func promote(at string, av any, ak kind, bt string, bv any, bk kind) (any, kind, any, kind) {
	switch {
	case ak == kindInt && bk == kindDec:
		return decFromInt(av.(int64)), kindDec, bv, bk
	case ak == kindDec && bk == kindInt:
		return av, ak, decFromInt(bv.(int64)), kindDec
	case ak == kindString && bk == kindTemporal && at == "":
		if t, ok := stringAsTemporal(av.(string), bv.(temporal).kind); ok {
			return t, kindTemporal, bv, bk
		}
	case ak == kindTemporal && bk == kindString && bt == "":
		if t, ok := stringAsTemporal(bv.(string), av.(temporal).kind); ok {
			return av, ak, t, kindTemporal
		}
	}
	return av, ak, bv, bk
}

func stringAsTemporal(s string, k temporalKind) (temporal, bool) {
	var t temporal
	var err error
	if k == kTime {
		t, err = parseTemporal(s, kTime)
	} else {
		t, err = parseTemporalAuto(s)
	}
	return t, err == nil
}

func itemsEquivalent(a, b Item) bool {
	av, ak := sysValue(a)
	bv, bk := sysValue(b)
	av, ak, bv, bk = promote(a.typ, av, ak, b.typ, bv, bk)
	if ak != bk {
		return false
	}
	switch ak {
	case kindString:
		return normalizeSpace(av.(string)) == normalizeSpace(bv.(string))
	case kindDec:
		return av.(decimal).equivalentTo(bv.(decimal))
	case kindTemporal:
		cmp, ok := compareTemporal(av.(temporal), bv.(temporal))
		return ok && cmp == 0
	case kindQty:
		x, y, ok := sameScale(av.(quantity), bv.(quantity))
		return ok && x.equivalentTo(y)
	case kindOther:
		return jsonEqual(a.v, b.v, true)
	}
	eq, ok := itemsEqual(a, b)
	return ok && eq
}

// normalizeSpace lower-cases and collapses whitespace, the string
// equivalence rule of http://hl7.org/fhirpath/N1/#equivalent.
func normalizeSpace(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// jsonEqual compares decoded JSON values structurally; numbers compare by
// value so that 1.0 and 1.00 are equal.
func jsonEqual(a, b any, equiv bool) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if equiv && k == "id" {
				continue
			}
			w, ok := y[k]
			if !ok || !jsonEqual(v, w, equiv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i], equiv) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		dx, ok1 := parseDecimal(string(x))
		dy, ok2 := parseDecimal(string(y))
		return ok1 && ok2 && dx.cmp(dy) == 0
	case string:
		y, ok := b.(string)
		if equiv {
			return ok && normalizeSpace(x) == normalizeSpace(y)
		}
		return ok && x == y
	}
	return a == b
}

// compareItems orders two single items for <, >, <= and >=
// (http://hl7.org/fhirpath/N1/#comparison). ok is false when the order is
// unknown; operands of different types are an error.
func compareItems(a, b Item) (cmp int, ok bool, err error) {
	av, ak := sysValue(a)
	bv, bk := sysValue(b)
	av, ak, bv, bk = promote(a.typ, av, ak, b.typ, bv, bk)
	if ak != bk {
		return 0, false, evalErr("cannot compare %s with %s", a.typ, b.typ)
	}
	switch ak {
	case kindString:
		return strings.Compare(av.(string), bv.(string)), true, nil
	case kindInt:
		x, y := av.(int64), bv.(int64)
		switch {
		case x < y:
			return -1, true, nil
		case x > y:
			return 1, true, nil
		}
		return 0, true, nil
	case kindDec:
		return av.(decimal).cmp(bv.(decimal)), true, nil
	case kindTemporal:
		cmp, ok := compareTemporal(av.(temporal), bv.(temporal))
		return cmp, ok, nil
	case kindQty:
		x, y, ok := sameScale(av.(quantity), bv.(quantity))
		if !ok {
			return 0, false, nil
		}
		return x.cmp(y), true, nil
	}
	return 0, false, evalErr("values of type %s cannot be ordered", a.typ)
}

// arith implements the math operators of http://hl7.org/fhirpath/N1/#math-1
// and date arithmetic (http://hl7.org/fhirpath/N1/#date-time-arithmetic).
// Division by zero and integer overflow give an empty result.
func arith(op binOp, a, b Item) ([]Item, error) {
	av, ak := sysValue(a)
	bv, bk := sysValue(b)
	if ak == kindTemporal && bk == kindQty && (op == opAdd || op == opSub) {
		return dateArith(op, av.(temporal), bv.(quantity))
	}
	if ak == kindString && bk == kindString && op == opAdd {
		return concat(av.(string), bv.(string))
	}
	if ak == kindQty || bk == kindQty {
		return quantityArith(op, av, ak, bv, bk)
	}
	if ak == kindInt && bk == kindInt && op != opDiv {
		x, y := av.(int64), bv.(int64)
		var r big.Int
		switch op {
		case opAdd:
			r.Add(big.NewInt(x), big.NewInt(y))
		case opSub:
			r.Sub(big.NewInt(x), big.NewInt(y))
		case opMul:
			r.Mul(big.NewInt(x), big.NewInt(y))
		case opIntDiv, opMod:
			if y == 0 {
				return nil, nil
			}
			if op == opIntDiv {
				r.Quo(big.NewInt(x), big.NewInt(y))
			} else {
				r.Rem(big.NewInt(x), big.NewInt(y))
			}
		}
		if n, ok := bigToInt64(&r); ok {
			return []Item{sysItem(n)}, nil
		}
		return nil, nil
	}
	av, ak, bv, bk = promote(a.typ, av, ak, b.typ, bv, bk)
	if ak == kindInt && bk == kindInt {
		av, ak, bv, bk = decFromInt(av.(int64)), kindDec, decFromInt(bv.(int64)), kindDec
	}
	if ak != kindDec || bk != kindDec {
		return nil, evalErr("operator not defined for %s and %s", typeLabel(a), typeLabel(b))
	}
	x, y := av.(decimal), bv.(decimal)
	switch op {
	case opAdd:
		return []Item{sysItem(x.add(y))}, nil
	case opSub:
		return []Item{sysItem(x.sub(y))}, nil
	case opMul:
		return []Item{sysItem(x.mul(y))}, nil
	}
	if y.r.Sign() == 0 {
		return nil, nil
	}
	switch op {
	case opDiv:
		return []Item{sysItem(x.quo(y))}, nil
	case opIntDiv:
		q, ok := bigToInt64(x.quo(y).truncInt())
		if !ok {
			return nil, nil
		}
		return []Item{sysItem(q)}, nil
	default: // mod: x - y*trunc(x/y), which keeps the sign of x
		t := decimal{r: new(big.Rat).SetInt(x.quo(y).truncInt())}
		return []Item{sysItem(x.sub(y.mul(t)).withScale(max(x.scale, y.scale)))}, nil
	}
}

// maxStringLen bounds strings built by concatenation, so that an
// expression cannot double a string until memory runs out.
const maxStringLen = 1 << 20

func concat(a, b string) ([]Item, error) {
	if len(a)+len(b) > maxStringLen {
		return nil, evalErr("string longer than %d bytes", maxStringLen)
	}
	return []Item{sysItem(a + b)}, nil
}

func (d decimal) withScale(s int) decimal { d.scale = s; return d }

func typeLabel(it Item) string {
	if it.typ == "" {
		return "an untyped value"
	}
	return it.typ
}

func quantityArith(op binOp, av any, ak kind, bv any, bk kind) ([]Item, error) {
	num := func(v any, k kind) (decimal, bool) {
		switch k {
		case kindInt:
			return decFromInt(v.(int64)), true
		case kindDec:
			return v.(decimal), true
		}
		return decimal{}, false
	}
	if ak == kindQty && bk == kindQty {
		qa, qb := av.(quantity), bv.(quantity)
		switch op {
		case opAdd, opSub:
			if comparableUnit(qa.unit) == comparableUnit(qb.unit) {
				r := qa.v.add(qb.v)
				if op == opSub {
					r = qa.v.sub(qb.v)
				}
				return []Item{sysItem(quantity{v: r, unit: qa.unit})}, nil
			}
			x, y, ok := sameScale(qa, qb)
			if !ok {
				return nil, evalErr("cannot add quantities in %q and %q", qa.unit, qb.unit)
			}
			f, _, _ := parseUnit(comparableUnit(qa.unit))
			r := x.add(y)
			if op == opSub {
				r = x.sub(y)
			}
			return []Item{sysItem(quantity{v: decimal{r: new(big.Rat).Quo(r.r, f), scale: r.scale}, unit: qa.unit})}, nil
		case opMul, opDiv:
			q, ok := mulQuantity(qa, qb, op == opDiv)
			if !ok {
				if op == opDiv && qb.v.r.Sign() == 0 {
					return nil, nil
				}
				return nil, unsupported("arithmetic on units " + qa.unit + " and " + qb.unit)
			}
			return []Item{sysItem(q)}, nil
		}
	}
	if ak == kindQty {
		if d, ok := num(bv, bk); ok && (op == opMul || op == opDiv) {
			q := av.(quantity)
			if op == opDiv {
				if d.r.Sign() == 0 {
					return nil, nil
				}
				return []Item{sysItem(quantity{v: q.v.quo(d), unit: q.unit})}, nil
			}
			return []Item{sysItem(quantity{v: q.v.mul(d), unit: q.unit})}, nil
		}
	}
	if bk == kindQty && op == opMul {
		if d, ok := num(av, ak); ok {
			q := bv.(quantity)
			return []Item{sysItem(quantity{v: q.v.mul(d), unit: q.unit})}, nil
		}
	}
	return nil, evalErr("operator not defined for these quantity operands")
}

func dateArith(op binOp, t temporal, q quantity) ([]Item, error) {
	unit := q.unit
	if c, ok := ucumToCalendar[unit]; ok {
		unit = c
	}
	if !isCalendarUnit(unit) {
		return nil, evalErr("cannot add a quantity in %q to a date; use a calendar duration", q.unit)
	}
	n, ok := bigToInt64(q.v.truncInt())
	if !ok {
		return nil, evalErr("duration out of range")
	}
	if op == opSub {
		n = -n
	}
	r, err := addDuration(t, n, unit)
	if err != nil {
		return nil, err
	}
	return []Item{sysItem(r)}, nil
}

// unionStrings is union for collections of plain strings, in linear
// rather than quadratic time: R4's dom-3 unites every reference,
// canonical and uri of a resource. ok is false when an item is not a
// plain string, and the caller compares items pairwise.
func unionStrings(a, b []Item) (out []Item, ok bool) {
	if len(a)+len(b) < minIndexed {
		return nil, false
	}
	seen := make(map[string]bool, len(a)+len(b))
	out = make([]Item, 0, len(a)+len(b))
	for _, coll := range [2][]Item{a, b} {
		for _, x := range coll {
			s, ok := plainString(x)
			if !ok {
				return nil, false
			}
			if !seen[s] {
				seen[s] = true
				out = append(out, x)
			}
		}
	}
	return out, true
}
