package news2

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// normal is a set scoring 0 in every parameter; each edge case changes one.
var normal = Vitals{RespirationRate: 16, SpO2: 97, Scale: Scale1, SystolicBP: 120, Pulse: 70, Consciousness: Alert, TemperatureTenths: 370}

// TestBandEdges checks the sub-score on both sides of every band edge of
// RCP 2017 Chart 1 (NHS-RULES.md §1.1), one parameter at a time.
func TestBandEdges(t *testing.T) {
	type edge struct {
		name  string
		set   func(*Vitals)
		param Parameter
		want  int
	}
	resp := func(n int) func(*Vitals) { return func(v *Vitals) { v.RespirationRate = n } }
	spo2 := func(n int, scale Scale, o2 bool) func(*Vitals) {
		return func(v *Vitals) { v.SpO2, v.Scale, v.OnOxygen = n, scale, o2 }
	}
	sbp := func(n int) func(*Vitals) { return func(v *Vitals) { v.SystolicBP = n } }
	pulse := func(n int) func(*Vitals) { return func(v *Vitals) { v.Pulse = n } }
	temp := func(n int) func(*Vitals) { return func(v *Vitals) { v.TemperatureTenths = n } }
	acvpu := func(l Level) func(*Vitals) { return func(v *Vitals) { v.Consciousness = l } }
	o2 := func(on bool) func(*Vitals) { return func(v *Vitals) { v.OnOxygen = on } }
	cases := []edge{
		// Respiration rate: ≤8 3 | 9–11 1 | 12–20 0 | 21–24 2 | ≥25 3.
		{"resp 0", resp(0), RespirationRate, 3}, {"resp 8", resp(8), RespirationRate, 3},
		{"resp 9", resp(9), RespirationRate, 1}, {"resp 11", resp(11), RespirationRate, 1},
		{"resp 12", resp(12), RespirationRate, 0}, {"resp 20", resp(20), RespirationRate, 0},
		{"resp 21", resp(21), RespirationRate, 2}, {"resp 24", resp(24), RespirationRate, 2},
		{"resp 25", resp(25), RespirationRate, 3}, {"resp 100", resp(100), RespirationRate, 3},
		// SpO2 Scale 1: ≤91 3 | 92–93 2 | 94–95 1 | ≥96 0, air or oxygen alike.
		{"s1 0", spo2(0, Scale1, false), SpO2, 3}, {"s1 91", spo2(91, Scale1, false), SpO2, 3},
		{"s1 92", spo2(92, Scale1, false), SpO2, 2}, {"s1 93", spo2(93, Scale1, false), SpO2, 2},
		{"s1 94", spo2(94, Scale1, false), SpO2, 1}, {"s1 95", spo2(95, Scale1, false), SpO2, 1},
		{"s1 96", spo2(96, Scale1, false), SpO2, 0}, {"s1 100", spo2(100, Scale1, false), SpO2, 0},
		{"s1 96 o2", spo2(96, Scale1, true), SpO2, 0}, {"s1 100 o2", spo2(100, Scale1, true), SpO2, 0},
		{"s1 91 o2", spo2(91, Scale1, true), SpO2, 3},
		// SpO2 Scale 2: ≤83 3 | 84–85 2 | 86–87 1 | 88–92 0 | ≥93 on air 0 |
		// 93–94 on O2 1 | 95–96 on O2 2 | ≥97 on O2 3.
		{"s2 83", spo2(83, Scale2, false), SpO2, 3}, {"s2 84", spo2(84, Scale2, false), SpO2, 2},
		{"s2 85", spo2(85, Scale2, false), SpO2, 2}, {"s2 86", spo2(86, Scale2, false), SpO2, 1},
		{"s2 87", spo2(87, Scale2, false), SpO2, 1}, {"s2 88", spo2(88, Scale2, false), SpO2, 0},
		{"s2 92", spo2(92, Scale2, false), SpO2, 0}, {"s2 93 air", spo2(93, Scale2, false), SpO2, 0},
		{"s2 100 air", spo2(100, Scale2, false), SpO2, 0},
		{"s2 83 o2", spo2(83, Scale2, true), SpO2, 3}, {"s2 87 o2", spo2(87, Scale2, true), SpO2, 1},
		{"s2 88 o2", spo2(88, Scale2, true), SpO2, 0}, {"s2 92 o2", spo2(92, Scale2, true), SpO2, 0},
		{"s2 93 o2", spo2(93, Scale2, true), SpO2, 1}, {"s2 94 o2", spo2(94, Scale2, true), SpO2, 1},
		{"s2 95 o2", spo2(95, Scale2, true), SpO2, 2}, {"s2 96 o2", spo2(96, Scale2, true), SpO2, 2},
		{"s2 97 o2", spo2(97, Scale2, true), SpO2, 3}, {"s2 100 o2", spo2(100, Scale2, true), SpO2, 3},
		// Air or oxygen: oxygen 2, air 0, on either scale.
		{"air", o2(false), AirOrOxygen, 0}, {"oxygen", o2(true), AirOrOxygen, 2},
		{"oxygen scale 2", spo2(90, Scale2, true), AirOrOxygen, 2},
		// Systolic: ≤90 3 | 91–100 2 | 101–110 1 | 111–219 0 | ≥220 3.
		{"sbp 0", sbp(0), SystolicBP, 3}, {"sbp 90", sbp(90), SystolicBP, 3},
		{"sbp 91", sbp(91), SystolicBP, 2}, {"sbp 100", sbp(100), SystolicBP, 2},
		{"sbp 101", sbp(101), SystolicBP, 1}, {"sbp 110", sbp(110), SystolicBP, 1},
		{"sbp 111", sbp(111), SystolicBP, 0}, {"sbp 219", sbp(219), SystolicBP, 0},
		{"sbp 220", sbp(220), SystolicBP, 3}, {"sbp 350", sbp(350), SystolicBP, 3},
		// Pulse: ≤40 3 | 41–50 1 | 51–90 0 | 91–110 1 | 111–130 2 | ≥131 3.
		{"pulse 0", pulse(0), Pulse, 3}, {"pulse 40", pulse(40), Pulse, 3},
		{"pulse 41", pulse(41), Pulse, 1}, {"pulse 50", pulse(50), Pulse, 1},
		{"pulse 51", pulse(51), Pulse, 0}, {"pulse 90", pulse(90), Pulse, 0},
		{"pulse 91", pulse(91), Pulse, 1}, {"pulse 110", pulse(110), Pulse, 1},
		{"pulse 111", pulse(111), Pulse, 2}, {"pulse 130", pulse(130), Pulse, 2},
		{"pulse 131", pulse(131), Pulse, 3}, {"pulse 350", pulse(350), Pulse, 3},
		// Consciousness: Alert 0; new Confusion, Voice, Pain, Unresponsive 3.
		{"A", acvpu(Alert), Consciousness, 0}, {"C", acvpu(NewConfusion), Consciousness, 3},
		{"V", acvpu(Voice), Consciousness, 3}, {"P", acvpu(Pain), Consciousness, 3},
		{"U", acvpu(Unresponsive), Consciousness, 3},
		// Temperature: ≤35.0 3 | 35.1–36.0 1 | 36.1–38.0 0 | 38.1–39.0 1 | ≥39.1 2.
		{"temp 20.0", temp(200), Temperature, 3}, {"temp 35.0", temp(350), Temperature, 3},
		{"temp 35.1", temp(351), Temperature, 1}, {"temp 36.0", temp(360), Temperature, 1},
		{"temp 36.1", temp(361), Temperature, 0}, {"temp 38.0", temp(380), Temperature, 0},
		{"temp 38.1", temp(381), Temperature, 1}, {"temp 39.0", temp(390), Temperature, 1},
		{"temp 39.1", temp(391), Temperature, 2}, {"temp 45.0", temp(450), Temperature, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := normal
			c.set(&v)
			r, err := Score(v)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Scores[c.param]; got != c.want {
				t.Fatalf("%s sub-score = %d, want %d", c.param, got, c.want)
			}
			sum := 0
			for p, s := range r.Scores {
				if Parameter(p) != c.param && !(c.param == SpO2 && Parameter(p) == AirOrOxygen) && s != 0 {
					t.Errorf("%s scored %d; only %s should have changed", Parameter(p), s, c.param)
				}
				sum += s
			}
			if r.Total != sum {
				t.Errorf("total %d is not the sum of the sub-scores %d", r.Total, sum)
			}
		})
	}
}

