package validate

import (
	"encoding/json"
	"fmt"
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
		}, fhir.SeverityError, fhir.IssueInvariant, "Patient", "dom-3"},
		{"ele-1 primitive with only an id", "Patient-example.json", func(m map[string]any) {
			delete(m, "birthDate")
			m["_birthDate"] = map[string]any{"id": "b1"}
		}, fhir.SeverityError, fhir.IssueInvariant, "Patient.birthDate", "ele-1"},
		{"ele-1 repeating primitive with only an id", "Patient-example.json", func(m map[string]any) {
			m["name"] = []any{map[string]any{"given": []any{"Ann", nil}, "_given": []any{nil, map[string]any{"id": "g"}}}}
		}, fhir.SeverityError, fhir.IssueInvariant, "Patient.name[0].given[1]", "ele-1"},
		{"ele-1 in a primitive's extension", "Patient-example.json", func(m map[string]any) {
			m["_birthDate"] = map[string]any{"extension": []any{map[string]any{"url": "http://example.org/x", "valueCodeableConcept": map[string]any{"id": "c"}}}}
		}, fhir.SeverityError, fhir.IssueInvariant, "Patient.birthDate.extension[0].value.ofType(CodeableConcept)", "ele-1"},
		{"ext-1 in a primitive's extension", "Patient-example.json", func(m map[string]any) {
			m["_birthDate"] = map[string]any{"extension": []any{map[string]any{"url": "http://example.org/x", "valueString": "a",
				"extension": []any{map[string]any{"url": "y", "valueString": "b"}}}}}
		}, fhir.SeverityError, fhir.IssueInvariant, "Patient.birthDate.extension[0]", "ext-1"},
		{"ext-1 neither value nor extensions", "Patient-example.json", func(m map[string]any) {
			m["extension"] = []any{map[string]any{"url": "http://example.org/x"}}
		}, fhir.SeverityError, fhir.IssueInvariant, "Patient.extension[0]", "ext-1"},
		{"ext-1 value only in _valueString, and extensions", "Patient-example.json", func(m map[string]any) {
			m["extension"] = []any{map[string]any{"url": "http://example.org/x", "_valueString": map[string]any{"id": "v"},
				"extension": []any{map[string]any{"url": "y", "valueString": "b"}}}}
		}, fhir.SeverityError, fhir.IssueInvariant, "Patient.extension[0]", "ext-1"},
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

