package synth

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
)

const testSeed = 20250331

func TestDeterministic(t *testing.T) {
	a := New(Options{Patients: 50, Seed: testSeed})
	b := New(Options{Patients: 50, Seed: testSeed})
	c := New(Options{Patients: 50, Seed: testSeed + 1})
	if !equalAll(a.Shared(), b.Shared()) {
		t.Fatal("Shared differs for the same seed")
	}
	if equalAll(a.Shared(), c.Shared()) {
		t.Fatal("Shared is the same for different seeds")
	}
	for i := 0; i < 50; i++ {
		if !equalAll(a.Patient(i), b.Patient(i)) {
			t.Fatalf("Patient(%d) differs for the same seed", i)
		}
		if equalAll(a.Patient(i), c.Patient(i)) {
			t.Fatalf("Patient(%d) is the same for different seeds", i)
		}
	}
	// A patient generated alone, out of order, is the same as in sequence.
	fresh := New(Options{Patients: 50, Seed: testSeed})
	if !equalAll(fresh.Patient(37), a.Patient(37)) {
		t.Fatal("Patient(37) depends on what was generated before it")
	}
}

func equalAll(x, y [][]byte) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if !bytes.Equal(x[i], y[i]) {
			return false
		}
	}
	return true
}

// population parses every resource of the first n patients plus the
// shared ones, keyed by "Type/id".
type parsed struct {
	typ, id string
	raw     []byte
	m       map[string]any
}

// population returns the parsed resources of the first popSize patients
// of the test population, generated and parsed once for all the tests
// that read them.
const popSize = 80

var (
	popOnce     sync.Once
	popShared   []parsed
	popPatients [][]parsed
)

func population(t testing.TB) (*Generator, []parsed, [][]parsed) {
	g := New(Options{Patients: popSize, Seed: testSeed})
	popOnce.Do(func() { popShared, popPatients = generate(t, g, popSize) })
	if popPatients == nil {
		t.Fatal("test population failed to generate")
	}
	return g, popShared, popPatients
}

func generate(t testing.TB, g *Generator, n int) (shared []parsed, patients [][]parsed) {
	t.Helper()
	conv := func(items [][]byte) []parsed {
		out := make([]parsed, len(items))
		for k, raw := range items {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("invalid JSON: %v: %s", err, raw)
			}
			out[k] = parsed{typ: m["resourceType"].(string), id: m["id"].(string), raw: raw, m: m}
		}
		return out
	}
	shared = conv(g.Shared())
	for i := 0; i < n; i++ {
		patients = append(patients, conv(g.Patient(i)))
	}
	return shared, patients
}

func TestReferencesResolveAndIDsUnique(t *testing.T) {
	_, shared, patients := population(t)
	known := map[string]bool{}
	add := func(p parsed) {
		key := p.typ + "/" + p.id
		if known[key] {
			t.Fatalf("duplicate resource %s", key)
		}
		if !fhir.ValidID(p.id) {
			t.Fatalf("invalid id %q", p.id)
		}
		known[key] = true
	}
	for _, p := range shared {
		add(p)
	}
	for _, rs := range patients {
		for _, p := range rs {
			add(p)
		}
	}
	checked := 0
	var walk func(v any, where string)
	walk = func(v any, where string) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "reference" {
					s := x.(string)
					if !known[s] {
						t.Fatalf("%s: reference %q does not resolve", where, s)
					}
					checked++
					continue
				}
				walk(x, where)
			}
		case []any:
			for _, x := range v {
				walk(x, where)
			}
		}
	}
	for _, p := range shared {
		walk(p.m, p.typ+"/"+p.id)
	}
	for i, rs := range patients {
		own := "Patient/" + rs[0].id
		for _, p := range rs {
			walk(p.m, p.typ+"/"+p.id)
			// A patient's clinical resources point at their own Patient.
			for _, k := range []string{"subject", "patient"} {
				if r, ok := p.m[k].(map[string]any); ok && r["reference"] != own {
					t.Fatalf("patient %d: %s/%s.%s = %v, want %s", i, p.typ, p.id, k, r["reference"], own)
				}
			}
		}
	}
	if checked < 5000 {
		t.Fatalf("only %d references checked", checked)
	}
}

func TestNHSNumbersValidAndUnique(t *testing.T) {
	// The emitted Patient resources of a sample, then the demographics of
	// a larger population, which are cheap to derive without records.
	g, _, patients := population(t)
	if len(patients) == 0 {
		t.Fatal("the sample population has no patients")
	}
	for i, rs := range patients {
		var p patientJSON
		if err := json.Unmarshal(rs[0].raw, &p); err != nil {
			t.Fatal(err)
		}
		nhs := nhsNumber(p)
		if _, dup := g.DuplicateOf(i); dup && nhs == "" {
			continue
		}
		if err := nhsnumber.Validate(nhs); err != nil {
			t.Fatalf("patient %d: %v", i, err)
		}
		if !strings.HasPrefix(nhs, nhsnumber.TestPrefix) {
			t.Fatalf("patient %d: NHS number %s outside the test range", i, nhs)
		}
	}
	const big = 50000
	g = New(Options{Patients: big, Seed: testSeed})
	seen := make(map[string]int, big)
	for i := 0; i < big; i++ {
		nhs := g.person(i).nhs
		if !nhsnumber.Valid(nhs) {
			t.Fatalf("patient %d: invalid NHS number %s", i, nhs)
		}
		if j, ok := seen[nhs]; ok {
			t.Fatalf("patients %d and %d share NHS number %s", j, i, nhs)
		}
		seen[nhs] = i
	}
}

