package validate

import (
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/fhir"
)

// testProfile constrains Patient with each kind of rule a profile can
// carry.
const testProfile = `{"resourceType":"StructureDefinition","url":"http://example.org/StructureDefinition/test-patient",
"name":"TestPatient","type":"Patient","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint",
"differential":{"element":[
 {"id":"Patient","path":"Patient","constraint":[{"key":"tp-1","severity":"error","human":"A test patient has a name","expression":"name.exists()"}]},
 {"id":"Patient.deceased[x]","path":"Patient.deceased[x]","type":[{"code":"boolean"}]},
 {"id":"Patient.identifier","path":"Patient.identifier","min":1,"slicing":{"discriminator":[{"type":"value","path":"system"}],"rules":"open"}},
 {"id":"Patient.identifier:nhs","path":"Patient.identifier","sliceName":"nhs","min":1,"max":"1"},
 {"id":"Patient.identifier:nhs.system","path":"Patient.identifier.system","min":1,"fixedUri":"https://fhir.nhs.uk/Id/nhs-number"},
 {"id":"Patient.identifier:nhs.value","path":"Patient.identifier.value","min":1},
 {"id":"Patient.extension:eth","path":"Patient.extension","sliceName":"eth","max":"1","type":[{"code":"Extension","profile":["http://example.org/ext/eth"]}]},
 {"id":"Patient.gender","path":"Patient.gender","min":1},
 {"id":"Patient.maritalStatus","path":"Patient.maritalStatus","patternCodeableConcept":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"}]}},
 {"id":"Patient.contact.relationship","path":"Patient.contact.relationship","binding":{"strength":"required","valueSet":"http://hl7.org/fhir/ValueSet/administrative-gender"}},
 {"id":"Patient.generalPractitioner","path":"Patient.generalPractitioner","type":[{"code":"Reference","targetProfile":["http://hl7.org/fhir/StructureDefinition/Organization"]}]}
]}}`

const validTestPatient = `{"resourceType":"Patient","meta":{"profile":["http://example.org/StructureDefinition/test-patient"]},
"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000018"},{"system":"http://example.org/mrn","value":"1"}],
"name":[{"family":"Smith"}],"gender":"female","maritalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus","code":"M"}]},
"generalPractitioner":[{"reference":"Organization/1"}]}`

func TestProfile(t *testing.T) {
	ps := NewProfiles()
	if err := ps.Load([]byte(testProfile)); err != nil {
		t.Fatal(err)
	}
	if errs := fhir.ErrorsOf(Validate([]byte(validTestPatient), Options{Profiles: ps})); len(errs) > 0 {
		t.Fatalf("valid patient: %v", errs)
	}
	edit := func(old, new string) string {
		if !strings.Contains(validTestPatient, old) {
			t.Fatalf("%q not in the test patient", old)
		}
		return strings.Replace(validTestPatient, old, new, 1)
	}
	const p = "profile http://example.org/StructureDefinition/test-patient"
	for _, tc := range []struct {
		name, in, expr, diag string
	}{
		{"min tightened", edit(`"gender":"female",`, ``), "Patient.gender", "Patient.gender needs at least 1, has 0"},
		{"slice missing", edit(`"https://fhir.nhs.uk/Id/nhs-number"`, `"http://example.org/other"`), "Patient.identifier", "Patient.identifier:nhs needs at least 1, has 0"},
		{"slice max", edit(`{"system":"http://example.org/mrn","value":"1"}`, `{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000026"}`), "Patient.identifier", "Patient.identifier:nhs allows at most 1, has 2"},
		{"slice child min", edit(`"value":"9990000018"`, `"period":{"start":"2020"}`), "Patient.identifier[0].value", "Patient.identifier:nhs.value needs at least 1"},
		{"extension slice max", edit(`"gender"`, `"extension":[{"url":"http://example.org/ext/eth","valueString":"a"},{"url":"http://example.org/ext/eth","valueString":"b"}],"gender"`), "Patient.extension", "Patient.extension:eth allows at most 1, has 2"},
		{"pattern", edit(`"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"`, `"http://example.org/ms"`), "Patient.maritalStatus", "must match the pattern"},
		{"required binding", edit(`"gender"`, `"contact":[{"relationship":[{"coding":[{"system":"http://hl7.org/fhir/administrative-gender","code":"man"}]}]}],"gender"`), "Patient.contact[0].relationship[0]", "no coding of Patient.contact.relationship"},
		{"choice type", edit(`"gender":"female",`, `"gender":"female","deceasedDateTime":"2020-01-01",`), "Patient.deceasedDateTime", "allows only the types boolean, not DateTime"},
		{"profile invariant", edit(`"name":[{"family":"Smith"}],`, ``), "Patient", "tp-1: A test patient has a name"},
		{"reference target", edit(`"Organization/1"`, `"Practitioner/1"`), "Patient.generalPractitioner[0].reference", "may refer to Organization, not Practitioner"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			issues := Validate([]byte(tc.in), Options{Profiles: ps})
			for _, is := range fhir.ErrorsOf(issues) {
				if len(is.Expression) == 1 && is.Expression[0] == tc.expr && strings.Contains(is.Diagnostics, tc.diag) {
					if !strings.Contains(is.Diagnostics, p) && tc.name != "required binding" {
						t.Errorf("diagnostics do not name the profile: %s", is.Diagnostics)
					}
					return
				}
			}
			t.Errorf("no error at %s containing %q; got:", tc.expr, tc.diag)
			for _, is := range issues {
				t.Logf("  %s %s %v %s", is.Severity, is.Code, is.Expression, is.Diagnostics)
			}
		})
	}
}

