package fhirpath

import (
	"slices"
)

// aggregate() (http://hl7.org/fhirpath/N1/#aggregates) and sort()
// (FHIRPath 2.1, http://hl7.org/fhirpath/2025Jan/#sortkeyselector-expression-collection).
var aggregateFunctions = map[string]fnDef{
	"aggregate":  {1, 2, fnAggregate, false},
	"sort":       {0, 255, fnSort, false},
	"precision":  {0, 0, fnPrecision, false},
	"comparable": {1, 1, fnComparable, false},
}

// fnPrecision returns the number of digits a value was written with
// (FHIRPath 2.1, http://hl7.org/fhirpath/2025Jan/#precision--integer):
// fraction digits for a decimal, and for dates and times the digits of
// the written components (@2014 is 4, @T10:30 is 4).
func fnPrecision(c *env, n *callNode, f []Item) ([]Item, error) {
	it, ok, err := singleInput(n, f)
	if !ok {
		return nil, err
	}
	v, k := sysValue(it)
	switch k {
	case kindDec:
		return []Item{sysItem(int64(v.(decimal).scale))}, nil
	case kindInt:
		return []Item{sysItem(int64(0))}, nil
	case kindTemporal:
		t := v.(temporal)
		digits := [...]int64{pYear: 4, pMonth: 6, pDay: 8, pHour: 10, pMinute: 12, pSecond: 14, pMilli: 17}[t.prec]
		if t.kind == kTime {
			digits -= 8
		}
		return []Item{sysItem(digits)}, nil
	}
	return nil, evalErr("precision() needs a decimal, date or time")
}

// fnComparable reports whether two quantities have commensurable units
// (FHIRPath 2.1). A unit outside the engine's UCUM subset makes the
// answer unknown to it, which is reported as ErrUnsupported rather than
// as false.
func fnComparable(c *env, n *callNode, f []Item) ([]Item, error) {
	it, ok, err := singleInput(n, f)
	if !ok {
		return nil, err
	}
	other, ok, err := c.singleArg(n, 0)
	if !ok {
		return nil, err
	}
	a, ka := sysValue(it)
	b, kb := sysValue(other)
	if ka != kindQty || kb != kindQty {
		return nil, evalErr("comparable() needs quantities")
	}
	qa, qb := a.(quantity), b.(quantity)
	if comparableUnit(qa.unit) != comparableUnit(qb.unit) {
		_, _, okA := parseUnit(comparableUnit(qa.unit))
		_, _, okB := parseUnit(comparableUnit(qb.unit))
		if !okA || !okB {
			return nil, unsupported("comparable() with unit " + qa.unit + " or " + qb.unit)
		}
	}
	_, _, same := sameScale(qa, qb)
	return boolItems(same), nil
}

// fnAggregate folds the input: $total starts as the init argument (or
// empty) and becomes the aggregator's value for each item in turn.
func fnAggregate(c *env, n *callNode, f []Item) ([]Item, error) {
	var total []Item
	if len(n.args) == 2 {
		var err error
		if total, err = c.arg(n, 1); err != nil {
			return nil, err
		}
	}
	saved := c.total
	defer func() { c.total = saved }()
	for i := range f {
		c.total = total
		r, err := c.withThis(n.args[0], f, i)
		if err != nil {
			return nil, err
		}
		total = r
	}
	return total, nil
}

// fnSort orders the input by each key in turn. A key written with a
// leading minus sorts descending (sort(-family)), which for strings is
// the only way to say so. An item whose key is empty sorts after every
// other item in ascending order, so before them in descending order.
func fnSort(c *env, n *callNode, f []Item) ([]Item, error) {
	type key struct {
		x    node
		desc bool
	}
	keys := make([]key, 0, len(n.args))
	for _, a := range n.args {
		if u, ok := a.(*unaryNode); ok && u.neg {
			keys = append(keys, key{u.x, true})
		} else {
			keys = append(keys, key{a, false})
		}
	}
	if len(keys) == 0 {
		keys = append(keys, key{&specialNode{name: "$this"}, false})
	}
	vals := make([][]Item, len(f)) // vals[i][k] is key k of item i; a zero Item means empty
	for i := range f {
		vals[i] = make([]Item, len(keys))
		for k, key := range keys {
			r, err := c.withThis(key.x, f, i)
			if err != nil {
				return nil, err
			}
			if len(r) > 1 {
				return nil, evalErr("sort() key gave %d items", len(r))
			}
			if len(r) == 1 {
				vals[i][k] = r[0]
			}
		}
	}
	idx := make([]int, len(f))
	for i := range idx {
		idx[i] = i
	}
	var sortErr error
	slices.SortStableFunc(idx, func(a, b int) int {
		for k, key := range keys {
			va, vb := vals[a][k], vals[b][k]
			var cmp int
			switch {
			case va.v == nil && vb.v == nil:
				continue
			case va.v == nil:
				cmp = 1
			case vb.v == nil:
				cmp = -1
			default:
				r, ok, err := compareItems(va, vb)
				if err != nil && sortErr == nil {
					sortErr = err
				}
				if !ok {
					continue
				}
				cmp = r
			}
			if key.desc {
				cmp = -cmp
			}
			if cmp != 0 {
				return cmp
			}
		}
		return 0
	})
	if sortErr != nil {
		return nil, sortErr
	}
	out := make([]Item, len(f))
	for i, j := range idx {
		out[i] = f[j]
	}
	return out, nil
}