// TestValidInvariantCases checks content that ele-1, ext-1 and dom-3
// accept, each of which the rule's FHIRPath must see through FHIR JSON's
// split of a primitive into a value and a "_name" object.
func TestValidInvariantCases(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(m map[string]any)
	}{
		{"primitive with only an extension", func(m map[string]any) {
			delete(m, "birthDate")
			m["_birthDate"] = map[string]any{"extension": []any{map[string]any{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}}}
		}},
		{"extension value with only extensions", func(m map[string]any) {
			m["extension"] = []any{map[string]any{"url": "http://example.org/x", "_valueString": map[string]any{
				"extension": []any{map[string]any{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "masked"}}}}}
		}},
		{"contained referred to from a primitive's extension", func(m map[string]any) {
			m["contained"] = []any{map[string]any{"resourceType": "Organization", "id": "o1", "name": "x"}}
			m["_birthDate"] = map[string]any{"extension": []any{map[string]any{"url": "http://example.org/where", "valueReference": map[string]any{"reference": "#o1"}}}}
		}},
		{"contained referring to its container", func(m map[string]any) {
			m["contained"] = []any{map[string]any{"resourceType": "Provenance", "id": "pv", "target": []any{map[string]any{"reference": "#"}},
				"recorded": "2020-01-01T00:00:00Z", "agent": []any{map[string]any{"who": map[string]any{"display": "x"}}}}}
		}},
		{"contained referred to by a canonical", func(m map[string]any) {
			m["resourceType"] = "Questionnaire"
			for _, k := range []string{"identifier", "active", "name", "telecom", "gender", "birthDate", "_birthDate", "deceasedBoolean", "address", "contact", "managingOrganization"} {
				delete(m, k)
			}
			m["status"] = "draft"
			m["contained"] = []any{map[string]any{"resourceType": "ValueSet", "id": "vs", "status": "draft"}}
			m["item"] = []any{map[string]any{"linkId": "1", "type": "choice", "answerValueSet": "#vs"}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if errs := fhir.ErrorsOf(Validate(mutate(t, "Patient-example.json", tc.f), Options{ReportNotEvaluated: true})); len(errs) > 0 {
				t.Errorf("%v", errs)
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

// TestNotEvaluable checks which base invariants Validate cannot
// evaluate: none, since the published expressions the engine could not
// evaluate as written are corrected as the HL7 reference validator
// corrects them (see evaluated). A new entry means the engine or the
// generated tables regressed; it must be fixed or listed in engineGaps
// with its reason, which makes it appear here.
func TestNotEvaluable(t *testing.T) {
	list := NotEvaluable()
	var keys []string
	for _, n := range list {
		keys = append(keys, n.Key)
		t.Errorf("%s (%s) is not evaluable: %s", n.Key, n.Path, n.Reason)
	}
	if len(keys) != len(engineGaps) {
		t.Errorf("NotEvaluable lists %v, but engineGaps has %d entries", keys, len(engineGaps))
	}
}

// TestQuestionnaireExistsAnswer checks que-7 (R4 Questionnaire: "If the
// operator is 'exists', the value must be a boolean"), whose published
// expression tests for System.Boolean and is evaluated as the reference
// validator corrects it, against the FHIR boolean.
func TestQuestionnaireExistsAnswer(t *testing.T) {
	q := func(answer string) []byte {
		return []byte(`{"resourceType":"Questionnaire","status":"draft","item":[{"linkId":"1","type":"boolean","enableWhen":[{"question":"0","operator":"exists",` + answer + `}]}]}`)
	}
	if errs := fhir.ErrorsOf(Validate(q(`"answerBoolean":true`), Options{ReportNotEvaluated: true})); len(errs) > 0 {
		t.Errorf("answerBoolean: %v", errs)
	}
	errs := fhir.ErrorsOf(Validate(q(`"answerString":"yes"`), Options{}))
	if len(errs) != 1 || !strings.Contains(errs[0].Diagnostics, "que-7") {
		t.Errorf("answerString: %v, want que-7", errs)
	}
}

// TestReportNotEvaluated checks that an invariant the engine cannot
// evaluate (here of a profile: a function the engine declines, and an
// evaluation error) is neither passed nor failed, and is reported as
// information only when asked.
func TestReportNotEvaluated(t *testing.T) {
	ps := NewProfiles()
	if err := ps.Load([]byte(`{"resourceType":"StructureDefinition","url":"http://example.org/ne","name":"NE","type":"Patient",
"baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint","differential":{"element":[
 {"id":"Patient","path":"Patient","constraint":[
  {"key":"ne-1","severity":"error","human":"unsupported","expression":"birthDate.lowBoundary() < today()"},
  {"key":"ne-2","severity":"error","human":"error","expression":"name.is(HumanName)"}]}]}}`)); err != nil {
		t.Fatal(err)
	}
	raw := []byte(`{"resourceType":"Patient","meta":{"profile":["http://example.org/ne"]},"birthDate":"2000","name":[{"family":"A"},{"family":"B"}]}`)
	issues := Validate(raw, Options{Profiles: ps, ReportNotEvaluated: true})
	for _, key := range []string{"ne-1", "ne-2"} {
		found := false
		for _, is := range issues {
			if strings.Contains(is.Diagnostics, key) {
				if is.Severity != fhir.SeverityInformation || !strings.Contains(is.Diagnostics, key+" was not evaluated") {
					t.Errorf("%s: %v", key, is)
				}
				found = true
			}
		}
		if !found {
			t.Errorf("no not-evaluated issue for %s: %v", key, issues)
		}
	}
	for _, is := range Validate(raw, Options{Profiles: ps}) {
		if strings.Contains(is.Diagnostics, "ne-") {
			t.Errorf("reported without ReportNotEvaluated: %v", is)
		}
	}
}

// TestCorrectedInvariants checks invariants whose published R4
// expression is empty or an error on some content, evaluated as the HL7
// reference validator corrects them (see evaluated): each case either
// breaks the rule (want names the key) or keeps it (want is empty), and
// no invariant is left not evaluated.
func TestCorrectedInvariants(t *testing.T) {
	const mr = `{"resourceType":"MedicationRequest","status":"active","intent":"order","medicationCodeableConcept":{"text":"x"},"subject":{"reference":"Patient/1"},"dosageInstruction":[{"timing":{"repeat":%s}}]}`
	const cond = `{"resourceType":"Condition","subject":{"reference":"Patient/1"},"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"%s"}]}]}`
	for _, tc := range []struct{ name, in, want string }{
		{"ref-1 display only", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"display":"Jane"}}`, ""},
		{"ref-1 local without contained", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"#p1"}}`, "ref-1"},
		{"bdl-8 no fullUrl", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Basic","code":{"text":"x"}}}]}`, ""},
		{"bdl-8 versioned fullUrl", `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"http://example.org/Basic/1/_history/2","resource":{"resourceType":"Basic","id":"1","code":{"text":"x"}}}]}`, "bdl-8"},
		{"tim-9 offset with meal codes", fmt.Sprintf(mr, `{"when":["MORN","C"],"offset":10}`), "tim-9"},
		{"tim-9 offset with other codes", fmt.Sprintf(mr, `{"when":["MORN","NIGHT"],"offset":10}`), ""},
		{"con-3 problem without status", fmt.Sprintf(cond, "problem-list-item"), "con-3"},
		{"con-3 diagnosis without status", fmt.Sprintf(cond, "encounter-diagnosis"), ""},
		{"lib-0 no name", `{"resourceType":"Library","status":"draft","type":{"text":"x"}}`, ""},
		{"lib-0 name with a space", `{"resourceType":"Library","status":"draft","name":"My library","type":{"text":"x"}}`, "lib-0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, is := range Validate([]byte(tc.in), Options{ReportNotEvaluated: true}) {
				if is.Severity == fhir.SeverityInformation && strings.Contains(is.Diagnostics, "not evaluated") {
					t.Errorf("not evaluated: %s", is.Diagnostics)
				}
				if is.Code == fhir.IssueInvariant && !strings.HasPrefix(is.Diagnostics, "dom-6") {
					got = append(got, is.Diagnostics)
				}
			}
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("broken invariants %v, want none", got)
			case tc.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tc.want+":")):
				t.Errorf("broken invariants %v, want %s", got, tc.want)
			}
		})
	}
}
