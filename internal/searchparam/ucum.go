package searchparam

import (
	"math/big"

	"github.com/nhs-junction/junction/internal/ucum"
)

// UCUM is the system of Quantity codes that can be compared across units.
const UCUM = "http://unitsofmeasure.org"

// Canonical returns the canonical UCUM code for code (its base units)
// and the exact factor that converts a value in code to it, or ok=false
// when code is not a unit Junction converts (see package ucum). R4
// search.html (3.1.1.4.8, quantity) lets a server match 5.4 mg against
// 0.0054 g by canonicalising UCUM units; only exact conversions are made,
// so a canonical comparison never rounds differently from the value the
// client wrote.
func Canonical(code string) (base string, factor *big.Rat, ok bool) {
	return ucum.Canonical(code)
}
