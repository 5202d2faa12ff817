package searchtest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/nhs-junction/junction/internal/search"
)

// nearPlace is a Location of the near suite; pos is false for one
// without a position.
type nearPlace struct {
	id       string
	lat, lon float64
	pos      bool
}

// nearPlaces are around London (to the metre and across the Greenwich
// meridian), either side of the antimeridian, near the North Pole, and
// at the antipode of Charing Cross.
var nearPlaces = []nearPlace{
	{"charing-cross", 51.5074, -0.1278, true},
	{"st-thomas", 51.4988, -0.1182, true},
	{"kings-college", 51.4682, -0.0937, true},
	{"greenwich", 51.4769, 0.0005, true},
	{"heathrow", 51.4700, -0.4543, true},
	{"oxford", 51.7520, -1.2577, true},
	{"edinburgh", 55.9533, -3.1883, true},
	{"fiji-east", -17.0, 179.9, true},
	{"fiji-west", -17.0, -179.9, true},
	// Written as 180.05 and indexed as -179.95, the same meridian.
	{"fiji-over", -17.05, 180.05, true},
	{"north-pole", 90, 0, true},
	{"arctic", 89.9, 120, true},
	{"antipode", -51.5074, 179.8722, true},
	{"no-position", 0, 0, false},
}

// haversineKM is the suite's own great-circle distance, independent of
// the planner's SQL: the same sphere (mean radius 6371.0088 km), written
// with atan2, which needs no clamping.
func haversineKM(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0088
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Atan2(math.Sqrt(a), math.Sqrt(math.Max(0, 1-a)))
}

// nearWant lists the places within km of (lat, lon), sorted.
func nearWant(lat, lon, km float64) []string {
	var out []string
	for _, p := range nearPlaces {
		if p.pos && haversineKM(lat, lon, p.lat, p.lon) <= km {
			out = append(out, p.id)
		}
	}
	sort.Strings(out)
	return out
}

