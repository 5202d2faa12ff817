package fhirpath

import (
	"math/big"
	"strconv"
	"strings"
)

// quantity is a FHIRPath Quantity: a decimal and a unit. The unit is a UCUM
// code, or one of the calendar duration keywords (year, month, week, day,
// hour, minute, second, millisecond) kept in singular form
// (http://hl7.org/fhirpath/N1/#time-valued-quantities).
type quantity struct {
	v    decimal
	unit string
}

func (q quantity) String() string {
	u := q.unit
	if !isCalendarUnit(u) {
		u = "'" + u + "'"
	}
	return q.v.String() + " " + u
}

var calendarPlural = map[string]string{
	"year": "year", "years": "year", "month": "month", "months": "month",
	"week": "week", "weeks": "week", "day": "day", "days": "day",
	"hour": "hour", "hours": "hour", "minute": "minute", "minutes": "minute",
	"second": "second", "seconds": "second", "millisecond": "millisecond", "milliseconds": "millisecond",
}

func isCalendarUnit(u string) bool { _, ok := calendarPlural[u]; return ok && calendarPlural[u] == u }

// calendarToUCUM maps the calendar durations that have a fixed length to
// their UCUM codes. Years and months are deliberately absent: a calendar
// year is not a fixed number of seconds, so the specification makes
// 1 year = 1 'a' unknown rather than true
// (http://hl7.org/fhirpath/N1/#time-valued-quantities).
var calendarToUCUM = map[string]string{
	"week": "wk", "day": "d", "hour": "h", "minute": "min", "second": "s", "millisecond": "ms",
}

// ucumToCalendar is the reverse mapping used for date arithmetic with UCUM
// time units ('d', 'wk', 's' ...).
var ucumToCalendar = map[string]string{
	"wk": "week", "d": "day", "h": "hour", "min": "minute", "s": "second", "ms": "millisecond",
}

// dims is a vector of exponents of the base units g, m, s, mol, K, A, cd.
type dims [7]int8

type unitAtom struct {
	factor *big.Rat
	d      dims
}

func ratS(s string) *big.Rat { r, _ := new(big.Rat).SetString(s); return r }

// ucumAtoms is the subset of UCUM this engine converts between: SI prefixes
// on common base units plus the customary units seen in clinical data. A
// unit outside it still compares with an identical unit, but never with a
// different one, so no conversion is ever guessed.
var ucumAtoms = func() map[string]unitAtom {
	m := map[string]unitAtom{}
	base := map[string]dims{
		"g": {1}, "m": {0, 1}, "s": {0, 0, 1}, "mol": {0, 0, 0, 1}, "K": {0, 0, 0, 0, 1}, "A": {0, 0, 0, 0, 0, 1},
		"L": {0, 3}, "l": {0, 3},
	}
	prefixes := map[string]string{"": "1", "k": "1000", "d": "0.1", "c": "0.01", "m": "0.001", "u": "0.000001", "n": "0.000000001", "p": "0.000000000001"}
	for b, d := range base {
		f := "1"
		if b == "L" || b == "l" {
			f = "0.001"
		}
		for p, pf := range prefixes {
			m[p+b] = unitAtom{new(big.Rat).Mul(ratS(f), ratS(pf)), d}
		}
	}
	add := func(name, factor string, d dims) { m[name] = unitAtom{ratS(factor), d} }
	add("1", "1", dims{})
	add("%", "0.01", dims{})
	add("min", "60", dims{0, 0, 1})
	add("h", "3600", dims{0, 0, 1})
	add("d", "86400", dims{0, 0, 1})
	add("wk", "604800", dims{0, 0, 1})
	add("[lb_av]", "453.59237", dims{1})
	add("[oz_av]", "28.349523125", dims{1})
	add("[in_i]", "0.0254", dims{0, 1})
	add("[ft_i]", "0.3048", dims{0, 1})
	add("[mi_i]", "1609.344", dims{0, 1})
	return m
}()

