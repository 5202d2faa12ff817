package news2obs

import (
	"fmt"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/cds/news2"
	"github.com/nhs-junction/junction/internal/store"
)

func obs(id, body string) store.Version {
	return store.Version{Type: "Observation", ID: id, Version: 1, Body: []byte(body)}
}

const t0 = "2025-03-04T10:00:00Z"

func TestParseInput(t *testing.T) {
	q := func(code, value, unit string) string {
		return fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"coding":[%s]},"subject":{"reference":"Patient/p"},"effectiveDateTime":%q,"valueQuantity":{"value":%s,"system":"http://unitsofmeasure.org","code":%q}}`, code, t0, value, unit)
	}
	loinc := func(c string) string { return `{"system":"http://loinc.org","code":"` + c + `"}` }
	cases := []struct {
		name    string
		body    string
		ok      bool
		param   news2.Parameter
		problem bool
		check   func(Input) bool
	}{
		{"respiration", q(loinc("9279-1"), "20.5", "/min"), true, news2.RespirationRate, false, func(i Input) bool { return i.Whole == 21 }},
		{"SpO2 2708-6", q(loinc("2708-6"), "95", "%"), true, news2.SpO2, false, func(i Input) bool { return i.Whole == 95 }},
		{"temperature Cel", q(loinc("8310-5"), "38.05", "Cel"), true, news2.Temperature, false, func(i Input) bool { return i.Tenths == 381 }},
		{"temperature degF", q(loinc("8310-5"), "100.4", "[degF]"), true, news2.Temperature, false, func(i Input) bool { return i.Tenths == 380 }},
		{"temperature in K", q(loinc("8310-5"), "310", "K"), true, news2.Temperature, true, nil},
		{"SpO2 as a fraction", q(loinc("59408-5"), "0.95", "1"), true, news2.SpO2, true, nil},
		{"pulse", q(loinc("8867-4"), "131", "/min"), true, news2.Pulse, false, func(i Input) bool { return i.Whole == 131 }},
		{"not an input", q(loinc("2339-0"), "5", "mmol/L"), false, 0, false, nil},
		{"two parameters' codes", q(loinc("8867-4")+","+loinc("9279-1"), "20", "/min"), false, 0, false, nil},
		{"preliminary", `{"resourceType":"Observation","status":"preliminary","code":{"coding":[` + loinc("8867-4") + `]},"subject":{"reference":"Patient/p"},"effectiveDateTime":"` + t0 + `","valueQuantity":{"value":60,"system":"http://unitsofmeasure.org","code":"/min"}}`, false, 0, false, nil},
		{"date only", `{"resourceType":"Observation","status":"final","code":{"coding":[` + loinc("8867-4") + `]},"subject":{"reference":"Patient/p"},"effectiveDateTime":"2025-03-04","valueQuantity":{"value":60,"system":"http://unitsofmeasure.org","code":"/min"}}`, false, 0, false, nil},
		{"group subject", `{"resourceType":"Observation","status":"final","code":{"coding":[` + loinc("8867-4") + `]},"subject":{"reference":"Group/g"},"effectiveDateTime":"` + t0 + `","valueQuantity":{"value":60,"system":"http://unitsofmeasure.org","code":"/min"}}`, false, 0, false, nil},
		{"on oxygen", `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://snomed.info/sct","code":"371825009"}]},"subject":{"reference":"Patient/p"},"effectiveDateTime":"` + t0 + `"}`, true, news2.AirOrOxygen, false, func(i Input) bool { return i.OnOxygen }},
		{"on air", `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://snomed.info/sct","code":"722742002"}]},"subject":{"reference":"Patient/p"},"effectiveDateTime":"` + t0 + `"}`, true, news2.AirOrOxygen, false, func(i Input) bool { return !i.OnOxygen }},
		{"ACVPU voice", `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://snomed.info/sct","code":"1104441000000107"}]},"subject":{"reference":"Patient/p"},"effectiveDateTime":"` + t0 + `","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"300202002"}]}}`, true, news2.Consciousness, false, func(i Input) bool { return i.Level == news2.Voice }},
		{"ACVPU without a value", `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://snomed.info/sct","code":"1104441000000107"}]},"subject":{"reference":"Patient/p"},"effectiveDateTime":"` + t0 + `"}`, true, news2.Consciousness, true, nil},
		{"BP panel", `{"resourceType":"Observation","status":"final","code":{"coding":[` + loinc("85354-9") + `]},"subject":{"reference":"Patient/p"},"effectivePeriod":{"start":"` + t0 + `"},"component":[{"code":{"coding":[` + loinc("8480-6") + `]},"valueQuantity":{"value":219.5,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`, true, news2.SystolicBP, false, func(i Input) bool { return i.Whole == 220 }},
		{"BP panel without systolic", `{"resourceType":"Observation","status":"final","code":{"coding":[` + loinc("85354-9") + `]},"subject":{"reference":"Patient/p"},"effectiveDateTime":"` + t0 + `","component":[{"code":{"coding":[` + loinc("8462-4") + `]},"valueQuantity":{"value":80,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`, true, news2.SystolicBP, true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, ok := ParseInput(obs("o", c.body))
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v", ok, c.ok)
			}
			if !ok {
				return
			}
			if in.Param != c.param || (in.Problem != "") != c.problem {
				t.Fatalf("param %s problem %q; want %s, problem %v", in.Param, in.Problem, c.param, c.problem)
			}
			if c.check != nil && !c.check(in) {
				t.Fatalf("wrong value: %+v", in)
			}
		})
	}
}