// TestRiskBands checks RCP 2017 Chart 4 at each edge of the aggregate
// bands, with and without a red score.
func TestRiskBands(t *testing.T) {
	cases := []struct {
		total int
		red   bool
		want  Risk
	}{
		{0, false, RiskLow}, {1, false, RiskLow}, {4, false, RiskLow},
		{3, true, RiskLowMedium}, {4, true, RiskLowMedium},
		{5, false, RiskMedium}, {5, true, RiskMedium}, {6, false, RiskMedium}, {6, true, RiskMedium},
		{7, false, RiskHigh}, {7, true, RiskHigh}, {20, true, RiskHigh},
	}
	for _, c := range cases {
		if got := RiskOf(c.total, c.red); got != c.want {
			t.Errorf("RiskOf(%d, red=%v) = %v, want %v", c.total, c.red, got.Code(), c.want.Code())
		}
	}
}

// TestScoreSets checks whole sets: totals and risk at the band edges,
// and that a red score is never hidden by a low total.
func TestScoreSets(t *testing.T) {
	cases := []struct {
		name  string
		v     Vitals
		total int
		risk  Risk
	}{
		{"all normal", normal, 0, RiskLow},
		{"total 4, no red", with(normal, func(v *Vitals) { v.RespirationRate, v.Pulse, v.TemperatureTenths = 21, 91, 381 }), 4, RiskLow},
		{"single red (new confusion)", with(normal, func(v *Vitals) { v.Consciousness = NewConfusion }), 3, RiskLowMedium},
		{"red with total 4", with(normal, func(v *Vitals) { v.SystolicBP, v.Pulse = 90, 91 }), 4, RiskLowMedium},
		{"total 5", with(normal, func(v *Vitals) { v.SpO2, v.OnOxygen, v.Pulse = 95, true, 111 }), 5, RiskMedium},
		{"total 6 with red", with(normal, func(v *Vitals) { v.RespirationRate, v.Pulse, v.TemperatureTenths = 25, 41, 391 }), 6, RiskMedium},
		{"total 6 without red", with(normal, func(v *Vitals) { v.RespirationRate, v.SpO2, v.OnOxygen = 25, 94, true }), 6, RiskMedium},
		{"total 7 exactly", with(normal, func(v *Vitals) { v.RespirationRate, v.SpO2, v.OnOxygen, v.Pulse = 25, 94, true, 91 }), 7, RiskHigh},
		{"maximum 20", Vitals{RespirationRate: 30, SpO2: 80, Scale: Scale1, OnOxygen: true, SystolicBP: 80, Pulse: 140, Consciousness: Unresponsive, TemperatureTenths: 340}, 20, RiskHigh},
		{"scale 2 on air at 95", with(normal, func(v *Vitals) { v.Scale, v.SpO2 = Scale2, 95 }), 0, RiskLow},
		{"scale 2 on oxygen at 97", with(normal, func(v *Vitals) { v.Scale, v.SpO2, v.OnOxygen = Scale2, 97, true }), 5, RiskMedium},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Score(c.v)
			if err != nil {
				t.Fatal(err)
			}
			if r.Total != c.total || r.Risk != c.risk {
				t.Fatalf("total %d risk %s, want %d %s (scores %v)", r.Total, r.Risk.Code(), c.total, c.risk.Code(), r.Scores)
			}
		})
	}
}

