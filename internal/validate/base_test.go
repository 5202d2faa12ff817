package validate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhirpkg"
)

// mutate reads an official example, applies f to its decoded JSON and
// returns the result.
func mutate(t *testing.T, name string, f func(m map[string]any)) []byte {
	t.Helper()
	dir, err := fhirpkg.Dir()
	if err != nil {
		t.Skipf("FHIR package unavailable: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func obj(v any) map[string]any { return v.(map[string]any) }
func arr(v any) []any          { return v.([]any) }

func TestValidateMutations(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		f          func(m map[string]any)
		sev        fhir.Severity
		code       fhir.IssueType
		expr, diag string
	}{
		{"missing required", "Observation-example.json", func(m map[string]any) { delete(m, "status") },
			fhir.SeverityError, fhir.IssueRequired, "Observation.status", "missing required element status"},
		{"missing required in backbone", "Patient-example.json", func(m map[string]any) {
			m["link"] = []any{map[string]any{"type": "seealso"}}
		}, fhir.SeverityError, fhir.IssueRequired, "Patient.link[0].other", "missing required element other"},
		{"missing required choice", "Observation-example.json", func(m map[string]any) {
			m["component"] = []any{map[string]any{"valueString": "x"}}
		}, fhir.SeverityError, fhir.IssueRequired, "Observation.component[0].code", "missing required element code"},
		{"code not in required value set", "Patient-example.json", func(m map[string]any) { m["gender"] = "man" },
			fhir.SeverityError, fhir.IssueCodeInvalid, "Patient.gender", `"man" is not a code of the required value set`},
		{"code of datatype element", "Patient-example.json", func(m map[string]any) { obj(arr(m["name"])[0])["use"] = "nickname-ish" },
			fhir.SeverityError, fhir.IssueCodeInvalid, "Patient.name[0].use", "required value set http://hl7.org/fhir/ValueSet/name-use"},
		{"CodeableConcept not in required value set", "AllergyIntolerance-example.json", func(m map[string]any) {
			obj(arr(obj(m["clinicalStatus"])["coding"])[0])["code"] = "gone"
		}, fhir.SeverityError, fhir.IssueCodeInvalid, "AllergyIntolerance.clinicalStatus", "no coding of AllergyIntolerance.clinicalStatus"},
		{"reference to the wrong type", "Observation-example.json", func(m map[string]any) {
			m["subject"] = map[string]any{"reference": "Medication/med0301"}
		}, fhir.SeverityError, fhir.IssueInvalid, "Observation.subject.reference", "not Medication"},
		{"absolute reference to the wrong type", "Observation-example.json", func(m map[string]any) {
			m["subject"] = map[string]any{"reference": "https://fhir.example.org/r4/Medication/med0301/_history/2"}
		}, fhir.SeverityError, fhir.IssueInvalid, "Observation.subject.reference", "not Medication"},
		{"Reference.type of the wrong type", "Observation-example.json", func(m map[string]any) {
			m["subject"] = map[string]any{"type": "Medication", "identifier": map[string]any{"value": "1"}}
		}, fhir.SeverityError, fhir.IssueInvalid, "Observation.subject.type", "not Medication"},
		{"reference without a type", "Observation-example.json", func(m map[string]any) {
			m["subject"] = map[string]any{"reference": "example"}
		}, fhir.SeverityError, fhir.IssueInvalid, "Observation.subject.reference", "neither Type/id nor an absolute URL"},
		{"per-1 start after end", "Observation-example.json", func(m map[string]any) {
			delete(m, "effectiveDateTime")
			m["effectivePeriod"] = map[string]any{"start": "2020-02-01", "end": "2020-01-01"}
		}, fhir.SeverityError, fhir.IssueInvariant, "Observation.effective.ofType(Period)", "per-1"},
		{"resource invariant obs-7", "Observation-example.json", func(m map[string]any) {
			m["component"] = []any{map[string]any{"code": m["code"], "valueString": "x"}}
		}, fhir.SeverityError, fhir.IssueInvariant, "Observation", "obs-7"},
		{"backbone invariant pat-1", "Patient-example.json", func(m map[string]any) {
			m["contact"] = []any{map[string]any{"gender": "female"}}
		}, fhir.SeverityError, fhir.IssueInvariant, "Patient.contact[0]", "pat-1"},
		{"ele-1 only an id", "Patient-example.json", func(m map[string]any) { m["maritalStatus"] = map[string]any{"id": "x"} },
			fhir.SeverityError, fhir.IssueInvariant, "Patient.maritalStatus", "ele-1"},
		{"ext-1 value and extensions", "Patient-example.json", func(m map[string]any) {
			m["extension"] = []any{map[string]any{"url": "http://example.org/x", "valueString": "a", "extension": []any{map[string]any{"url": "y", "valueString": "b"}}}}
		}, fhir.SeverityError, fhir.IssueInvariant, "Patient.extension[0]", "ext-1"},
		{"dom-3 contained not referenced", "Patient-example.json", func(m map[string]any) {
			m["contained"] = []any{map[string]any{"resourceType": "Organization", "id": "o1", "name": "x"}}
		}, fhir.SeverityError, fhir.IssueInvariant, "Patient.contained[0]", "dom-3"},
		{"ref-1 contained target missing", "Patient-example.json", func(m map[string]any) {
			m["managingOrganization"] = map[string]any{"reference": "#nope"}
		}, fhir.SeverityError, fhir.IssueInvariant, "Patient.managingOrganization", "ref-1"},
		{"ref-1 inside a contained resource", "Patient-example.json", func(m map[string]any) {
			m["contained"] = []any{map[string]any{"resourceType": "Organization", "id": "o1", "name": "x", "partOf": map[string]any{"reference": "#o2"}}}
			m["managingOrganization"] = map[string]any{"reference": "#o1"}
		}, fhir.SeverityError, fhir.IssueInvariant, "Patient.contained[0].partOf", "ref-1"},
		{"dom-6 no narrative", "Patient-example.json", func(m map[string]any) { delete(m, "text") },
			fhir.SeverityWarning, fhir.IssueInvariant, "Patient", "dom-6"},
		{"two types of a choice", "Observation-example.json", func(m map[string]any) { m["valueString"] = "x" },
			fhir.SeverityError, fhir.IssueStructure, "Observation.valueString", "has more than one value"},
		{"empty array", "Patient-example.json", func(m map[string]any) { m["name"] = []any{} },
			fhir.SeverityError, fhir.IssueStructure, "Patient.name", "empty array"},
		{"empty object", "Patient-example.json", func(m map[string]any) { m["maritalStatus"] = map[string]any{} },
			fhir.SeverityError, fhir.IssueStructure, "Patient.maritalStatus", "empty object"},
		{"value set not expandable", "Patient-example.json", func(m map[string]any) {
			m["photo"] = []any{map[string]any{"contentType": "image/png", "url": "http://example.org/p.png"}}
		}, fhir.SeverityInformation, fhir.IssueNotSupported, "Patient.photo[0].contentType", "were not checked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			issues := Validate(mutate(t, tc.file, tc.f), Options{})
			for _, is := range issues {
				if is.Severity == tc.sev && is.Code == tc.code && len(is.Expression) == 1 && is.Expression[0] == tc.expr && strings.Contains(is.Diagnostics, tc.diag) {
					return
				}
			}
			t.Errorf("no %s %s issue at %s containing %q; got:", tc.sev, tc.code, tc.expr, tc.diag)
			for _, is := range issues {
				t.Logf("  %s %s %v %s", is.Severity, is.Code, is.Expression, is.Diagnostics)
			}
		})
	}
}

func TestContainedNeedsNoNarrative(t *testing.T) {
	in := mutate(t, "Patient-example.json", func(m map[string]any) {
		m["contained"] = []any{map[string]any{"resourceType": "Organization", "id": "o1", "name": "x"}}
		m["managingOrganization"] = map[string]any{"reference": "#o1"}
	})
	for _, is := range Validate(in, Options{}) {
		if strings.Contains(is.Diagnostics, "dom-6") {
			t.Errorf("dom-6 on a contained resource: %v", is)
		}
	}
}

func TestValidateValid(t *testing.T) {
	for _, f := range []string{"Patient-example.json", "Observation-example.json", "AllergyIntolerance-example.json"} {
		if errs := fhir.ErrorsOf(Validate(mutate(t, f, func(map[string]any) {}), Options{})); len(errs) > 0 {
			t.Errorf("%s: %v", f, errs)
		}
	}
}

// TestNotEvaluable lists, with -v, the base invariants that Validate
// cannot evaluate and why; the count guards against silent changes in
// the engine or the tables.
func TestNotEvaluable(t *testing.T) {
	list := NotEvaluable()
	for _, n := range list {
		t.Logf("%s (%s): %s", n.Key, n.Path, n.Reason)
	}
	t.Logf("%d invariants not evaluable", len(list))
}

func TestReportNotEvaluated(t *testing.T) {
	raw := []byte(`{"resourceType":"Questionnaire","status":"draft","item":[{"linkId":"1","type":"boolean","enableWhen":[{"question":"0","operator":"exists","answerBoolean":true}]}]}`)
	issues := Validate(raw, Options{ReportNotEvaluated: true})
	for _, is := range issues {
		if is.Severity == fhir.SeverityInformation && strings.Contains(is.Diagnostics, "que-7 was not evaluated") {
			return
		}
	}
	t.Errorf("no not-evaluated issue for que-7: %v", issues)
}
