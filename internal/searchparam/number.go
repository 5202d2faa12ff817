package searchparam

import (
	"fmt"
	"math/big"
	"regexp"
	"strings"
)

// Number is a decimal search value with the range its written precision
// implies (R4 search.html 3.1.1.4.7, number: "100" is [99.5, 100.5),
// "100.00" is [99.995, 100.005)). The bounds are computed exactly in
// decimal and then rounded to the nearest float64, the same rounding every
// indexed value gets, so a value written at a bound compares as the bound.
type Number struct {
	Text      string // the value as written, without prefix
	Value     float64
	Low, High float64 // [Low, High): half a unit of the last written digit each side
	exact     *big.Rat
	half      *big.Rat
}

var numberRE = regexp.MustCompile(`^[+-]?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$`)

// ParseNumber parses a FHIR decimal (JSON number syntax, with an optional
// exponent) and its implicit precision. With an exponent the precision is
// that of the mantissa scaled: "1e2" has one significant figure, so its
// range is [50, 150); "1.0e2" is [95, 105).
func ParseNumber(s string) (Number, error) {
	m := numberRE.FindStringSubmatch(s)
	if m == nil {
		return Number{}, fmt.Errorf("%q is not a valid number", s)
	}
	exp := 0
	if m[3] != "" {
		if _, err := fmt.Sscan(strings.TrimPrefix(m[3], "+"), &exp); err != nil || exp > 400 || exp < -400 {
			return Number{}, fmt.Errorf("%q has an exponent out of range", s)
		}
	}
	v, ok := new(big.Rat).SetString(s)
	if !ok {
		return Number{}, fmt.Errorf("%q is not a valid number", s)
	}
	// half = 0.5 * 10^(exp - digits after the point)
	scale := exp - len(m[2])
	half := big.NewRat(1, 2)
	p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(scale))), nil))
	if scale >= 0 {
		half.Mul(half, p)
	} else {
		half.Quo(half, p)
	}
	n := Number{Text: s, exact: v, half: half}
	n.Value = ratFloat(v)
	n.Low = ratFloat(new(big.Rat).Sub(v, half))
	n.High = ratFloat(new(big.Rat).Add(v, half))
	return n, nil
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

func ratFloat(r *big.Rat) float64 {
	f, _ := r.Float64()
	return f
}

// Scale returns n multiplied exactly by factor (a unit conversion); the
// precision range scales with it.
func (n Number) Scale(factor *big.Rat) Number {
	v := new(big.Rat).Mul(n.exact, factor)
	h := new(big.Rat).Mul(n.half, factor)
	return Number{
		Text: v.FloatString(12), Value: ratFloat(v),
		Low: ratFloat(new(big.Rat).Sub(v, h)), High: ratFloat(new(big.Rat).Add(v, h)),
		exact: v, half: h,
	}
}

// Approx returns the closed interval ap matches: the value plus or minus
// a tenth of its magnitude (the recommendation of R4 search.html 3.1.1.4.1),
// and never less than the precision range.
func (n Number) Approx() (lo, hi float64) {
	d := new(big.Rat).Abs(n.exact)
	d.Quo(d, big.NewRat(10, 1))
	if d.Cmp(n.half) < 0 {
		d = n.half
	}
	return ratFloat(new(big.Rat).Sub(n.exact, d)), ratFloat(new(big.Rat).Add(n.exact, d))
}

// MatchNumber reports whether an indexed value v satisfies n under p.
// Indexed values are points; R4 search.html 3.1.1.4.7 compares eq and ne
// against the precision range and gt, lt, ge, le against the exact value
// ("lt100: values that are less than exactly 100"). sa and eb compare with
// the far ends of the range. The SQL planner implements the same
// predicates; this function is their reference.
func MatchNumber(p Prefix, n Number, v float64) bool {
	switch p {
	case PrefixEq:
		return n.Low <= v && v < n.High
	case PrefixNe:
		return !(n.Low <= v && v < n.High)
	case PrefixGt:
		return v > n.Value
	case PrefixLt:
		return v < n.Value
	case PrefixGe:
		return v >= n.Value
	case PrefixLe:
		return v <= n.Value
	case PrefixSa:
		return v >= n.High
	case PrefixEb:
		return v < n.Low
	case PrefixAp:
		lo, hi := n.Approx()
		return lo <= v && v <= hi
	}
	return false
}

// IndexNumber parses a decimal from a resource for indexing. A value too
// large for a float64 becomes ±Inf, which still orders correctly.
func IndexNumber(s string) (float64, error) {
	n, err := ParseNumber(s)
	if err != nil {
		return 0, err
	}
	return n.Value, nil
}