func with(v Vitals, f func(*Vitals)) Vitals { f(&v); return v }

// TestImplausible checks that values that can only be unit or entry
// errors are refused, naming the value, rather than banded.
func TestImplausible(t *testing.T) {
	cases := map[string]func(*Vitals){
		"temperature in Fahrenheit": func(v *Vitals) { v.TemperatureTenths = 986 },
		"temperature 19.9":          func(v *Vitals) { v.TemperatureTenths = 199 },
		"SpO2 above 100":            func(v *Vitals) { v.SpO2 = 101 },
		"negative pulse":            func(v *Vitals) { v.Pulse = -1 },
		"systolic in kPa*100":       func(v *Vitals) { v.SystolicBP = 1600 },
		"respiration 101":           func(v *Vitals) { v.RespirationRate = 101 },
		"scale 0":                   func(v *Vitals) { v.Scale = 0 },
		"unknown level":             func(v *Vitals) { v.Consciousness = 9 },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Score(with(normal, f)); !errors.Is(err, ErrImplausible) {
				t.Fatalf("err = %v, want ErrImplausible", err)
			}
		})
	}
}

// band is one cell of the chart as a closed interval: the independent
// formulation the property test compares Score against, transcribed
// separately from NHS-RULES.md §1.1 as data rather than code.
type band struct{ lo, hi, score int }

var chart = map[string][]band{
	"resp":   {{0, 8, 3}, {9, 11, 1}, {12, 20, 0}, {21, 24, 2}, {25, 1000, 3}},
	"s1":     {{0, 91, 3}, {92, 93, 2}, {94, 95, 1}, {96, 100, 0}},
	"s2air":  {{0, 83, 3}, {84, 85, 2}, {86, 87, 1}, {88, 100, 0}},
	"s2o2":   {{0, 83, 3}, {84, 85, 2}, {86, 87, 1}, {88, 92, 0}, {93, 94, 1}, {95, 96, 2}, {97, 100, 3}},
	"sbp":    {{0, 90, 3}, {91, 100, 2}, {101, 110, 1}, {111, 219, 0}, {220, 1000, 3}},
	"pulse":  {{0, 40, 3}, {41, 50, 1}, {51, 90, 0}, {91, 110, 1}, {111, 130, 2}, {131, 1000, 3}},
	"temp10": {{0, 350, 3}, {351, 360, 1}, {361, 380, 0}, {381, 390, 1}, {391, 1000, 2}},
}