func TestProfileUnknown(t *testing.T) {
	issues := Validate([]byte(validTestPatient), Options{Profiles: NewProfiles()})
	for _, is := range issues {
		if is.Severity == fhir.SeverityWarning && strings.Contains(is.Diagnostics, "is not loaded") {
			return
		}
	}
	t.Errorf("no warning for an unknown profile: %v", issues)
}

func TestProfileRequestedUnknown(t *testing.T) {
	issues := fhir.ErrorsOf(Validate([]byte(`{"resourceType":"Patient"}`), Options{Profiles: NewProfiles(), Profile: "http://example.org/nope"}))
	if len(issues) != 1 || issues[0].Code != fhir.IssueNotFound {
		t.Errorf("issues = %v", issues)
	}
}

func TestProfileLoadErrors(t *testing.T) {
	ps := NewProfiles()
	for _, in := range []string{`{"resourceType":"Patient"}`, `{`, `{"resourceType":"StructureDefinition","url":"x","type":"Patient","derivation":"constraint"}`} {
		if err := ps.Load([]byte(in)); err == nil {
			t.Errorf("Load(%s) accepted", in)
		}
	}
	if err := ps.Load([]byte(`{"resourceType":"StructureDefinition","url":"x","type":"Patient","derivation":"specialization","snapshot":{"element":[]}}`)); err != ErrNotProfile {
		t.Errorf("specialization: %v", err)
	}
}

// TestUKCoreMutations breaks UK Core rules in a valid UK Core example.
func TestUKCoreMutations(t *testing.T) {
	ps, reg := loadUKCore(t)
	const url = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"
	base := readUKCore(t, "UKCore-Patient-RichardSmith-Example.json")
	if errs := fhir.ErrorsOf(Validate([]byte(base), Options{Terminology: reg, Profiles: ps, Profile: url})); len(errs) > 0 {
		t.Fatalf("unmutated: %v", errs)
	}
	for _, tc := range []struct{ name, old, new, diag string }{
		{"NHS number without value", `"value": "9912003888"`, `"use": "official"`, "Patient.identifier:nhsNumber.value needs at least 1"},
		{"two ethnic categories", `"extension": [`, `"extension": [{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory","valueCodeableConcept":{"text":"x"}},{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory","valueCodeableConcept":{"text":"y"}},`, "Patient.extension:ethnicCategory allows at most 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(base, tc.old) {
				t.Skipf("%q not in the example", tc.old)
			}
			in := strings.Replace(base, tc.old, tc.new, 1)
			issues := fhir.ErrorsOf(Validate([]byte(in), Options{Terminology: reg, Profiles: ps, Profile: url}))
			for _, is := range issues {
				if strings.Contains(is.Diagnostics, tc.diag) {
					return
				}
			}
			t.Errorf("no error containing %q: %v", tc.diag, issues)
		})
	}
}

func TestProfileInBundle(t *testing.T) {
	ps := NewProfiles()
	if err := ps.Load([]byte(testProfile)); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(validTestPatient, `"gender":"female",`, ``, 1)
	raw := `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:6b9f1c1e-1f0a-4c39-9b1e-6c0f6f7d9a10","resource":` + bad + `}]}`
	for _, is := range fhir.ErrorsOf(Validate([]byte(raw), Options{Profiles: ps})) {
		if len(is.Expression) == 1 && is.Expression[0] == "Bundle.entry[0].resource.gender" {
			return
		}
	}
	t.Errorf("profile of a Bundle entry not checked: %v", Validate([]byte(raw), Options{Profiles: ps}))
}

func TestProfileClosedSlicing(t *testing.T) {
	ps := NewProfiles()
	err := ps.Load([]byte(`{"resourceType":"StructureDefinition","url":"http://example.org/sd/closed","type":"Patient","derivation":"constraint",
	"baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","differential":{"element":[
	 {"id":"Patient.identifier","path":"Patient.identifier","slicing":{"discriminator":[{"type":"value","path":"system"}],"rules":"closed"}},
	 {"id":"Patient.identifier:nhs","path":"Patient.identifier","sliceName":"nhs"},
	 {"id":"Patient.identifier:nhs.system","path":"Patient.identifier.system","fixedUri":"https://fhir.nhs.uk/Id/nhs-number"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte(`{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000018"},{"system":"http://example.org/mrn","value":"1"}]}`)
	errs := fhir.ErrorsOf(Validate(raw, Options{Profiles: ps, Profile: "http://example.org/sd/closed"}))
	if len(errs) != 1 || errs[0].Expression[0] != "Patient.identifier[1]" || !strings.Contains(errs[0].Diagnostics, "closed to the slices nhs") {
		t.Errorf("issues = %v", errs)
	}
}
