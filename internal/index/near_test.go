package index

import (
	"testing"
)

func TestNearPosition(t *testing.T) {
	for _, c := range []struct {
		name, position string
		lat, lon       float64
		indexed        bool
	}{
		{"ordinary", `{"latitude":51.5074,"longitude":-0.1278,"altitude":35}`, 51.5074, -0.1278, true},
		{"zero", `{"latitude":0,"longitude":0}`, 0, 0, true},
		{"poles and antimeridian", `{"latitude":-90,"longitude":180}`, -90, 180, true},
		// The same meridian as -179.95 and 100.
		{"east of 180", `{"latitude":-17.05,"longitude":180.05}`, -17.05, -179.95, true},
		{"far west", `{"latitude":10,"longitude":-620}`, 10, 100, true},
		// No point on the Earth, or no point at all.
		{"latitude past the pole", `{"latitude":90.5,"longitude":0}`, 0, 0, false},
		{"no longitude", `{"latitude":51.5}`, 0, 0, false},
		{"string latitude", `{"latitude":"51.5","longitude":0}`, 0, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows := indexJSON(t, `{"resourceType":"Location","id":"l1","position":`+c.position+`}`)
			var near []CompositeRow
			for _, r := range rows.Composites {
				if r.Param == "near" {
					near = append(near, r)
				}
			}
			if !c.indexed {
				if len(near) != 0 {
					t.Fatalf("indexed %+v", near)
				}
				return
			}
			if len(near) != 1 || len(near[0].Components) != 2 {
				t.Fatalf("near rows %+v", near)
			}
			lat, lon := near[0].Components[0].Number, near[0].Components[1].Number
			if lat.Value != c.lat || lon.Value != c.lon || lat.Param != "near" || lon.Param != "near" {
				t.Errorf("position %+v %+v, want %g, %g", lat, lon, c.lat, c.lon)
			}
		})
	}
	// A Location without a position has no near row (near:missing=true).
	if rows := indexJSON(t, `{"resourceType":"Location","id":"l2","name":"x"}`); len(rows.Composites) != 0 {
		t.Errorf("rows without a position: %+v", rows.Composites)
	}
}
