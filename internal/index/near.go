package index

import (
	"encoding/json"
	"math"

	"github.com/nhs-junction/junction/internal/searchparam"
)

// positionRow is the row of Location's near parameter for one
// Location.position: a composite row of two numbers, latitude then
// longitude in decimal degrees, so the two stay paired and storage needs
// no table of its own (search_composite c1_num, c2_num).
//
// A position whose latitude is outside [-90, 90] names no point on the
// Earth and is not indexed, so near never finds it and near:missing=true
// does. A longitude outside [-180, 180] names the same meridian as its
// remainder by 360 and is indexed as that, so the planner's bounding box
// and its distance agree on where the point is.
func positionRow(d *searchparam.Def, v any) (CompositeRow, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return CompositeRow{}, false
	}
	lat, ok1 := decimalOf(m["latitude"])
	lon, ok2 := decimalOf(m["longitude"])
	if !ok1 || !ok2 || !(lat >= -90 && lat <= 90) || math.IsInf(lon, 0) || math.IsNaN(lon) {
		return CompositeRow{}, false
	}
	if lon < -180 || lon > 180 {
		lon = math.Remainder(lon, 360)
	}
	return CompositeRow{Param: d.Name, Components: []Component{
		{Number: NumberRow{Param: d.Name, Value: lat}},
		{Number: NumberRow{Param: d.Name, Value: lon}},
	}}, true
}

func decimalOf(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := searchparam.IndexNumber(n.String())
	return f, err == nil
}
