package search

import (
	"math"

	"github.com/nhs-junction/junction/internal/searchparam"
)

// earthRadiusKM is the mean radius of the Earth (IUGG, R1), the sphere
// near measures on. WGS84 is an ellipsoid; on the sphere a distance
// differs from the ellipsoidal one by at most about 0.5%, which
// location.html allows ("servers may search using various techniques
// that might have differing accuracies"). What Junction guarantees is
// that the answer is exactly the set this formula defines, on both
// backends.
const earthRadiusKM = 6371.0088

const degToRad = math.Pi / 180

// boxMargin widens the bounding box by a relative and an absolute amount
// (about 0.1 mm): far more than the rounding of the few operations that
// compute it, so the box never drops a location the exact distance keeps.
const boxMargin = 1e-9

// near is the condition Location's near parameter puts on version alias
// v. The positions are the composite rows index.positionRow writes
// (c1_num latitude, c2_num longitude, degrees).
func (p *planner) near(v string, fl *searchparam.Filter, drive bool) frag {
	name := fl.Def.Name
	t := p.next("t")
	if fl.Modifier == searchparam.ModMissing {
		exists := f("EXISTS (SELECT 1 FROM search_composite "+t+" WHERE "+t+".seq = "+v+".seq AND "+t+".param = ?)", name)
		if fl.MissingValue {
			return wrap("NOT ", exists, "")
		}
		return exists
	}
	var ors []frag
	for _, x := range fl.Values {
		ors = append(ors, nearPredicate(x.Near, t+".c1_num", t+".c2_num"))
	}
	if drive {
		scope := and(in(t+".type", fl.Types), f(t+".param = ?", name))
		return p.driveBy(v, t, join("", f("FROM search_composite "+t+" WHERE "), and(scope, or(ors...))))
	}
	return join("", f("EXISTS (SELECT 1 FROM search_composite "+t+" WHERE "+t+".seq = "+v+".seq AND "+t+".param = ? AND ", name), or(ors...), f(")"))
}

// nearPredicate is true for the positions (lat, lon columns, degrees)
// whose great-circle distance from n's point is at most n.DistanceKM:
//
//	a = sin²((φ-φ0)/2) + cos φ0 · cos φ · sin²((λ-λ0)/2)
//	d = 2R · asin(√a)
//
// a is clamped to [0, 1] with CASE (LEAST and min are not portable
// between PostgreSQL and SQLite): rounding can take it just past 1 for
// antipodal points, where asin would fail on PostgreSQL and be NULL on
// SQLite. A bounding box on the raw columns comes first so most rows
// are refused by comparisons alone; it is always wider than the circle,
// so the distance alone decides.
func nearPredicate(n searchparam.Near, lat, lon string) frag {
	phi0, lam0 := n.Latitude*degToRad, n.Longitude*degToRad
	phi, lam := "("+lat+" * ?)", "("+lon+" * ?)"
	half := func(col string, c0 float64) frag {
		return f("sin(("+col+" - ?) / 2)", degToRad, c0)
	}
	sq := func(x frag) frag { return join(" * ", x, x) }
	a := join("",
		f("("), sq(half(phi, phi0)), f(" + ? * cos("+phi+") * ", math.Cos(phi0), degToRad), sq(half(lam, lam0)), f(")"))
	clamped := join("", f("CASE WHEN "), a, f(" <= 0 THEN 0 WHEN "), a, f(" >= 1 THEN 1 ELSE "), a, f(" END"))
	dist := join("", f("? * asin(sqrt(", 2*earthRadiusKM), clamped, f(")) <= ?", n.DistanceKM))
	return and(append(nearBox(n, lat, lon), dist)...)
}

// nearBox is the bounding box of the circle around n on the lat and lon
// columns (degrees), as conditions to AND; none when the circle covers
// the whole globe. The latitude range is the distance along the
// meridian. The longitude range is the widest the circle reaches,
// asin(sin δ / cos φ0) either side, when no pole lies inside it, split
// in two where it crosses the antimeridian; with a pole inside, every
// longitude is in reach.
func nearBox(n searchparam.Near, lat, lon string) []frag {
	delta := n.DistanceKM / earthRadiusKM // angular radius, radians
	if delta >= math.Pi {
		return nil
	}
	widen := func(deg float64) float64 { return deg*(1+boxMargin) + boxMargin }
	dLat := widen(delta / degToRad)
	lo, hi := n.Latitude-dLat, n.Latitude+dLat
	box := []frag{f(lat+" >= ? AND "+lat+" <= ?", lo, hi)}
	if lo <= -90 || hi >= 90 {
		return box
	}
	ratio := math.Sin(delta) / math.Cos(n.Latitude*degToRad)
	if !(ratio < 1) {
		return box
	}
	dLon := widen(math.Asin(ratio) / degToRad)
	if dLon >= 180 {
		return box
	}
	west, east := n.Longitude-dLon, n.Longitude+dLon
	switch {
	case west < -180:
		box = append(box, f("("+lon+" >= ? OR "+lon+" <= ?)", west+360, east))
	case east > 180:
		box = append(box, f("("+lon+" >= ? OR "+lon+" <= ?)", west, east-360))
	default:
		box = append(box, f(lon+" >= ? AND "+lon+" <= ?", west, east))
	}
	return box
}