type patientJSON struct {
	Meta struct {
		Security []coding `json:"security"`
	} `json:"meta"`
	Identifier []identifier `json:"identifier"`
	Name       []humanName  `json:"name"`
	BirthDate  string       `json:"birthDate"`
	Address    []address    `json:"address"`
	Managing   reference    `json:"managingOrganization"`
}

func firstPatient(t *testing.T, g *Generator, i int) patientJSON {
	t.Helper()
	rs := g.Patient(i)
	var p patientJSON
	if err := json.Unmarshal(rs[0], &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func nhsNumber(p patientJSON) string {
	for _, id := range p.Identifier {
		if id.System == nhsnumber.System {
			return id.Value
		}
	}
	return ""
}

func TestDuplicatesCarryGroundTruth(t *testing.T) {
	const n = 2000
	g := New(Options{Patients: n, Seed: testSeed})
	dups, missingNHS := 0, 0
	for i := 0; i < n; i++ {
		j, ok := g.DuplicateOf(i)
		if !ok {
			continue
		}
		dups++
		if j < 0 || j >= i {
			t.Fatalf("DuplicateOf(%d) = %d, want an earlier patient", i, j)
		}
		if _, again := g.DuplicateOf(j); again {
			t.Fatalf("DuplicateOf(%d) = %d, which is itself a duplicate", i, j)
		}
		d, o := firstPatient(t, g, i), firstPatient(t, g, j)
		if d.Managing.Reference == o.Managing.Reference {
			t.Errorf("duplicate %d registered at the same organisation as %d", i, j)
		}
		if nhs := nhsNumber(d); nhs == "" {
			missingNHS++
		} else if nhs != nhsNumber(o) {
			t.Errorf("duplicate %d has NHS number %s, original %d has %s", i, nhs, j, nhsNumber(o))
		}
		sameName := d.Name[0].Family == o.Name[0].Family && d.Name[0].Given[0] == o.Name[0].Given[0]
		if sameName {
			t.Errorf("duplicate %d has no name slip: %v vs %v", i, d.Name[0], o.Name[0])
		}
		if d.Address[0].PostalCode == o.Address[0].PostalCode {
			t.Errorf("duplicate %d has the same postcode formatting %q", i, d.Address[0].PostalCode)
		}
		if !strings.EqualFold(strings.ReplaceAll(d.Address[0].PostalCode, " ", ""), strings.ReplaceAll(o.Address[0].PostalCode, " ", "")) {
			t.Errorf("duplicate %d postcode %q is not a reformatting of %q", i, d.Address[0].PostalCode, o.Address[0].PostalCode)
		}
	}
	if dups < n/200 || dups > n/40 {
		t.Fatalf("%d duplicates in %d patients, want about 1%%", dups, n)
	}
	if missingNHS == 0 {
		t.Errorf("no duplicate lacks an NHS number")
	}
	if _, ok := g.DuplicateOf(0); ok {
		t.Fatal("patient 0 is a duplicate")
	}
}

func TestRestrictedPatientsExist(t *testing.T) {
	const n = 2000
	g := New(Options{Patients: n, Seed: testSeed})
	restricted := 0
	for i := 0; i < n; i++ {
		if _, dup := g.DuplicateOf(i); dup || !g.person(i).restricted {
			continue
		}
		restricted++
		labelled := false
		for _, s := range firstPatient(t, g, i).Meta.Security {
			labelled = labelled || s.System == confSystem && s.Code == "R"
		}
		if !labelled {
			t.Fatalf("patient %d is restricted but its Patient has no R label", i)
		}
	}
	if restricted < n/200 || restricted > n/40 {
		t.Fatalf("%d restricted patients in %d, want about 1%%", restricted, n)
	}
	if p := firstPatient(t, g, 0); len(p.Meta.Security) != 0 && !g.person(0).restricted {
		t.Fatal("unrestricted patient 0 carries a security label")
	}
}

func TestResourcesPerPatient(t *testing.T) {
	const n = 600
	g := New(Options{Patients: n, Seed: testSeed})
	total, small, large := 0, 0, 0
	for i := 0; i < n; i++ {
		k := len(g.Patient(i))
		total += k
		if k < 200 {
			small++
		}
		if k > 2000 {
			large++
		}
	}
	mean := float64(total) / n
	t.Logf("mean %.1f resources per patient; %d under 200, %d over 2000", mean, small, large)
	if mean < 400 || mean > 600 {
		t.Fatalf("mean %.1f resources per patient, want 400 to 600", mean)
	}
	if small < n/3 || large == 0 {
		t.Fatalf("distribution not skewed: %d small, %d large", small, large)
	}
}

var (
	dateTimeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$`)
	dateRE     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// TestFHIRShape checks what the R4 specification requires of the
// generated resources independently of the validate package: required
// elements present, dateTimes with a time zone.
func TestFHIRShape(t *testing.T) {
	_, shared, patients := population(t)
	required := map[string][]string{
		"Observation":        {"status", "code", "subject"},
		"Encounter":          {"status", "class", "subject", "period", "serviceProvider"},
		"Condition":          {"subject", "code", "clinicalStatus", "verificationStatus"},
		"Procedure":          {"status", "subject", "code"},
		"MedicationRequest":  {"status", "intent", "subject", "medicationCodeableConcept"},
		"AllergyIntolerance": {"patient", "code", "clinicalStatus", "verificationStatus"},
		"Immunization":       {"status", "vaccineCode", "patient", "occurrenceDateTime"},
		"DiagnosticReport":   {"status", "code", "subject"},
		"ImagingStudy":       {"status", "subject", "series"},
		"ServiceRequest":     {"status", "intent", "subject", "authoredOn"},
		"Patient":            {"name", "gender", "birthDate"},
		"Organization":       {"identifier", "name"},
		"Location":           {"name"},
		"Practitioner":       {"identifier", "name"},
		"PractitionerRole":   {"practitioner", "organization", "code"},
	}
	all := shared
	for _, rs := range patients {
		all = append(all, rs...)
	}
	seen := map[string]bool{}
	for _, p := range all {
		seen[p.typ] = true
		req, ok := required[p.typ]
		if !ok {
			t.Fatalf("unexpected resource type %s", p.typ)
		}
		for _, k := range req {
			if _, ok := p.m[k]; !ok {
				t.Fatalf("%s/%s lacks %s", p.typ, p.id, k)
			}
		}
		checkTimes(t, p.typ+"/"+p.id, p.m)
	}
	for typ := range required {
		if !seen[typ] {
			t.Errorf("the population has no %s, so its shape was not checked", typ)
		}
	}
}

func checkTimes(t *testing.T, where string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			s, isString := x.(string)
			switch {
			case isString && (strings.HasSuffix(k, "DateTime") || k == "issued" || k == "start" || k == "end" ||
				k == "authoredOn" || k == "recorded" || k == "recordedDate" || k == "started"):
				if !dateTimeRE.MatchString(s) {
					t.Fatalf("%s: %s = %q is not a dateTime with a time zone", where, k, s)
				}
			case isString && k == "birthDate":
				if !dateRE.MatchString(s) {
					t.Fatalf("%s: birthDate %q", where, s)
				}
			default:
				checkTimes(t, where, x)
			}
		}
	case []any:
		for _, x := range v {
			checkTimes(t, where, x)
		}
	}
}

// TestNEWS2ScoreMatchesInputs recomputes every generated NEWS2 total from
// the observations it was derived from.
func TestNEWS2ScoreMatchesInputs(t *testing.T) {
	_, _, patients := population(t)
	scores := 0
	for _, rs := range patients {
		byRef := map[string]map[string]any{}
		for _, p := range rs {
			byRef[p.typ+"/"+p.id] = p.m
		}
		for _, p := range rs {
			if p.typ != "Observation" || code(p.m) != "1104051000000101" {
				continue
			}
			scores++
			var v vitals
			for _, d := range p.m["derivedFrom"].([]any) {
				o := byRef[d.(map[string]any)["reference"].(string)]
				val := func() float64 { return o["valueQuantity"].(map[string]any)["value"].(float64) }
				switch code(o) {
				case "9279-1":
					v.resp = int(val())
				case "59408-5":
					v.spo2 = int(val())
				case "371825009":
					v.onOxygen = true
				case "85354-9":
					v.systolic = int(o["component"].([]any)[0].(map[string]any)["valueQuantity"].(map[string]any)["value"].(float64))
				case "8867-4":
					v.pulse = int(val())
				case "8310-5":
					v.temperature = val()
				case "1104441000000107":
					v.acvpu = 'X'
					if o["valueCodeableConcept"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"] == "248234008" {
						v.acvpu = 'A'
					}
				}
			}
			want := referenceNEWS2(v)
			got := int(p.m["valueQuantity"].(map[string]any)["value"].(float64))
			if got != want {
				t.Fatalf("%s: NEWS2 %d, inputs %+v score %d", p.id, got, v, want)
			}
		}
	}
	if scores < 100 {
		t.Fatalf("only %d NEWS2 scores generated", scores)
	}
}

func code(m map[string]any) string {
	c, _ := m["code"].(map[string]any)
	cs, _ := c["coding"].([]any)
	if len(cs) == 0 {
		return ""
	}
	s, _ := cs[0].(map[string]any)["code"].(string)
	return s
}
