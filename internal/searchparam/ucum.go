package searchparam

import "math/big"

// UCUM is the system of Quantity codes that can be compared across units.
const UCUM = "http://unitsofmeasure.org"

type ucumUnit struct {
	base   string
	factor *big.Rat
}

func r(num, den int64) *big.Rat { return big.NewRat(num, den) }

// ucumUnits maps UCUM codes to a canonical code and the exact factor to
// it. R4 search.html (3.1.1.4.8, quantity) lets a server match 5.4 mg
// against 0.0054 g by canonicalising UCUM units; only conversions that are
// exact rational factors are listed, so a canonical comparison never
// rounds differently from the value the client wrote. Units with an
// offset (Cel, [degF]) or a non-exact definition (mm[Hg], mo, a) are
// compared by their own code only.
var ucumUnits = map[string]ucumUnit{
	// mass
	"kg": {"g", r(1000, 1)}, "g": {"g", r(1, 1)}, "mg": {"g", r(1, 1e3)},
	"ug": {"g", r(1, 1e6)}, "ng": {"g", r(1, 1e9)}, "pg": {"g", r(1, 1e12)},
	// volume
	"L": {"L", r(1, 1)}, "dL": {"L", r(1, 10)}, "cL": {"L", r(1, 100)},
	"mL": {"L", r(1, 1e3)}, "uL": {"L", r(1, 1e6)}, "fL": {"L", r(1, 1e15)},
	// amount of substance
	"mol": {"mol", r(1, 1)}, "mmol": {"mol", r(1, 1e3)}, "umol": {"mol", r(1, 1e6)},
	"nmol": {"mol", r(1, 1e9)}, "pmol": {"mol", r(1, 1e12)},
	// substance concentration
	"mol/L": {"mol/L", r(1, 1)}, "mmol/L": {"mol/L", r(1, 1e3)}, "umol/L": {"mol/L", r(1, 1e6)},
	"nmol/L": {"mol/L", r(1, 1e9)}, "pmol/L": {"mol/L", r(1, 1e12)},
	// mass concentration
	"g/L": {"g/L", r(1, 1)}, "g/dL": {"g/L", r(10, 1)}, "mg/dL": {"g/L", r(1, 100)},
	"mg/L": {"g/L", r(1, 1e3)}, "mg/mL": {"g/L", r(1, 1)}, "ug/L": {"g/L", r(1, 1e6)},
	"ug/mL": {"g/L", r(1, 1e3)}, "ng/mL": {"g/L", r(1, 1e6)}, "ng/L": {"g/L", r(1, 1e9)},
	"pg/mL": {"g/L", r(1, 1e9)},
	// length
	"km": {"m", r(1000, 1)}, "m": {"m", r(1, 1)}, "cm": {"m", r(1, 100)},
	"mm": {"m", r(1, 1e3)}, "um": {"m", r(1, 1e6)}, "nm": {"m", r(1, 1e9)},
	"[in_i]": {"m", r(254, 10000)}, "[ft_i]": {"m", r(3048, 10000)},
	// time
	"ms": {"s", r(1, 1e3)}, "s": {"s", r(1, 1)}, "min": {"s", r(60, 1)},
	"h": {"s", r(3600, 1)}, "d": {"s", r(86400, 1)}, "wk": {"s", r(604800, 1)},
	// pressure
	"Pa": {"Pa", r(1, 1)}, "kPa": {"Pa", r(1000, 1)},
	// number concentration (blood counts)
	"/L": {"/L", r(1, 1)}, "10*9/L": {"/L", r(1e9, 1)}, "10*12/L": {"/L", r(1e12, 1)},
	"/uL": {"/L", r(1e6, 1)}, "/mL": {"/L", r(1e3, 1)},
}

// Canonical returns the canonical UCUM code for code and the exact factor
// that converts a value in code to it, or ok=false when code is not a
// unit Junction converts.
func Canonical(code string) (base string, factor *big.Rat, ok bool) {
	u, ok := ucumUnits[code]
	if !ok {
		return "", nil, false
	}
	return u.base, u.factor, true
}