func TestSetAt(t *testing.T) {
	base := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	mk := func(p news2.Parameter, min int, seq int64, whole int) Input {
		return Input{Param: p, Ref: fmt.Sprintf("Observation/%d", seq), Seq: seq, Patient: "Patient/p", Time: base.Add(time.Duration(min) * time.Minute), Whole: whole}
	}
	var ins []Input
	for i, p := range news2.Parameters {
		ins = append(ins, mk(p, i, int64(i+1), 0))
	}
	if s, ok := SetAt(ins, "Patient/p", base.Add(6*time.Minute)); !ok || !s.Complete() {
		t.Fatal("the set at its last input is not complete")
	}
	if s, ok := SetAt(ins, "Patient/p", base.Add(5*time.Minute)); !ok || s.Complete() {
		t.Fatal("the set before its last input is complete")
	}
	if _, ok := SetAt(ins, "Patient/p", base.Add(7*time.Minute)); ok {
		t.Fatal("a time without an input anchors a set")
	}
	if _, ok := SetAt(ins, "Patient/q", base.Add(6*time.Minute)); ok {
		t.Fatal("another patient's inputs anchor a set")
	}
	// A later pulse replaces the earlier one; of two at one time the one
	// stored later wins.
	ins = append(ins, mk(news2.Pulse, 10, 20, 99), mk(news2.Pulse, 10, 21, 120), mk(news2.Pulse, 10, 19, 60))
	s, _ := SetAt(ins, "Patient/p", base.Add(10*time.Minute))
	if s.Inputs[news2.Pulse].Whole != 120 {
		t.Fatalf("pulse %d, want the latest stored (120)", s.Inputs[news2.Pulse].Whole)
	}
	// Fifteen minutes is inside the window; a moment more is not.
	s, _ = SetAt(ins, "Patient/p", base.Add(15*time.Minute))
	ins2 := append(ins, mk(news2.Temperature, 15, 30, 0))
	if s, _ = SetAt(ins2, "Patient/p", base.Add(15*time.Minute)); s.Inputs[news2.RespirationRate] == nil {
		t.Fatal("an input exactly 15 minutes earlier is left out")
	}
	ins2 = append(ins, Input{Param: news2.Temperature, Seq: 31, Patient: "Patient/p", Time: base.Add(15*time.Minute + time.Nanosecond)})
	if s, _ = SetAt(ins2, "Patient/p", base.Add(15*time.Minute+time.Nanosecond)); s.Inputs[news2.RespirationRate] != nil {
		t.Fatal("an input more than 15 minutes earlier is included")
	}
}

