// Package ucum converts between the units of the Unified Code for Units of
// Measure (https://ucum.org/ucum) that clinical data uses, exactly: a unit
// expression is reduced to a rational factor and a vector of exponents of
// the base units, so 185 [lb_av] and 83.91 kg, or 6.83 10*3/uL and
// 6.83 10*9/L, are seen to be the same kind of quantity and compared on
// one scale.
//
// Only conversions that are exact are made. Units with an offset (Cel,
// [degF]), units whose definition is not an exact factor or depends on the
// calendar (mm[Hg], a, mo), and arbitrary or equivalent units ([IU], U,
// eq) are not parsed: they compare with an identical unit only, never by
// a guessed conversion.
package ucum

import (
	"math/big"
	"strconv"
	"strings"
)

// Dims is a vector of exponents of the base units g, m, s, mol, K, A, cd.
type Dims [7]int8

type atom struct {
	factor *big.Rat
	d      Dims
}

func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("ucum: bad factor " + s)
	}
	return r
}

// atoms are the units Parse knows: SI prefixes on the metric base units,
// and the customary units seen in clinical records.
var atoms = func() map[string]atom {
	m := map[string]atom{}
	base := map[string]struct {
		factor string
		d      Dims
	}{
		"g": {"1", Dims{1}}, "m": {"1", Dims{0, 1}}, "s": {"1", Dims{0, 0, 1}},
		"mol": {"1", Dims{0, 0, 0, 1}}, "K": {"1", Dims{0, 0, 0, 0, 1}}, "A": {"1", Dims{0, 0, 0, 0, 0, 1}},
		"L": {"0.001", Dims{0, 3}}, "l": {"0.001", Dims{0, 3}},
		// pascal: kg/(m.s2) = 1000 g.m-1.s-2
		"Pa": {"1000", Dims{1, -1, -2}},
	}
	prefixes := map[string]string{
		"": "1", "k": "1000", "h": "100", "da": "10", "d": "0.1", "c": "0.01", "m": "0.001",
		"u": "0.000001", "n": "0.000000001", "p": "0.000000000001", "f": "0.000000000000001",
	}
	for b, x := range base {
		for p, pf := range prefixes {
			m[p+b] = atom{new(big.Rat).Mul(rat(x.factor), rat(pf)), x.d}
		}
	}
	add := func(name, factor string, d Dims) { m[name] = atom{rat(factor), d} }
	add("1", "1", Dims{})
	add("%", "0.01", Dims{})
	add("min", "60", Dims{0, 0, 1})
	add("h", "3600", Dims{0, 0, 1})
	add("d", "86400", Dims{0, 0, 1})
	add("wk", "604800", Dims{0, 0, 1})
	add("t", "1000000", Dims{1})
	add("[lb_av]", "453.59237", Dims{1})
	add("[oz_av]", "28.349523125", Dims{1})
	add("[stone_av]", "6350.29318", Dims{1})
	add("[gr]", "0.06479891", Dims{1})
	add("[in_i]", "0.0254", Dims{0, 1})
	add("[ft_i]", "0.3048", Dims{0, 1})
	add("[yd_i]", "0.9144", Dims{0, 1})
	add("[mi_i]", "1609.344", Dims{0, 1})
	add("[nmi_i]", "1852", Dims{0, 1})
	return m
}()

// Parse reduces a UCUM expression to the factor that converts a value in
// it to base units and the base units' exponents. It reads terms joined by
// '.' (multiplication) and '/' (division, also leading: /uL), each an atom
// with an optional integer exponent (m2, s-1), a power of ten (10*9,
// 10^9) or a positive integer, and ignores annotations ({cells}/uL is
// /uL), which UCUM defines as unity. ok is false for anything else.
func Parse(code string) (factor *big.Rat, d Dims, ok bool) {
	if code == "" || len(code) > 64 {
		return nil, Dims{}, false
	}
	if a, ok := atoms[code]; ok {
		return a.factor, a.d, true
	}
	f := big.NewRat(1, 1)
	sign := 1
	rest := code
	if strings.HasPrefix(rest, "/") {
		sign, rest = -1, rest[1:]
	}
	for {
		j := separator(rest)
		term := rest
		if j >= 0 {
			term = rest[:j]
		}
		tf, td, ok := parseTerm(term)
		if !ok {
			return nil, Dims{}, false
		}
		if sign < 0 {
			f.Quo(f, tf)
		} else {
			f.Mul(f, tf)
		}
		for x := range d {
			d[x] += td[x] * int8(sign)
			if d[x] > 60 || d[x] < -60 {
				return nil, Dims{}, false
			}
		}
		if j < 0 {
			return f, d, true
		}
		sign = 1
		if rest[j] == '/' {
			sign = -1
		}
		rest = rest[j+1:]
	}
}

// separator is the index of the first '.' or '/' of s outside an
// annotation ({1.73_m2} holds a dot), or -1.
func separator(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
		case '.', '/':
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// parseTerm reads one term: an annotation alone, a power of ten, an
// integer, or an atom (with its annotation) raised to an integer power.
func parseTerm(term string) (*big.Rat, Dims, bool) {
	if i := strings.IndexByte(term, '{'); i >= 0 {
		if !strings.HasSuffix(term, "}") || strings.Count(term, "{") != 1 {
			return nil, Dims{}, false
		}
		term = term[:i]
		if term == "" {
			return big.NewRat(1, 1), Dims{}, true
		}
	}
	for _, sep := range []string{"10*", "10^"} {
		if e, ok := strings.CutPrefix(term, sep); ok {
			n, err := strconv.Atoi(e)
			if err != nil || n < -24 || n > 24 {
				return nil, Dims{}, false
			}
			p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(n))), nil)
			r := new(big.Rat).SetInt(p)
			if n < 0 {
				r.Inv(r)
			}
			return r, Dims{}, true
		}
	}
	if n, err := strconv.ParseInt(term, 10, 32); err == nil && n > 0 {
		return big.NewRat(n, 1), Dims{}, true
	}
	k := len(term)
	for k > 0 && (term[k-1] >= '0' && term[k-1] <= '9' || term[k-1] == '-' || term[k-1] == '+') {
		k--
	}
	exp := 1
	if k < len(term) {
		e, err := strconv.Atoi(term[k:])
		if err != nil || k == 0 || e == 0 || e > 9 || e < -9 {
			return nil, Dims{}, false
		}
		exp = e
	}
	a, ok := atoms[term[:k]]
	if !ok {
		return nil, Dims{}, false
	}
	f := big.NewRat(1, 1)
	var d Dims
	for range abs(exp) {
		if exp > 0 {
			f.Mul(f, a.factor)
		} else {
			f.Quo(f, a.factor)
		}
	}
	for x := range d {
		d[x] = a.d[x] * int8(exp)
	}
	return f, d, true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// String renders d as a UCUM expression in base units ("g.m-3"); "1" for
// a dimensionless quantity.
func (d Dims) String() string {
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

// Canonical returns the base-unit expression of code and the exact factor
// that converts a value in code to it, or ok=false when code is not a
// unit this package converts.
func Canonical(code string) (base string, factor *big.Rat, ok bool) {
	f, d, ok := Parse(code)
	if !ok {
		return "", nil, false
	}
	return d.String(), f, true
}