func lookup(t *testing.T, table string, x int) int {
	t.Helper()
	for _, b := range chart[table] {
		if x >= b.lo && x <= b.hi {
			return b.score
		}
	}
	t.Fatalf("%s: %d is in no band", table, x)
	return -1
}

// independent scores v from the chart table, and derives the risk as the
// highest alert level any rule of Chart 4 raises.
func independent(t *testing.T, v Vitals) (scores [7]int, total int, risk Risk) {
	scores[0] = lookup(t, "resp", v.RespirationRate)
	switch {
	case v.Scale == Scale1:
		scores[1] = lookup(t, "s1", v.SpO2)
	case v.OnOxygen:
		scores[1] = lookup(t, "s2o2", v.SpO2)
	default:
		scores[1] = lookup(t, "s2air", v.SpO2)
	}
	if v.OnOxygen {
		scores[2] = 2
	}
	scores[3] = lookup(t, "sbp", v.SystolicBP)
	scores[4] = lookup(t, "pulse", v.Pulse)
	if v.Consciousness != Alert {
		scores[5] = 3
	}
	scores[6] = lookup(t, "temp10", v.TemperatureTenths)
	levels := []Risk{RiskLow}
	for _, s := range scores {
		total += s
		if s == 3 {
			levels = append(levels, RiskLowMedium)
		}
	}
	if total >= 5 {
		levels = append(levels, RiskMedium)
	}
	if total >= 7 {
		levels = append(levels, RiskHigh)
	}
	for _, l := range levels {
		risk = max(risk, l)
	}
	return scores, total, risk
}

// TestAgainstIndependent compares Score with the independent formulation
// exhaustively for each parameter over its whole plausible range, and on
// random whole sets.
func TestAgainstIndependent(t *testing.T) {
	check := func(v Vitals) {
		t.Helper()
		r, err := Score(v)
		if err != nil {
			t.Fatalf("%+v: %v", v, err)
		}
		scores, total, risk := independent(t, v)
		if r.Scores != scores || r.Total != total || r.Risk != risk {
			t.Fatalf("%+v: Score gives %v total %d %s; the chart gives %v total %d %s",
				v, r.Scores, r.Total, r.Risk.Code(), scores, total, risk.Code())
		}
	}
	for x := 0; x <= MaxRespirationRate; x++ {
		check(with(normal, func(v *Vitals) { v.RespirationRate = x }))
	}
	for x := 0; x <= 100; x++ {
		for _, s := range []Scale{Scale1, Scale2} {
			for _, o2 := range []bool{false, true} {
				check(with(normal, func(v *Vitals) { v.SpO2, v.Scale, v.OnOxygen = x, s, o2 }))
			}
		}
	}
	for x := 0; x <= MaxSystolicBP; x++ {
		check(with(normal, func(v *Vitals) { v.SystolicBP = x }))
	}
	for x := 0; x <= MaxPulse; x++ {
		check(with(normal, func(v *Vitals) { v.Pulse = x }))
	}
	for x := MinTemperatureTenths; x <= MaxTemperatureTenths; x++ {
		check(with(normal, func(v *Vitals) { v.TemperatureTenths = x }))
	}
	rng := rand.New(rand.NewPCG(2017, 12))
	seen := map[Risk]int{}
	for range 200000 {
		v := Vitals{
			RespirationRate:   rng.IntN(45),
			SpO2:              75 + rng.IntN(26),
			Scale:             Scale(1 + rng.IntN(2)),
			OnOxygen:          rng.IntN(2) == 1,
			SystolicBP:        60 + rng.IntN(180),
			Pulse:             30 + rng.IntN(120),
			Consciousness:     Level(rng.IntN(8) / 4 * rng.IntN(5)),
			TemperatureTenths: 340 + rng.IntN(65),
		}
		check(v)
		r, _ := Score(v)
		seen[r.Risk]++
	}
	for r := RiskLow; r <= RiskHigh; r++ {
		if seen[r] == 0 {
			t.Errorf("the random sets never reached risk %s: the comparison is too narrow", r.Code())
		}
	}
}
