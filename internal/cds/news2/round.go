package news2

import (
	"fmt"
	"math/big"
	"regexp"
	"strings"
)

// decimalRE is the lexical form of a FHIR decimal, with the exponent
// limited to two digits so that no value costs more than a few words.
var decimalRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]{1,2})?$`)

// RoundWhole rounds a decimal number, written as FHIR writes a decimal
// (for example "20.5"), half-up to a whole number: the chart's precision
// for every parameter but temperature. The rounding is exact on the
// decimal text, so a value that has no exact binary form (20.5 has one;
// 36.05 does not) never falls into the wrong band.
func RoundWhole(dec string) (int, error) {
	return roundScaled(dec, 1)
}

// RoundTenths rounds a decimal number half-up to one decimal place and
// returns it in tenths: "36.05" is 361 (36.1), "35.04" is 350 (35.0).
func RoundTenths(dec string) (int, error) {
	return roundScaled(dec, 10)
}

// FahrenheitToTenths converts a temperature in degrees Fahrenheit, as a
// decimal, to tenths of a degree Celsius, rounded half-up once from the
// exact value ((F − 32) × 5/9), never from a rounded intermediate.
func FahrenheitToTenths(dec string) (int, error) {
	f, err := parseDecimal(dec)
	if err != nil {
		return 0, err
	}
	c := new(big.Rat).Sub(f, big.NewRat(32, 1))
	c.Mul(c, big.NewRat(5, 9))
	return roundHalfUp(c.Mul(c, big.NewRat(10, 1)))
}

func roundScaled(dec string, scale int64) (int, error) {
	r, err := parseDecimal(dec)
	if err != nil {
		return 0, err
	}
	return roundHalfUp(r.Mul(r, big.NewRat(scale, 1)))
}

// parseDecimal reads a FHIR decimal (R4 datatypes.html#decimal:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?) exactly.
func parseDecimal(dec string) (*big.Rat, error) {
	s := strings.TrimSpace(dec)
	if len(s) > 64 || !decimalRE.MatchString(s) {
		return nil, fmt.Errorf("news2: %q is not a decimal number", dec)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("news2: %q is not a decimal number", dec)
	}
	return r, nil
}

// roundHalfUp returns floor(r + 1/2). Values are plausibility-checked
// after rounding, so only the int range matters here.
func roundHalfUp(r *big.Rat) (int, error) {
	r = new(big.Rat).Add(r, big.NewRat(1, 2))
	q := new(big.Int).Div(r.Num(), r.Denom()) // Euclidean: floor for a positive denominator
	if !q.IsInt64() || q.Int64() > 1<<31 || q.Int64() < -(1<<31) {
		return 0, fmt.Errorf("%w: %s is out of range", ErrImplausible, r.FloatString(1))
	}
	return int(q.Int64()), nil
}