func fmtNum(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// testNear checks Location's near parameter against the suite's own
// haversine: at radii just inside and just outside each place's distance
// (one part in a million, far above rounding and far below anything a
// caller could mean), in km, m and [mi_i], around London, across the
// antimeridian and over the pole.
func testNear(t *testing.T, b Backend) {
	for _, p := range nearPlaces {
		pos := ""
		if p.pos {
			pos = fmt.Sprintf(`,"position":{"latitude":%s,"longitude":%s}`, fmtNum(p.lat), fmtNum(p.lon))
		}
		if p.id == "fiji-over" {
			pos = `,"position":{"latitude":-17.05,"longitude":180.05}`
		}
		put(t, b.Engine, fmt.Sprintf(`{"resourceType":"Location","id":%q,"name":%q%s}`, p.id, p.id, pos))
	}
	// A latitude that is no point on the Earth is not indexed.
	put(t, b.Engine, `{"resourceType":"Location","id":"nowhere","name":"nowhere","position":{"latitude":91,"longitude":0}}`)

	check := func(t *testing.T, qs string, want []string) {
		t.Helper()
		res := run(t, b, "Location", qs+"&_count=100", search.Options{})
		got := ids(res.Matches)
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("Location?%s: got %v, want %v", qs, got, want)
		}
		if res.Total != len(want) {
			t.Errorf("Location?%s: total %d, want %d", qs, res.Total, len(want))
		}
	}

	centres := []struct {
		name     string
		lat, lon float64
	}{
		{"charing cross", 51.5074, -0.1278},
		{"fiji, east of the antimeridian", -17.02, 179.95},
		{"fiji, west of the antimeridian", -17.02, -179.97},
		{"beside the pole", 89.95, -60},
		{"greenwich meridian", 51.4769, 0},
	}
	const eps = 1e-6
	for _, c := range centres {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range nearPlaces {
				if !p.pos {
					continue
				}
				d := haversineKM(c.lat, c.lon, p.lat, p.lon)
				if d == 0 {
					// The place itself, at radius 0: the boundary is included.
					check(t, fmt.Sprintf("near=%s|%s|0|km", fmtNum(c.lat), fmtNum(c.lon)), nearWant(c.lat, c.lon, 0))
					continue
				}
				for _, km := range []float64{d * (1 + eps), d * (1 - eps)} {
					if km > 20000 {
						continue // the antipode, below
					}
					want := nearWant(c.lat, c.lon, km)
					if (km > d) != slices.Contains(want, p.id) {
						t.Fatalf("oracle disagrees with itself about %s at %g km", p.id, km)
					}
					check(t, fmt.Sprintf("near=%s|%s|%s|km", fmtNum(c.lat), fmtNum(c.lon), fmtNum(km)), want)
					// The same radius in metres and in international miles
					// (1609.344 m): decimal text, so the unit's factor is
					// the only conversion.
					m := math.Round(km*1e6) / 1e3
					check(t, fmt.Sprintf("near=%s|%s|%s|m", fmtNum(c.lat), fmtNum(c.lon), fmtNum(m)), nearWant(c.lat, c.lon, m/1000))
					mi := math.Round(km/1.609344*1e6) / 1e6
					check(t, fmt.Sprintf("near=%s|%s|%s|[mi_i]", fmtNum(c.lat), fmtNum(c.lon), fmtNum(mi)), nearWant(c.lat, c.lon, mi*1.609344))
				}
			}
		})
	}

	all := nearWant(0, 0, 1e9)
	for _, c := range []struct {
		qs   string
		want []string
	}{
		// Without a distance: 10 km; the units are then irrelevant.
		{"near=51.5074|-0.1278", nearWant(51.5074, -0.1278, 10)},
		{"near=51.5074|-0.1278||km", nearWant(51.5074, -0.1278, 10)},
		{"near=51.5074|-0.1278|", nearWant(51.5074, -0.1278, 10)},
		// Without units: km.
		{"near=51.5074|-0.1278|2", nearWant(51.5074, -0.1278, 2)},
		// Nautical miles (1852 m).
		{"near=51.5074|-0.1278|5|[nmi_i]", nearWant(51.5074, -0.1278, 9.26)},
		// Half the circumference reaches the antipode, just less does not
		// (π × 6371.0088 = 20015.1144 km); more than the Earth is all.
		{"near=51.5074|-0.1278|20015.11|km", slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == "antipode" })},
		{"near=51.5074|-0.1278|20015.12|km", all},
		{"near=51.5074|-0.1278|1e9|km", all},
		{"near=-51.5074|179.8722|1|m", []string{"antipode"}},
		// The pole from any longitude.
		{"near=90|-179|1|m", []string{"north-pole"}},
		{"near=89.99|45|12|km", []string{"arctic", "north-pole"}},
		// Values are ORed.
		{"near=51.5074|-0.1278|1|km,-17|180|20|km", []string{"charing-cross", "fiji-east", "fiji-over", "fiji-west"}},
		// With another filter, either one driving the query.
		{"near=51.5074|-0.1278|10|km&name=greenwich", []string{"greenwich"}},
		{"name=greenwich&near=51.5074|-0.1278|10|km", []string{"greenwich"}},
		{"name=heathrow&near=51.5074|-0.1278|10|km", nil},
		{"_id=heathrow,oxford&near=51.5074|-0.1278|30|km", []string{"heathrow"}},
		// :missing, like any other parameter.
		{"near:missing=true", []string{"no-position", "nowhere"}},
		{"near:missing=false", all},
	} {
		check(t, c.qs, c.want)
	}

	// Paging: every page agrees with the total; the pages together are
	// the whole result.
	t.Run("paging", func(t *testing.T) {
		want := nearWant(51.5074, -0.1278, 100)
		q := parse(t, "Location", "near=51.5074|-0.1278|100|km&_count=2")
		var got []string
		opt := search.Options{}
		for range len(want) + 1 {
			res, err := b.Engine.Search(context.Background(), q, opt)
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != len(want) {
				t.Fatalf("total %d, want %d", res.Total, len(want))
			}
			got = append(got, ids(res.Matches)...)
			if res.Next == nil {
				break
			}
			opt.Cursor = res.Next
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("paged %v, want %v", got, want)
		}
	})

	// A Location that moves is found where it is now, not where it was.
	t.Run("moved", func(t *testing.T) {
		put(t, b.Engine, `{"resourceType":"Location","id":"oxford","name":"oxford","position":{"latitude":52.2053,"longitude":0.1218}}`)
		check(t, "near=51.7520|-1.2577|1|km", nil)
		check(t, "near=52.2053|0.1218|1|km", []string{"oxford"})
		del(t, b.Engine, "Location", "oxford")
		check(t, "near=52.2053|0.1218|1|km", nil)
	})
}
