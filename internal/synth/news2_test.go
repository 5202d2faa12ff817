package synth

import (
	"math"
	"testing"
	"time"
)

// referenceNEWS2 scores Scale 1 from band tables transcribed from the RCP
// chart (NHS-RULES.md §1.1), written separately from scoreNEWS2 so the two
// can check each other.
func referenceNEWS2(v vitals) int {
	type band struct {
		upTo  float64 // inclusive upper edge
		score int
	}
	lookup := func(x float64, bands []band) int {
		for _, b := range bands {
			if x <= b.upTo {
				return b.score
			}
		}
		panic("no band")
	}
	inf := math.Inf(1)
	total := lookup(float64(v.resp), []band{{8, 3}, {11, 1}, {20, 0}, {24, 2}, {inf, 3}})
	total += lookup(float64(v.spo2), []band{{91, 3}, {93, 2}, {95, 1}, {inf, 0}})
	if v.onOxygen {
		total += 2
	}
	total += lookup(float64(v.systolic), []band{{90, 3}, {100, 2}, {110, 1}, {219, 0}, {inf, 3}})
	total += lookup(float64(v.pulse), []band{{40, 3}, {50, 1}, {90, 0}, {110, 1}, {130, 2}, {inf, 3}})
	if v.acvpu != 'A' {
		total += 3
	}
	total += lookup(math.Floor(v.temperature*10+0.5)/10, []band{{35.0, 3}, {36.0, 1}, {38.0, 0}, {39.0, 1}, {inf, 2}})
	return total
}

