package searchparam

import (
	"math/big"
)

// Near is a value of Location's near parameter (R4 location.html,
// "Positional Searching"): the locations whose position lies within
// DistanceKM kilometres of (Latitude, Longitude), measured along the
// great circle.
type Near struct {
	// Latitude and Longitude are WGS84 decimal degrees, within [-90, 90]
	// and [-180, 180].
	Latitude, Longitude float64
	// DistanceKM is the radius in kilometres: the distance sent,
	// converted exactly from its unit, or NearDefaultKM when the value
	// had none. It is never negative and never more than NearMaxKM.
	DistanceKM float64
}

// NearDefaultKM is the radius of a near value without a distance. The
// specification leaves it to the server ("the server can use its own
// discretion as to what distances should be considered near"); 10 km
// covers a town and its surroundings, the usual meaning of "a clinic
// near me", and is stated in the CapabilityStatement.
const NearDefaultKM = 10

// NearMaxKM is the largest radius a near value keeps. No two points on
// the Earth are further apart than half its circumference (π × 6371.0088
// km = 20015.1 km), so every larger radius finds the same locations as
// this one, and the planner never works with an infinite distance.
const NearMaxKM = 20100

// nearUnits are the distance units a near value accepts, as UCUM codes
// (the units of R4 are UCUM) with their exact factor to kilometres. "mi"
// is not a UCUM code, and a client that writes it may mean the statute
// or the nautical mile, so it is refused rather than guessed.
var nearUnits = map[string]*big.Rat{
	"km":      big.NewRat(1, 1),
	"m":       big.NewRat(1, 1000),
	"[mi_i]":  big.NewRat(1609344, 1000000), // international mile, 1609.344 m
	"[nmi_i]": big.NewRat(1852, 1000),       // international nautical mile, 1852 m
}

// NearDocumentation describes how Junction answers near, for the
// CapabilityStatement.
const NearDocumentation = "Locations whose position is within a distance of a point: " +
	"[latitude]|[longitude]|[distance]|[units], WGS84 decimal degrees, latitude first as the parameter defines. " +
	"The distance is measured along the great circle (haversine, mean Earth radius 6371.0088 km) and matched exactly, boundary included. " +
	"Units are UCUM: km (the default), m, [mi_i], [nmi_i]; anything else is 400. " +
	"Without a distance, near means within 10 km. " +
	"A latitude outside [-90, 90], a longitude outside [-180, 180], or a negative or malformed distance is 400. " +
	"near:missing finds locations without a position."

// parseNear parses [latitude]|[longitude]|[distance]|[units]; distance
// and units may be left out or empty.
func parseNear(key, raw string) (Near, error) {
	var n Near
	parts := splitEscaped(raw, '|')
	if len(parts) < 2 || len(parts) > 4 {
		return n, badValue(key, "%q is not [latitude]|[longitude]|[distance]|[units]", raw)
	}
	coord := func(what, s string, limit float64) (float64, error) {
		if s == "" {
			return 0, badValue(key, "%q has no %s", raw, what)
		}
		x, err := ParseNumber(s)
		if err != nil {
			return 0, badValue(key, "%s: %v", what, err)
		}
		if !(x.Value >= -limit && x.Value <= limit) {
			return 0, badValue(key, "%s %s is outside [-%g, %g]", what, s, limit, limit)
		}
		return x.Value, nil
	}
	var err error
	if n.Latitude, err = coord("latitude", unescape(parts[0]), 90); err != nil {
		return n, err
	}
	if n.Longitude, err = coord("longitude", unescape(parts[1]), 180); err != nil {
		return n, err
	}
	dist, unit := "", ""
	if len(parts) > 2 {
		dist = unescape(parts[2])
	}
	if len(parts) > 3 {
		unit = unescape(parts[3])
	}
	factor, ok := nearUnits[unit]
	switch {
	case unit == "":
		factor = nearUnits["km"]
	case !ok:
		return n, badValue(key, "unit %q is not one of km, m, [mi_i], [nmi_i] (UCUM)", unit)
	}
	if dist == "" {
		// The units are irrelevant without a distance (location.html),
		// but one this server does not know is still refused above.
		n.DistanceKM = NearDefaultKM
		return n, nil
	}
	d, err := ParseNumber(dist)
	if err != nil {
		return n, badValue(key, "distance: %v", err)
	}
	if d.exact.Sign() < 0 {
		return n, badValue(key, "distance %s is negative", dist)
	}
	n.DistanceKM = min(d.Scale(factor).Value, NearMaxKM)
	return n, nil
}