// parseUnit reduces a UCUM expression made of atoms joined by '.' and '/',
// each with an optional integer exponent (mg/dL, m2, g.m-1), to a factor
// relative to base units and a dimension vector.
func parseUnit(u string) (*big.Rat, dims, bool) {
	if u == "" {
		return nil, dims{}, false
	}
	if a, ok := ucumAtoms[u]; ok {
		return a.factor, a.d, true
	}
	f := big.NewRat(1, 1)
	var d dims
	sign := 1
	for i := 0; i < len(u); {
		j := i
		for j < len(u) && u[j] != '.' && u[j] != '/' {
			j++
		}
		term := u[i:j]
		k := len(term)
		for k > 0 && (isDigit(term[k-1]) || term[k-1] == '-') {
			k--
		}
		exp := 1
		if k < len(term) {
			e, err := strconv.Atoi(term[k:])
			if err != nil || k == 0 {
				if term == "1" {
					k, exp = len(term), 1
				} else {
					return nil, dims{}, false
				}
			} else {
				exp = e
			}
		}
		a, ok := ucumAtoms[term[:k]]
		if !ok || exp > 9 || exp < -9 {
			return nil, dims{}, false
		}
		exp *= sign
		for n := 0; n < abs(exp); n++ {
			if exp > 0 {
				f.Mul(f, a.factor)
			} else {
				f.Quo(f, a.factor)
			}
		}
		for x := range d {
			d[x] += a.d[x] * int8(exp)
		}
		if j < len(u) && u[j] == '/' {
			sign = -1
		}
		i = j + 1
	}
	return f, d, true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// comparableUnit returns the unit as UCUM, mapping fixed-length calendar
// durations, so that 1 week = 7 days = 7 'd'.
func comparableUnit(u string) string {
	if c, ok := calendarToUCUM[u]; ok {
		return c
	}
	return u
}

// sameScale converts both quantities to base units when their units differ
// but are commensurable. ok is false when they cannot be compared.
func sameScale(a, b quantity) (decimal, decimal, bool) {
	ua, ub := comparableUnit(a.unit), comparableUnit(b.unit)
	if ua == ub {
		return a.v, b.v, true
	}
	fa, da, oka := parseUnit(ua)
	fb, db, okb := parseUnit(ub)
	if !oka || !okb || da != db {
		return decimal{}, decimal{}, false
	}
	return decimal{r: new(big.Rat).Mul(a.v.r, fa), scale: a.v.scale},
		decimal{r: new(big.Rat).Mul(b.v.r, fb), scale: b.v.scale}, true
}

// unitString renders a dimension vector as a UCUM expression in base units.
func unitString(d dims) string {
	names := [7]string{"g", "m", "s", "mol", "K", "A", "cd"}
	var parts []string
	for i, e := range d {
		switch {
		case e == 1:
			parts = append(parts, names[i])
		case e != 0:
			parts = append(parts, names[i]+strconv.Itoa(int(e)))
		}
	}
	if len(parts) == 0 {
		return "1"
	}
	return strings.Join(parts, ".")
}

// mulQuantity and divQuantity implement http://hl7.org/fhirpath/N1/#multiplication
// for quantities: the result is expressed in base units.
func mulQuantity(a, b quantity, div bool) (quantity, bool) {
	fa, da, oka := parseUnit(comparableUnit(a.unit))
	fb, db, okb := parseUnit(comparableUnit(b.unit))
	if !oka || !okb {
		return quantity{}, false
	}
	va := decimal{r: new(big.Rat).Mul(a.v.r, fa), scale: a.v.scale}
	vb := decimal{r: new(big.Rat).Mul(b.v.r, fb), scale: b.v.scale}
	var d dims
	for i := range d {
		if div {
			d[i] = da[i] - db[i]
		} else {
			d[i] = da[i] + db[i]
		}
	}
	if div {
		if vb.r.Sign() == 0 {
			return quantity{}, false
		}
		return quantity{v: va.quo(vb), unit: unitString(d)}, true
	}
	return quantity{v: va.mul(vb), unit: unitString(d)}, true
}
