package match

import (
	"encoding/json"
	"math"
	"testing"
)

// patient builds Patient JSON from a few fields; empty ones are left out.
type pt struct {
	nhs, nhsStatus, family, birth, gender, postcode, phone, email string
	given                                                         []string
	mrn                                                           string
}

func (p pt) json() []byte {
	r := map[string]any{"resourceType": "Patient"}
	var ids []any
	if p.nhs != "" {
		id := map[string]any{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": p.nhs}
		if p.nhsStatus != "" {
			id["extension"] = []any{map[string]any{
				"url":                  "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
				"valueCodeableConcept": map[string]any{"coding": []any{map[string]any{"code": p.nhsStatus}}},
			}}
		}
		ids = append(ids, id)
	}
	if p.mrn != "" {
		ids = append(ids, map[string]any{"system": "https://trust.example/mrn", "value": p.mrn})
	}
	if ids != nil {
		r["identifier"] = ids
	}
	if p.family != "" || p.given != nil {
		r["name"] = []any{map[string]any{"family": p.family, "given": p.given}}
	}
	if p.birth != "" {
		r["birthDate"] = p.birth
	}
	if p.gender != "" {
		r["gender"] = p.gender
	}
	if p.postcode != "" {
		r["address"] = []any{map[string]any{"postalCode": p.postcode}}
	}
	var tel []any
	if p.phone != "" {
		tel = append(tel, map[string]any{"system": "phone", "value": p.phone})
	}
	if p.email != "" {
		tel = append(tel, map[string]any{"system": "email", "value": p.email})
	}
	if tel != nil {
		r["telecom"] = tel
	}
	b, _ := json.Marshal(r)
	return b
}

func mustParse(t *testing.T, p pt) *Patient {
	t.Helper()
	x, err := Parse(p.json())
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// base is a fully populated person; cases vary one thing at a time.
var base = pt{family: "Smith", given: []string{"Jane", "Anne"}, birth: "1980-03-07", gender: "female",
	postcode: "LS1 4AP", phone: "07700 900123", email: "jane.smith@example.com"}

func with(f func(*pt)) pt {
	p := base
	p.given = append([]string(nil), base.given...)
	f(&p)
	return p
}

func TestCompareGrades(t *testing.T) {
	const nhsA, nhsB = "9990000018", "9990000026"
	cases := []struct {
		name      string
		q, c      pt
		grade     Grade
		minScore  float64
		maxScore  float64
		fieldWant map[string]float64
	}{
		{"same NHS number is certain", pt{nhs: nhsA}, with(func(p *pt) { p.nhs = nhsA }), Certain, 1, 1, nil},
		{"same NHS number, other demographics slightly off", with(func(p *pt) { p.nhs = nhsA; p.family = "Smyth" }), with(func(p *pt) { p.nhs = nhsA }), Certain, 1, 1, nil},
		{"different NHS numbers are certainly not", with(func(p *pt) { p.nhs = nhsA }), with(func(p *pt) { p.nhs = nhsB }), CertainlyNot, 0, 0, nil},
		{"same NHS number, name and birth date contradict", with(func(p *pt) { p.nhs = nhsA; p.family = "Okafor"; p.birth = "1955-11-30" }), with(func(p *pt) { p.nhs = nhsA }), Possible, PossibleThreshold, 1, nil},
		{"same NHS number in doubt (05)", with(func(p *pt) { p.nhs = nhsA; p.nhsStatus = "05" }), with(func(p *pt) { p.nhs = nhsA }), Probable, ProbableThreshold, 1, nil},
		{"invalid NHS number is ignored", with(func(p *pt) { p.nhs = "9990000019" }), with(func(p *pt) { p.nhs = nhsB }), Probable, 0.99, 1, nil},
		{"identical demographics without NHS number are probable, never certain", base, base, Probable, 1, 1, nil},
		{"case and accents", with(func(p *pt) { p.family = "SMÏTH"; p.given = []string{"jáne"} }), base, Probable, 0.99, 1, map[string]float64{"family": 1, "given": 1}},
		{"hyphen and space variants", with(func(p *pt) { p.family = "Smith-Jones" }), with(func(p *pt) { p.family = "smith jones" }), Probable, 0.99, 1, map[string]float64{"family": 1}},
		{"one part of a double-barrelled name", with(func(p *pt) { p.family = "Smith-Jones" }), with(func(p *pt) { p.family = "Jones" }), Probable, ProbableThreshold, 1, map[string]float64{"family": SimNamePart}},
		{"transposed letters in family name", with(func(p *pt) { p.family = "Simth" }), base, Probable, ProbableThreshold, 1, map[string]float64{"family": SimNameOneEdit}},
		{"phonetic family name", with(func(p *pt) { p.family = "Smythe" }), base, Probable, ProbableThreshold, 1, nil},
		{"phonetic only (Soundex)", with(func(p *pt) { p.family = "Robertson" }), with(func(p *pt) { p.family = "Rupertsen" }), Probable, ProbableThreshold, 1, map[string]float64{"family": SimNamePhonetic}},
		{"given and family transposed", with(func(p *pt) { p.family = "Jane"; p.given = []string{"Smith"} }), base, Probable, ProbableThreshold, 1, map[string]float64{"family": SimNamesSwapped, "given": SimNamesSwapped}},
		{"middle name only", with(func(p *pt) { p.given = []string{"Anne"} }), base, Probable, ProbableThreshold, 1, map[string]float64{"given": SimMiddleNameOnly}},
		{"initial", with(func(p *pt) { p.given = []string{"J"} }), base, Probable, ProbableThreshold, 1, map[string]float64{"given": SimNameInitial}},
		{"day and month transposed", with(func(p *pt) { p.birth = "1980-07-03" }), base, Probable, ProbableThreshold, 1, map[string]float64{"birthDate": SimBirthDayMonth}},
		{"year off by one digit", with(func(p *pt) { p.birth = "1981-03-07" }), base, Probable, ProbableThreshold, 1, map[string]float64{"birthDate": SimBirthYearDigit}},
		{"day off by one digit", with(func(p *pt) { p.birth = "1980-03-01" }), base, Probable, ProbableThreshold, 1, map[string]float64{"birthDate": SimBirthOtherDigit}},
		{"postcode format", with(func(p *pt) { p.postcode = "ls14ap" }), base, Probable, 0.99, 1, map[string]float64{"postcode": 1}},
		{"postcode district only", with(func(p *pt) { p.postcode = "LS1 9ZZ" }), base, Probable, ProbableThreshold, 1, map[string]float64{"postcode": SimPostcodeOutward}},
		{"phone +44", with(func(p *pt) { p.phone = "+44 7700 900123" }), base, Probable, 0.99, 1, map[string]float64{"phone": 1}},
		{"email case", with(func(p *pt) { p.email = "Jane.Smith@Example.com" }), base, Probable, 0.99, 1, map[string]float64{"email": 1}},
		{"twin: other given name", with(func(p *pt) { p.given = []string{"Emily"} }), base, Possible, PossibleThreshold, ProbableThreshold, map[string]float64{"given": 0}},
		{"other birth date entirely", with(func(p *pt) { p.birth = "1992-12-25" }), base, Possible, PossibleThreshold, ProbableThreshold, map[string]float64{"birthDate": 0}},
		{"gender differs", with(func(p *pt) { p.gender = "male" }), base, Probable, ProbableThreshold, 0.99, map[string]float64{"gender": 0}},
		{"no birth date: at most possible", pt{family: "Smith", given: []string{"Jane"}}, base, Possible, 0.99, 1, nil},
		{"another person", pt{family: "Okafor", given: []string{"Chidi"}, birth: "1955-11-30", gender: "male", postcode: "M1 1AA"}, base, NoMatch, 0, PossibleThreshold, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Compare(mustParse(t, tc.q), mustParse(t, tc.c))
			if r.Grade != tc.grade || r.Score < tc.minScore-1e-9 || r.Score > tc.maxScore+1e-9 {
				t.Errorf("grade %q score %.3f (%s, %v), want %q in [%.2f, %.2f]", r.Grade, r.Score, r.Reason, r.Fields, tc.grade, tc.minScore, tc.maxScore)
			}
			for k, want := range tc.fieldWant {
				if got, ok := r.Fields[k]; !ok || math.Abs(got-want) > 1e-9 {
					t.Errorf("field %s = %v (present %v), want %v", k, got, ok, want)
				}
			}
		})
	}
}

func TestWeightsSumToOne(t *testing.T) {
	sum := WeightFamily + WeightGiven + WeightBirthDate + WeightGender + WeightPostcode + WeightPhone + WeightEmail
	if math.Abs(sum-1) > 1e-9 {
		t.Fatalf("weights sum to %v", sum)
	}
}

func TestStringRules(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Robert", "R163"}, {"Rupert", "R163"}, {"Ashcraft", "A261"}, {"Tymczak", "T522"}, {"Pfister", "P236"}, {"Lee", "L000"},
	} {
		if got := soundex(normName(tc.in)); got != tc.want {
			t.Errorf("soundex(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		a, b string
		want int
	}{{"smith", "simth", 1}, {"smith", "smith", 0}, {"ca", "abc", 3}, {"jones", "johns", 2}, {"", "abc", 3}} {
		if got := damerau(tc.a, tc.b); got != tc.want {
			t.Errorf("damerau(%s,%s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	if jw := jaroWinkler("martha", "marhta"); math.Abs(jw-0.9611) > 0.001 {
		t.Errorf("jaroWinkler(martha, marhta) = %v, want 0.961", jw)
	}
	if jw := jaroWinkler("dixon", "dicksonx"); math.Abs(jw-0.8133) > 0.001 {
		t.Errorf("jaroWinkler(dixon, dicksonx) = %v, want 0.813", jw)
	}
	for in, want := range map[string]string{"+44 7700 900123": "07700900123", "0044 7700 900123": "07700900123", "(0113) 496 0000": "01134960000"} {
		if got := digits(in); got != want {
			t.Errorf("digits(%q) = %q, want %q", in, got, want)
		}
	}
	if got := normName("  O'Brien-Smith "); got != "o brien smith" {
		t.Errorf("normName = %q", got)
	}
	if got := postcode(" ls1 4ap"); got != "LS14AP" || outward(got) != "LS1" {
		t.Errorf("postcode = %q, outward %q", got, outward(got))
	}
}

func TestParseRefusesOtherTypes(t *testing.T) {
	if _, err := Parse([]byte(`{"resourceType":"Observation"}`)); err == nil {
		t.Fatal("an Observation parsed as a Patient")
	}
	if _, err := Parse([]byte(`{`)); err == nil {
		t.Fatal("broken JSON parsed")
	}
}
