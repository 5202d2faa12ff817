package access_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/access"
)

func TestCareRows(t *testing.T) {
	ods := func(v string) string {
		return `{"identifier":{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"` + v + `"}}`
	}
	cases := []struct {
		name, typ, body string
		want            []access.CareRow
	}{
		{"encounter in progress", "Encounter", `{"status":"in-progress","subject":{"reference":"Patient/p"},"serviceProvider":{"reference":"Organization/o"}}`,
			[]access.CareRow{{Patient: "p", OrgID: "o"}}},
		{"encounter finished", "Encounter", `{"status":"finished","subject":{"reference":"Patient/p"},"serviceProvider":{"reference":"Organization/o"}}`, nil},
		{"encounter for a group", "Encounter", `{"status":"planned","subject":{"reference":"Group/g"},"serviceProvider":{"reference":"Organization/o"}}`, nil},
		{"absolute reference not resolved", "Encounter", `{"status":"arrived","subject":{"reference":"https://elsewhere/Patient/p"},"serviceProvider":{"reference":"Organization/o"}}`, nil},
		{"episode by ODS", "EpisodeOfCare", `{"status":"active","patient":{"reference":"Patient/p"},"managingOrganization":` + ods("X1") + `}`,
			[]access.CareRow{{Patient: "p", OrgODS: "X1"}}},
		{"care team members and managers", "CareTeam", `{"status":"active","subject":{"reference":"Patient/p"},"managingOrganization":[{"reference":"Organization/m"}],"participant":[{"member":{"reference":"Practitioner/d"},"onBehalfOf":{"reference":"Organization/b"}},{"member":` + ods("Y1") + `}]}`,
			[]access.CareRow{{Patient: "p", OrgID: "m"}, {Patient: "p", OrgID: "b"}, {Patient: "p", OrgODS: "Y1"}}},
		{"open referral", "ServiceRequest", `{"status":"active","subject":{"reference":"Patient/p"},"performer":[{"reference":"Organization/o"},{"reference":"Practitioner/d"}]}`,
			[]access.CareRow{{Patient: "p", OrgID: "o"}}},
		{"completed referral", "ServiceRequest", `{"status":"completed","subject":{"reference":"Patient/p"},"performer":[{"reference":"Organization/o"}]}`, nil},
		{"GP registration", "Patient", `{"id":"p","generalPractitioner":[{"reference":"Practitioner/d"},{"reference":"Organization/g"}],"managingOrganization":{"reference":"Organization/g"}}`,
			[]access.CareRow{{Patient: "p", OrgID: "g"}}},
		{"other type", "Observation", `{"status":"final","subject":{"reference":"Patient/p"}}`, nil},
		{"not JSON", "Encounter", `{`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := access.CareRows(tc.typ, []byte(tc.body)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestConsentRows(t *testing.T) {
	head := `{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"patient":{"reference":"Patient/p"}`
	btg := `{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"BTG"}`
	y2025 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	y2026 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	cases := []struct {
		name, body string
		want       []access.ConsentRow
	}{
		{"deny outside the custodian", head + `,"organization":[{"reference":"Organization/c"}],"provision":{"type":"deny"}}`, []access.ConsentRow{
			{Patient: "p", Clause: 1, Kind: "deny"},
			{Patient: "p", Clause: 1, Kind: "permit", ActorType: "Organization", ActorID: "c"}}},
		{"deny a named organisation", head + `,"organization":[{"reference":"Organization/c"}],"provision":{"type":"deny","actor":[{"reference":{"reference":"Organization/x"}}]}}`, []access.ConsentRow{
			{Patient: "p", Clause: 1, Kind: "deny", ActorType: "Organization", ActorID: "x"}}},
		{"deny a named practitioner inside a permit", head + `,"provision":{"type":"permit","provision":[{"type":"deny","actor":[{"reference":{"reference":"Practitioner/d"}}]}]}}`, []access.ConsentRow{
			{Patient: "p", Clause: 1, Kind: "deny", ActorType: "Practitioner", ActorID: "d"}}},
		{"all but emergency", head + `,"provision":{"type":"deny","provision":[{"type":"permit","purpose":[` + btg + `]}]}}`, []access.ConsentRow{
			{Patient: "p", Clause: 1, Kind: "deny"},
			{Patient: "p", Clause: 1, Kind: "permit", Purpose: "BTG"}}},
		{"unmatchable deny actor applies to all staff", head + `,"provision":{"type":"deny","actor":[{"reference":{"reference":"CareTeam/t"}},{"reference":{"reference":"RelatedPerson/r"}}]}}`, []access.ConsentRow{
			{Patient: "p", Clause: 1, Kind: "deny", ActorType: "*"}}},
		{"only non-staff actors denied", head + `,"provision":{"type":"deny","actor":[{"reference":{"reference":"RelatedPerson/r"}}]}}`, nil},
		{"narrowed permit grants nothing", head + `,"provision":{"type":"deny","provision":[{"type":"permit","purpose":[` + btg + `],"class":[{"code":"Observation"}]}]}}`, []access.ConsentRow{
			{Patient: "p", Clause: 1, Kind: "deny"}}},
		{"deep nesting is a total deny", head + `,"provision":{"type":"deny","provision":[{"type":"permit","provision":[{"type":"deny"}]}]}}`, []access.ConsentRow{
			{Patient: "p", Clause: 1, Kind: "deny"}}},
		{"period bounds the rows", head + `,"provision":{"type":"deny","period":{"start":"2025","end":"2025-12-31"}}}`, []access.ConsentRow{
			{Patient: "p", Clause: 1, Kind: "deny", Start: y2025, End: y2026}}},
		{"national data opt-out", `{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"research"}]},"patient":{"reference":"Patient/p"},"policy":[{"uri":"https://digital.nhs.uk/services/national-data-opt-out"}]}`,
			[]access.ConsentRow{{Patient: "p", Kind: "optout"}}},
		{"type 1 opt-out", head + `,"category":[{"coding":[{"system":"http://snomed.info/sct","code":"827241000000103"}]}]}`, []access.ConsentRow{{Patient: "p", Kind: "optout"}}},
		{"inactive", `{"status":"inactive","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"patient":{"reference":"Patient/p"},"provision":{"type":"deny"}}`, nil},
		{"other scope", `{"status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"treatment"}]},"patient":{"reference":"Patient/p"},"provision":{"type":"deny"}}`, nil},
		{"no provision", head + `}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := access.ConsentRows([]byte(tc.body)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestLabels(t *testing.T) {
	got := access.Labels([]byte(`{"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"V"},{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"N"},{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"R"},{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]}}`))
	if !reflect.DeepEqual(got, []string{"R", "V"}) {
		t.Errorf("labels %v", got)
	}
}

func FuzzConsentRows(f *testing.F) {
	f.Add([]byte(`{"status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"patient":{"reference":"Patient/p"},"provision":{"type":"deny","provision":[{"type":"permit","actor":[{"reference":{"reference":"Organization/o"}}]}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, r := range access.ConsentRows(b) {
			if r.Patient == "" || (r.Kind != "deny" && r.Kind != "permit" && r.Kind != "optout") {
				t.Fatalf("bad row %+v", r)
			}
			if r.Kind == "permit" && r.ActorType == "*" {
				t.Fatalf("a permit matching every actor: %+v", r)
			}
		}
		for _, r := range access.CareRows("CareTeam", b) {
			if r.Patient == "" || (r.OrgID == "") == (r.OrgODS == "") {
				t.Fatalf("bad care row %+v", r)
			}
		}
	})
}
