package access_test

import (
	"slices"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/access"
)

var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func decider() *access.Decider {
	return access.NewDecider(access.DefaultPolicy(), access.WithClock(func() time.Time { return now }))
}

// world is a small store covering each rule once; the property test
// covers their combinations.
var world = []string{
	`{"resourceType":"Organization","id":"oa","identifier":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"A1"}]}`,
	`{"resourceType":"Organization","id":"ob","identifier":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"B1"}]}`,
	`{"resourceType":"Practitioner","id":"dr1"}`,
	`{"resourceType":"Location","id":"loc"}`,
	`{"resourceType":"ValueSet","id":"vs","url":"http://example.org/vs","status":"active"}`,
	// p1: registered with A1 (by id); p2: an open encounter at B1 (by
	// identifier); p3: nobody cares for it; p4: registered at A1 but
	// consent denies sharing outside B1; p5: A1 cares, but denies dr1 by
	// name and denies all but emergency; p6: opted out; r1 restricted.
	`{"resourceType":"Patient","id":"p1","generalPractitioner":[{"reference":"Organization/oa"}]}`,
	`{"resourceType":"Patient","id":"p2"}`,
	`{"resourceType":"Patient","id":"p3"}`,
	`{"resourceType":"Patient","id":"p4","managingOrganization":{"reference":"Organization/oa"}}`,
	`{"resourceType":"Patient","id":"p5","generalPractitioner":[{"identifier":{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"A1"}}]}`,
	`{"resourceType":"Patient","id":"p6","generalPractitioner":[{"reference":"Organization/oa"}]}`,
	`{"resourceType":"Patient","id":"r1","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]},"generalPractitioner":[{"reference":"Organization/oa"}]}`,
	`{"resourceType":"Encounter","id":"e2","status":"in-progress","class":{"code":"AMB"},"subject":{"reference":"Patient/p2"},"serviceProvider":{"identifier":{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"B1"}}}`,
	`{"resourceType":"Encounter","id":"e3","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p3"},"serviceProvider":{"reference":"Organization/oa"}}`,
	`{"resourceType":"Consent","id":"c4","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"text":"x"}],"patient":{"reference":"Patient/p4"},"organization":[{"reference":"Organization/ob"}],"provision":{"type":"deny"}}`,
	`{"resourceType":"Consent","id":"c5a","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"text":"x"}],"patient":{"reference":"Patient/p5"},"provision":{"type":"permit","provision":[{"type":"deny","actor":[{"role":{"text":"x"},"reference":{"reference":"Practitioner/dr1"}}]}]}}`,
	`{"resourceType":"Consent","id":"c5b","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"text":"x"}],"patient":{"reference":"Patient/p5"},"provision":{"type":"deny","provision":[{"type":"permit","purpose":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"BTG"}]}]}}`,
	`{"resourceType":"Consent","id":"c6","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"text":"x"}],"patient":{"reference":"Patient/p6"},"policy":[{"uri":"https://digital.nhs.uk/services/national-data-opt-out"}]}`,
	obs("o1", "p1", "laboratory", ""),
	obs("o1r", "p1", "laboratory", "R"),
	obs("o1v", "p1", "vital-signs", "V"),
	obs("o2", "p2", "vital-signs", ""),
	obs("o3", "p3", "laboratory", ""),
	obs("o4", "p4", "laboratory", ""),
	obs("o5", "p5", "laboratory", ""),
	obs("o6", "p6", "laboratory", ""),
	obs("onone", "", "laboratory", ""),
}

func obs(id, patient, category, label string) string {
	s := `{"resourceType":"Observation","id":"` + id + `","status":"final"`
	if label != "" {
		s += `,"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"` + label + `"}]}`
	}
	s += `,"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"` + category + `"}]}]`
	s += `,"code":{"text":"x"}`
	if patient != "" {
		s += `,"subject":{"reference":"Patient/` + patient + `"}`
	}
	return s + "}"
}