func TestScoreNEWS2(t *testing.T) {
	normal := vitals{resp: 16, spo2: 98, systolic: 125, diastolic: 80, pulse: 72, acvpu: 'A', temperature: 36.8}
	with := func(f func(*vitals)) vitals { v := normal; f(&v); return v }
	for _, tc := range []struct {
		name string
		v    vitals
		want int
	}{
		{"all normal", normal, 0},
		{"resp 8", with(func(v *vitals) { v.resp = 8 }), 3},
		{"resp 9", with(func(v *vitals) { v.resp = 9 }), 1},
		{"resp 11", with(func(v *vitals) { v.resp = 11 }), 1},
		{"resp 12", with(func(v *vitals) { v.resp = 12 }), 0},
		{"resp 20", with(func(v *vitals) { v.resp = 20 }), 0},
		{"resp 21", with(func(v *vitals) { v.resp = 21 }), 2},
		{"resp 24", with(func(v *vitals) { v.resp = 24 }), 2},
		{"resp 25", with(func(v *vitals) { v.resp = 25 }), 3},
		{"spo2 91", with(func(v *vitals) { v.spo2 = 91 }), 3},
		{"spo2 92", with(func(v *vitals) { v.spo2 = 92 }), 2},
		{"spo2 93", with(func(v *vitals) { v.spo2 = 93 }), 2},
		{"spo2 94", with(func(v *vitals) { v.spo2 = 94 }), 1},
		{"spo2 95", with(func(v *vitals) { v.spo2 = 95 }), 1},
		{"spo2 96", with(func(v *vitals) { v.spo2 = 96 }), 0},
		{"oxygen", with(func(v *vitals) { v.onOxygen = true }), 2},
		{"sbp 90", with(func(v *vitals) { v.systolic = 90 }), 3},
		{"sbp 91", with(func(v *vitals) { v.systolic = 91 }), 2},
		{"sbp 100", with(func(v *vitals) { v.systolic = 100 }), 2},
		{"sbp 101", with(func(v *vitals) { v.systolic = 101 }), 1},
		{"sbp 110", with(func(v *vitals) { v.systolic = 110 }), 1},
		{"sbp 111", with(func(v *vitals) { v.systolic = 111 }), 0},
		{"sbp 219", with(func(v *vitals) { v.systolic = 219 }), 0},
		{"sbp 220", with(func(v *vitals) { v.systolic = 220 }), 3},
		{"pulse 40", with(func(v *vitals) { v.pulse = 40 }), 3},
		{"pulse 41", with(func(v *vitals) { v.pulse = 41 }), 1},
		{"pulse 50", with(func(v *vitals) { v.pulse = 50 }), 1},
		{"pulse 51", with(func(v *vitals) { v.pulse = 51 }), 0},
		{"pulse 90", with(func(v *vitals) { v.pulse = 90 }), 0},
		{"pulse 91", with(func(v *vitals) { v.pulse = 91 }), 1},
		{"pulse 110", with(func(v *vitals) { v.pulse = 110 }), 1},
		{"pulse 111", with(func(v *vitals) { v.pulse = 111 }), 2},
		{"pulse 130", with(func(v *vitals) { v.pulse = 130 }), 2},
		{"pulse 131", with(func(v *vitals) { v.pulse = 131 }), 3},
		{"new confusion", with(func(v *vitals) { v.acvpu = 'C' }), 3},
		{"unresponsive", with(func(v *vitals) { v.acvpu = 'U' }), 3},
		{"temp 35.0", with(func(v *vitals) { v.temperature = 35.0 }), 3},
		{"temp 35.1", with(func(v *vitals) { v.temperature = 35.1 }), 1},
		{"temp 36.0", with(func(v *vitals) { v.temperature = 36.0 }), 1},
		{"temp 36.1", with(func(v *vitals) { v.temperature = 36.1 }), 0},
		{"temp 38.0", with(func(v *vitals) { v.temperature = 38.0 }), 0},
		{"temp 38.1", with(func(v *vitals) { v.temperature = 38.1 }), 1},
		{"temp 39.0", with(func(v *vitals) { v.temperature = 39.0 }), 1},
		{"temp 39.1", with(func(v *vitals) { v.temperature = 39.1 }), 2},
		{"temp 36.05 rounds up", with(func(v *vitals) { v.temperature = 36.05 }), 0},
		{"sick", vitals{resp: 26, spo2: 90, onOxygen: true, systolic: 88, pulse: 135, acvpu: 'V', temperature: 39.5}, 3 + 3 + 2 + 3 + 3 + 3 + 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := scoreNEWS2(tc.v).total(); got != tc.want {
				t.Errorf("scoreNEWS2 = %d, want %d", got, tc.want)
			}
			if got := referenceNEWS2(tc.v); got != tc.want {
				t.Errorf("referenceNEWS2 = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestDrawnVitalsAgreeWithReference(t *testing.T) {
	r := newRNG(1, 1, 1)
	for k := 0; k < 100000; k++ {
		v := drawVitals(r, r.float())
		if got, want := scoreNEWS2(v).total(), referenceNEWS2(v); got != want {
			t.Fatalf("%+v: scoreNEWS2 %d, reference %d", v, got, want)
		}
	}
}

func TestUKTime(t *testing.T) {
	for _, tc := range []struct {
		utc  time.Time
		want string
	}{
		{time.Date(2024, 3, 31, 0, 59, 0, 0, time.UTC), "2024-03-31T00:59:00Z"},
		{time.Date(2024, 3, 31, 1, 0, 0, 0, time.UTC), "2024-03-31T02:00:00+01:00"},
		{time.Date(2024, 10, 27, 0, 59, 0, 0, time.UTC), "2024-10-27T01:59:00+01:00"},
		{time.Date(2024, 10, 27, 1, 0, 0, 0, time.UTC), "2024-10-27T01:00:00Z"},
		{time.Date(2025, 1, 15, 9, 30, 0, 0, time.UTC), "2025-01-15T09:30:00Z"},
	} {
		if got := dateTime(tc.utc); got != tc.want {
			t.Errorf("dateTime(%s) = %s, want %s", tc.utc, got, tc.want)
		}
	}
	r := newRNG(1, 1, 1)
	for k := 0; k < 1000; k++ {
		at := officeHours(r, Epoch.AddDate(0, 0, -k*3))
		s := dateTime(at)
		hhmm := s[11:16]
		if hhmm < "08:30" || hhmm > "17:30" || at.Weekday() == time.Saturday || at.Weekday() == time.Sunday {
			t.Fatalf("officeHours gave %s", s)
		}
	}
}
