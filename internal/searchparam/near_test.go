package searchparam

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/fhir"
)

func TestParseNear(t *testing.T) {
	for _, c := range []struct {
		value        string
		lat, lon, km float64
	}{
		// location.html: [latitude]|[longitude]|[distance]|[units].
		{"42.256500|-83.694810|11.20|km", 42.2565, -83.69481, 11.2},
		{"51.5074|-0.1278|1500|m", 51.5074, -0.1278, 1.5},
		{"51.5074|-0.1278|2|[mi_i]", 51.5074, -0.1278, 3.218688},
		{"51.5074|-0.1278|1|[nmi_i]", 51.5074, -0.1278, 1.852},
		// Units omitted: km.
		{"51.5074|-0.1278|3", 51.5074, -0.1278, 3},
		// Distance omitted: the server's default, whatever the units.
		{"51.5074|-0.1278", 51.5074, -0.1278, NearDefaultKM},
		{"51.5074|-0.1278|", 51.5074, -0.1278, NearDefaultKM},
		{"51.5074|-0.1278||m", 51.5074, -0.1278, NearDefaultKM},
		// The edges of the globe, zero, exponents, and more than the Earth.
		{"90|180|0", 90, 180, 0},
		{"-90|-180|0|m", -90, -180, 0},
		{"-0|0|-0", 0, 0, 0},
		{"5e1|1E-1|1.5e3|m", 50, 0.1, 1.5},
		{"0|0|40000|km", 0, 0, NearMaxKM},
		{"0|0|1e400|km", 0, 0, NearMaxKM},
	} {
		q, err := parse(t, "Location", "near="+c.value, Options{})
		if err != nil {
			t.Errorf("near=%s: %v", c.value, err)
			continue
		}
		n := q.Filters[0].Values[0].Near
		if n.Latitude != c.lat || n.Longitude != c.lon || n.DistanceKM != c.km {
			t.Errorf("near=%s: %+v, want %g|%g|%g km", c.value, n, c.lat, c.lon, c.km)
		}
	}
}

func TestParseNearErrors(t *testing.T) {
	for _, c := range []struct{ qs, mention string }{
		{"near=51.5", "near"},
		{"near=51.5|-0.1|1|km|x", "near"},
		{"near=|-0.1|1|km", "latitude"},
		{"near=51.5||1|km", "longitude"},
		{"near=90.0001|0", "latitude"},
		{"near=-91|0", "latitude"},
		{"near=0|180.5", "longitude"},
		{"near=0|-181", "longitude"},
		{"near=abc|0", "latitude"},
		{"near=0|1,5", "near"},
		{"near=0|0|-1|km", "negative"},
		{"near=0|0|lt5|km", "distance"},
		{"near=0|0|5|mi", "mi"},
		{"near=0|0|5|KM", "KM"},
		{"near=0|0|5|[ft_i]", "[ft_i]"},
		{"near=0|0||furlong", "furlong"},
		{"near=", "near"},
		{"near:exact=0|0", "near:exact"},
		{"near:missing=maybe", "near:missing"},
		{"_sort=near", "near"},
	} {
		_, err := parse(t, "Location", c.qs, Options{})
		var fe *fhir.Error
		if !errors.As(err, &fe) || fe.Status != http.StatusBadRequest {
			t.Errorf("Location?%s: err = %v, want a 400 *fhir.Error", c.qs, err)
			continue
		}
		if d := fe.Issues[0].Diagnostics; !strings.Contains(d, c.mention) || !strings.Contains(d, "near") {
			t.Errorf("Location?%s: diagnostics %q do not name near and %q", c.qs, d, c.mention)
		}
	}
}

func TestParseNearMissing(t *testing.T) {
	q := mustParse(t, "Location", "near:missing=true")
	if f := q.Filters[0]; f.Modifier != ModMissing || !f.MissingValue {
		t.Errorf("near:missing=true %+v", f)
	}
	// _text and _content, the other special parameters, have no index
	// rows to be missing.
	if _, err := parse(t, "Patient", "_text:missing=true", Options{}); err == nil {
		t.Error("_text:missing accepted")
	}
}