func TestFilterSQLite(t *testing.T) { testFilter(t, openSQLite(t)) }

func TestFilterPostgres(t *testing.T) { testFilter(t, openPostgres(t)) }

func testFilter(t *testing.T, d *db) {
	d.put(t, world...)
	dec := decider()
	gp := func(org string) *access.Caller {
		return &access.Caller{Kind: access.Practitioner, Organization: org, Practitioner: "dr1", Roles: []string{"R8000"}, Scopes: []string{"user/*.cruds"}}
	}
	bg := gp("A1")
	bg.Purpose = "BTG"
	bg.BreakGlass = &access.BreakGlass{Reason: "unconscious in ED", Patient: "p5", Until: now.Add(time.Hour)}
	bg3 := gp("A1")
	bg3.BreakGlass = &access.BreakGlass{Reason: "unconscious in ED", Patient: "p3", Until: now.Add(time.Hour)}
	other := gp("A1")
	other.Practitioner = "dr2"
	researcher := &access.Caller{Kind: access.System, Organization: "A1", Scopes: []string{"system/*.rs"}, Purpose: "HRESCH"}
	direct := &access.Caller{Kind: access.System, Organization: "A1", Scopes: []string{"system/*.rs"}}
	clerk := &access.Caller{Kind: access.Practitioner, Organization: "A1", Roles: []string{"R8008"}, Scopes: []string{"user/*.rs"}}
	patient := &access.Caller{Kind: access.PatientUser, Patients: []string{"p1"}, Scopes: []string{"patient/*.rs"}}
	labOnly := gp("A1")
	labOnly.Scopes = []string{"user/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory", "user/Patient.rs"}

	cases := []struct {
		name   string
		c      *access.Caller
		typ    string
		want   []string
		absent []string
	}{
		{"GP sees registered patient's data, R cleared, V not", gp("A1"), "Observation",
			[]string{"Observation/o1", "Observation/o1r", "Observation/o6", "Observation/onone"},
			[]string{"Observation/o1v", "Observation/o2", "Observation/o3"}},
		{"encounter at B1 by identifier; consent c4 lets the custodian B1 see p4", gp("B1"), "Observation",
			[]string{"Observation/o2", "Observation/onone"}, []string{"Observation/o1", "Observation/o4"}},
		{"consent c4 denies A1 although registered", gp("A1"), "Observation", nil, []string{"Observation/o4"}},
		{"named practitioner denied, and all but emergency", gp("A1"), "Observation", nil, []string{"Observation/o5"}},
		{"another practitioner at A1: still all-but-emergency", other, "Observation", nil, []string{"Observation/o5"}},
		{"break-glass opens all-but-emergency but not the named deny", bg, "Observation", nil, []string{"Observation/o5"}},
		{"break-glass overrides the missing relationship", bg3, "Observation", []string{"Observation/o3"}, []string{"Observation/o2"}},
		{"demographics need no relationship; restricted shown (redacted)", gp("B1"), "Patient",
			[]string{"Patient/p1", "Patient/p3", "Patient/p4", "Patient/r1"}, nil},
		{"opt-out applies to research", researcher, "", []string{"Observation/o1", "Patient/p1"}, []string{"Observation/o6", "Patient/p6"}},
		{"opt-out never applies to direct care", direct, "", []string{"Observation/o6", "Patient/p6", "Observation/o3"}, nil},
		{"clerk: demographics only", clerk, "", []string{"Patient/p1", "Organization/oa"}, []string{"Observation/o1", "Observation/onone"}},
		{"patient: own compartment and directory", patient, "",
			[]string{"Observation/o1", "Patient/p1", "Organization/oa", "Practitioner/dr1", "Location/loc", "ValueSet/vs"},
			[]string{"Observation/o1r", "Observation/o1v", "Observation/o2", "Observation/onone", "Patient/p2", "Encounter/e2", "Consent/c4"}},
		{"scope restriction to laboratory", labOnly, "Observation", []string{"Observation/o1", "Observation/onone"}, []string{"Observation/o1v", "Observation/o2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := access.Action{Interaction: access.Search, Type: tc.typ}
			dc, err := dec.Decide(tc.c, a)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			got := d.visible(t, dc.Filter, tc.typ)
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("%s hidden, want visible; visible: %v", w, got)
				}
			}
			for _, a := range tc.absent {
				if slices.Contains(got, a) {
					t.Errorf("%s visible, want hidden", a)
				}
			}
		})
	}

	t.Run("relationship and patient checks", func(t *testing.T) {
		dc, err := dec.Decide(gp("A1"), access.Action{Interaction: access.Read, Type: "Observation", ID: "o3", Patient: "p3"})
		if err != nil {
			t.Fatal(err)
		}
		if dc.NoRelationship == nil || dc.NoRelationship.Status != 403 {
			t.Fatalf("NoRelationship = %v", dc.NoRelationship)
		}
		for p, want := range map[string]bool{"p1": true, "p3": false, "p2": false, "p4": true} {
			c, args := dc.Filter.RelationshipSQL(p)
			if got := d.holds(t, c, args); got != want {
				t.Errorf("RelationshipSQL(%s) = %v, want %v", p, got, want)
			}
		}
		for p, want := range map[string]bool{"p1": true, "p4": false, "p5": false, "p6": true} {
			c, args := dc.Filter.PatientSQL(p)
			if got := d.holds(t, c, args); got != want {
				t.Errorf("PatientSQL(%s) = %v, want %v", p, got, want)
			}
		}
	})

	t.Run("history keeps the rules after changes and deletes", func(t *testing.T) {
		// o1 becomes very restricted, then is deleted: only its first
		// version is visible to a GP not cleared for V (the tombstone
		// carries the label of the version it deletes). o6 is deleted: its
		// tombstone stays in p6's compartment, hidden from B1.
		d.put(t, obs("o1", "p1", "laboratory", "V"))
		d.put(t, "-Observation/o1", "-Observation/o6")
		dc, err := dec.Decide(gp("A1"), access.Action{Interaction: access.HistorySystem})
		if err != nil {
			t.Fatal(err)
		}
		got := d.versions(t, dc.Filter)
		for _, w := range []string{"Observation/o1/1", "Observation/o6/1", "Observation/o6/2"} {
			if !slices.Contains(got, w) {
				t.Errorf("%s hidden; got %v", w, got)
			}
		}
		for _, w := range []string{"Observation/o1/2", "Observation/o1/3"} {
			if slices.Contains(got, w) {
				t.Errorf("V-labelled version %s visible in history", w)
			}
		}
		dcB, _ := dec.Decide(gp("B1"), access.Action{Interaction: access.HistorySystem})
		if got := d.versions(t, dcB.Filter); slices.Contains(got, "Observation/o6/2") || slices.Contains(got, "Observation/o6/1") {
			t.Error("p6's observation or its tombstone visible to an organisation without a relationship")
		}
		// The encounter finishing ends B1's relationship with p2.
		d.put(t, `{"resourceType":"Encounter","id":"e2","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p2"},"serviceProvider":{"identifier":{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"B1"}}}`)
		if got := d.visible(t, dcB.Filter, "Observation"); slices.Contains(got, "Observation/o2") {
			t.Error("relationship outlived its encounter")
		}
		// Withdrawing the opt-out (consent inactive) shows p6 to research.
		d.put(t, `{"resourceType":"Consent","id":"c6","status":"inactive","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"text":"x"}],"patient":{"reference":"Patient/p6"},"policy":[{"uri":"https://digital.nhs.uk/services/national-data-opt-out"}]}`)
		dcR, _ := dec.Decide(researcher, access.Action{Interaction: access.Search, Type: "Patient"})
		if got := d.visible(t, dcR.Filter, "Patient"); !slices.Contains(got, "Patient/p6") {
			t.Error("withdrawn opt-out still applied")
		}
	})
}
