package fhirpath

import (
	"math/big"
	"strings"
)

// decimal is a FHIRPath Decimal. It is exact (a rational) so that values
// read from resources keep the precision they were written with, and scale
// records how many fraction digits were written, which equivalence and
// rendering need (http://hl7.org/fhirpath/N1/#decimal).
type decimal struct {
	r     *big.Rat
	scale int
	// quotient marks the result of a division: it is as precise as
	// maxDivScale digits for equivalence, but renders in its shortest form.
	quotient bool
}

// maxDivScale is the number of fraction digits kept when a division does not
// terminate; the specification requires at least 8
// (http://hl7.org/fhirpath/N1/#decimal).
const maxDivScale = 8

func parseDecimal(s string) (decimal, bool) {
	if s == "" || len(s) > 64 {
		return decimal{}, false
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return decimal{}, false
	}
	scale := 0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		j := i + 1
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		scale = j - i - 1
	}
	return decimal{r: r, scale: scale}, true
}

func decFromInt(n int64) decimal { return decimal{r: new(big.Rat).SetInt64(n)} }

// String renders the shortest exact form that keeps at least the written
// scale; a non-terminating value is rounded to maxDivScale digits.
func (d decimal) String() string {
	digits := d.scale
	if d.quotient {
		digits = 0
	}
	if !d.r.IsInt() || digits > 0 {
		den := d.r.Denom()
		n := maxDivScale
		if isPowerOf10Divisor(den) {
			// The value terminates: find how many digits it needs.
			n = 0
			p, ten := big.NewInt(1), big.NewInt(10)
			for new(big.Int).Mod(p, den).Sign() != 0 {
				p.Mul(p, ten)
				n++
			}
		}
		digits = max(digits, n)
	}
	return d.r.FloatString(digits)
}

// isPowerOf10Divisor reports whether den has no prime factors but 2 and 5,
// that is whether the fraction has a finite decimal expansion.
func isPowerOf10Divisor(den *big.Int) bool {
	x := new(big.Int).Set(den)
	two, five, m := big.NewInt(2), big.NewInt(5), new(big.Int)
	for x.Cmp(big.NewInt(1)) > 0 {
		if m.Mod(x, two).Sign() == 0 {
			x.Quo(x, two)
		} else if m.Mod(x, five).Sign() == 0 {
			x.Quo(x, five)
		} else {
			return false
		}
	}
	return true
}

func (d decimal) cmp(o decimal) int { return d.r.Cmp(o.r) }

func (d decimal) add(o decimal) decimal {
	return decimal{r: new(big.Rat).Add(d.r, o.r), scale: max(d.scale, o.scale)}
}

func (d decimal) sub(o decimal) decimal {
	return decimal{r: new(big.Rat).Sub(d.r, o.r), scale: max(d.scale, o.scale)}
}

func (d decimal) mul(o decimal) decimal {
	return decimal{r: new(big.Rat).Mul(d.r, o.r), scale: d.scale + o.scale}
}

func (d decimal) quo(o decimal) decimal {
	return decimal{r: new(big.Rat).Quo(d.r, o.r), scale: maxDivScale, quotient: true}
}

func (d decimal) neg() decimal { return decimal{r: new(big.Rat).Neg(d.r), scale: d.scale} }

// round rounds half away from zero to n fraction digits, the rule round()
// uses (http://hl7.org/fhirpath/N1/#roundprecision-integer-decimal).
func (d decimal) round(n int) decimal {
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	x := new(big.Rat).Mul(d.r, new(big.Rat).SetInt(p))
	half := big.NewRat(1, 2)
	if x.Sign() < 0 {
		x.Sub(x, half)
	} else {
		x.Add(x, half)
	}
	q := new(big.Int).Quo(x.Num(), x.Denom()) // truncates toward zero
	return decimal{r: new(big.Rat).SetFrac(q, p), scale: n}
}

// floorInt returns the largest integer not above d.
func (d decimal) floorInt() *big.Int {
	q, m := new(big.Int).DivMod(d.r.Num(), d.r.Denom(), new(big.Int))
	_ = m
	return q // Euclidean division with a positive denominator is floor division
}

func (d decimal) truncInt() *big.Int { return new(big.Int).Quo(d.r.Num(), d.r.Denom()) }

func (d decimal) float() float64 { f, _ := d.r.Float64(); return f }

// equivalentTo compares at the precision of the less precise operand, as
// decimal equivalence requires (http://hl7.org/fhirpath/N1/#string-equivalence,
// Decimal bullet).
func (d decimal) equivalentTo(o decimal) bool {
	s := min(d.scale, o.scale)
	if d.quotient && o.quotient {
		s = maxDivScale
	}
	return d.round(s).cmp(o.round(s)) == 0
}

func bigToInt64(b *big.Int) (int64, bool) {
	if !b.IsInt64() {
		return 0, false
	}
	return b.Int64(), true
}