func TestIDDeterministic(t *testing.T) {
	a := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	b := a.In(time.FixedZone("BST", 3600))
	if ID("Patient/p", a) != ID("Patient/p", b) {
		t.Error("the same instant in two zones gives two ids")
	}
	if ID("Patient/p", a) == ID("Patient/q", a) || ID("Patient/p", a) == ID("Patient/p", a.Add(time.Second)) {
		t.Error("different sets share an id")
	}
	if n := len(ID("Patient/p", a)); n > 64 {
		t.Errorf("id of %d characters", n)
	}
}

func TestMerge(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2025, 1, 1, 0, m, 0, 0, time.UTC) }
	got := merge([]span{{at(40), at(55)}, {at(0), at(15)}, {at(29), at(30)}, {at(120), at(135)}})
	if len(got) != 2 || !got[0].lo.Equal(at(0)) || !got[0].hi.Equal(at(55)) || !got[1].lo.Equal(at(120)) {
		t.Fatalf("merge = %v", got)
	}
}

func TestParseScale2(t *testing.T) {
	f := func(extra string) store.Version {
		return store.Version{Type: "Flag", ID: "f", Body: []byte(`{"resourceType":"Flag","status":"active","code":{"coding":[{"system":"` + Scale2System + `","code":"` + Scale2Code + `"}]},"subject":{"reference":"Patient/p"}` + extra + `}`)}
	}
	if _, ok := ParseScale2(f(`,"author":{"reference":"Practitioner/x"},"period":{"start":"2025-01-01T00:00:00Z"}`), "Patient/p"); !ok {
		t.Error("a complete decision is not read")
	}
	for name, extra := range map[string]string{
		"no author":       `,"period":{"start":"2025-01-01T00:00:00Z"}`,
		"device author":   `,"author":{"reference":"Device/x"},"period":{"start":"2025-01-01T00:00:00Z"}`,
		"no start":        `,"author":{"reference":"Practitioner/x"}`,
		"date-only start": `,"author":{"reference":"Practitioner/x"},"period":{"start":"2025-01-01"}`,
	} {
		if _, ok := ParseScale2(f(extra), "Patient/p"); ok {
			t.Errorf("%s: accepted as a Scale 2 decision", name)
		}
	}
	if _, ok := ParseScale2(f(`,"author":{"reference":"Practitioner/x"},"period":{"start":"2025-01-01T00:00:00Z"}`), "Patient/q"); ok {
		t.Error("another patient's decision applies")
	}
	s, _ := ParseScale2(f(`,"author":{"reference":"Practitioner/x"},"period":{"start":"2025-01-01T00:00:00Z","end":"2025-02-01T00:00:00Z"}`), "Patient/p")
	if s.At(time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)) || !s.At(time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC)) || s.At(time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("the decision's period is applied wrongly")
	}
}

// FuzzParseInput: any JSON an Observation may carry is read without a
// panic, and what is read as an input is one of the seven parameters.
func FuzzParseInput(f *testing.F) {
	f.Add(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8310-5"}]},"subject":{"reference":"Patient/p"},"effectiveDateTime":"2025-03-04T10:00:00Z","valueQuantity":{"value":36.05,"system":"http://unitsofmeasure.org","code":"Cel"}}`)
	f.Add(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"subject":{"reference":"Patient/p"},"effectiveDateTime":"2025-03-04T10:00:00Z","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":1e2,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		in, ok := ParseInput(obs("o", body))
		if ok && (in.Param < news2.RespirationRate || in.Param > news2.Temperature) {
			t.Fatalf("parameter %d", in.Param)
		}
	})
}
