package fhirpath

import (
	"math/big"

	"github.com/nhs-junction/junction/internal/ucum"
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

// parseUnit reduces a UCUM expression to a factor relative to base
// units and a dimension vector (see package ucum).
func parseUnit(u string) (*big.Rat, ucum.Dims, bool) { return ucum.Parse(u) }

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
	var d ucum.Dims
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
		return quantity{v: va.quo(vb), unit: d.String()}, true
	}
	return quantity{v: va.mul(vb), unit: d.String()}, true
}
