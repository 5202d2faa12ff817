package validate

import (
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/fhir"
)

func TestStructure(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		code fhir.IssueType
		expr string // "" when the issue has no location
		diag string // substring of the diagnostics
	}{
		{"null body", `null`, fhir.IssueStructure, "", "JSON object"},
		{"array body", `[{"resourceType":"Patient"}]`, fhir.IssueStructure, "", "JSON object"},
		{"bad json", `{"resourceType":"Patient",}`, fhir.IssueStructure, "", "invalid JSON"},
		{"trailing data", `{"resourceType":"Patient"} {}`, fhir.IssueStructure, "", "after the JSON value"},
		{"no resourceType", `{"id":"a"}`, fhir.IssueStructure, "", "no resourceType"},
		{"resourceType number", `{"resourceType":1}`, fhir.IssueStructure, "resourceType", "must be a string"},
		{"unknown resourceType", `{"resourceType":"Patinet"}`, fhir.IssueInvalid, "resourceType", "unknown resource type"},
		{"abstract resourceType", `{"resourceType":"DomainResource"}`, fhir.IssueInvalid, "resourceType", "unknown resource type"},
		{"unknown element", `{"resourceType":"Patient","foo":1}`, fhir.IssueStructure, "Patient.foo", `unknown element "foo"`},
		{"fhir_comments", `{"resourceType":"Patient","fhir_comments":["x"]}`, fhir.IssueStructure, "Patient.fhir_comments", "unknown element"},
		{"duplicate member", `{"resourceType":"Patient","active":true,"active":false}`, fhir.IssueStructure, "Patient.active", "duplicate"},
		{"duplicate nested", `{"resourceType":"Patient","name":[{"family":"a","family":"b"}]}`, fhir.IssueStructure, "Patient.name[0].family", "duplicate"},
		{"resourceType in datatype", `{"resourceType":"Patient","name":[{"resourceType":"HumanName"}]}`, fhir.IssueStructure, "Patient.name[0].resourceType", "unknown element"},
		{"array where single", `{"resourceType":"Patient","gender":["male"]}`, fhir.IssueStructure, "Patient.gender", "must not be an array"},
		{"single where array", `{"resourceType":"Patient","name":{"family":"a"}}`, fhir.IssueStructure, "Patient.name", "must be an array"},
		{"empty array", `{"resourceType":"Patient","name":[]}`, fhir.IssueStructure, "Patient.name", "empty array"},
		{"empty object", `{"resourceType":"Patient","name":[{}]}`, fhir.IssueStructure, "Patient.name[0]", "empty object"},
		{"null single", `{"resourceType":"Patient","gender":null}`, fhir.IssueStructure, "Patient.gender", "null"},
		{"null in complex array", `{"resourceType":"Patient","name":[null]}`, fhir.IssueStructure, "Patient.name[0]", "null"},
		{"null in primitive array without companion", `{"resourceType":"Patient","name":[{"given":["a",null]}]}`, fhir.IssueStructure, "Patient.name[0].given[1]", "null"},
		{"string given number", `{"resourceType":"Patient","name":[{"given":["a",2]}]}`, fhir.IssueStructure, "Patient.name[0].given[1]", "JSON string"},
		{"boolean as string", `{"resourceType":"Patient","active":"true"}`, fhir.IssueStructure, "Patient.active", "JSON boolean"},
		{"integer as string", `{"resourceType":"Patient","multipleBirthInteger":"2"}`, fhir.IssueStructure, "Patient.multipleBirth.ofType(integer)", "JSON number"},
		{"integer fraction", `{"resourceType":"Patient","multipleBirthInteger":2.5}`, fhir.IssueValue, "Patient.multipleBirth.ofType(integer)", "not a valid integer"},
		{"integer range", `{"resourceType":"Patient","multipleBirthInteger":2147483648}`, fhir.IssueValue, "Patient.multipleBirth.ofType(integer)", "32-bit"},
		{"positiveInt zero", `{"resourceType":"Account","coverage":[{"coverage":{"reference":"Coverage/1"},"priority":0}]}`, fhir.IssueValue, "Account.coverage[0].priority", "positiveInt"},
		{"datatype as resourceType", `{"resourceType":"Attachment"}`, fhir.IssueInvalid, "resourceType", "unknown resource type"},
		{"decimal exponent ok, bad text", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":"1.0"}}`, fhir.IssueStructure, "Observation.value.ofType(Quantity).value", "JSON number"},
		{"bad date", `{"resourceType":"Patient","birthDate":"2023-02-30"}`, fhir.IssueValue, "Patient.birthDate", "calendar date"},
		{"bad date leap", `{"resourceType":"Patient","birthDate":"2023-02-29"}`, fhir.IssueValue, "Patient.birthDate", "calendar date"},
		{"bad date form", `{"resourceType":"Patient","birthDate":"2023/01/01"}`, fhir.IssueValue, "Patient.birthDate", "not a valid date"},
		{"dateTime no zone", `{"resourceType":"Patient","deceasedDateTime":"2020-01-01T10:00:00"}`, fhir.IssueValue, "Patient.deceased.ofType(dateTime)", "not a valid dateTime"},
		{"instant partial", `{"resourceType":"Patient","meta":{"lastUpdated":"2020-01-01"}}`, fhir.IssueValue, "Patient.meta.lastUpdated", "not a valid instant"},
		{"time", `{"resourceType":"Appointment","status":"booked","participant":[{"status":"accepted"}],"extension":[{"url":"http://x","valueTime":"25:00:00"}]}`, fhir.IssueValue, "Appointment.extension[0].value.ofType(time)", "not a valid time"},
		{"bad id", `{"resourceType":"Patient","id":"a_b"}`, fhir.IssueValue, "Patient.id", "not a valid id"},
		{"empty string", `{"resourceType":"Patient","name":[{"family":""}]}`, fhir.IssueValue, "Patient.name[0].family", "empty"},
		{"NUL in string", `{"resourceType":"Patient","name":[{"family":"a\u0000b"}]}`, fhir.IssueValue, "Patient.name[0].family", "control character"},
		{"code with double space", `{"resourceType":"Patient","gender":"ma  le"}`, fhir.IssueValue, "Patient.gender", "not a valid code"},
		{"uri whitespace", `{"resourceType":"Patient","implicitRules":"http://a b"}`, fhir.IssueValue, "Patient.implicitRules", "not a valid uri"},
		{"extension url empty", `{"resourceType":"Patient","extension":[{"url":"","valueString":"x"}]}`, fhir.IssueValue, "Patient.extension[0].url", "empty"},
		{"oid", `{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2.3","value":"x"}],"managingOrganization":{"reference":"x"},"extension":[{"url":"http://x","valueOid":"1.2.3"}]}`, fhir.IssueValue, "Patient.extension[0].value.ofType(oid)", "not a valid oid"},
		{"uuid", `{"resourceType":"Patient","extension":[{"url":"http://x","valueUuid":"urn:uuid:ABC"}]}`, fhir.IssueValue, "Patient.extension[0].value.ofType(uuid)", "not a valid uuid"},
		{"base64", `{"resourceType":"Binary","contentType":"text/plain","data":"abc"}`, fhir.IssueValue, "Binary.data", "not a valid base64Binary"},
		{"choice without suffix", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"value":1}`, fhir.IssueStructure, "Observation.value", "type suffix"},
		{"choice wrong suffix", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueAge":{"value":1}}`, fhir.IssueStructure, "Observation.valueAge", "unknown element"},
		{"companion on complex", `{"resourceType":"Patient","_name":[{"id":"x"}]}`, fhir.IssueStructure, "Patient._name", "not a primitive"},
		{"companion value", `{"resourceType":"Patient","_birthDate":{"value":"2020"}}`, fhir.IssueStructure, "Patient.birthDate.value", "unknown element"},
		{"companion not object", `{"resourceType":"Patient","_birthDate":"x"}`, fhir.IssueStructure, "Patient.birthDate", "JSON object"},
		{"companion misaligned", `{"resourceType":"Patient","name":[{"given":["a","b"],"_given":[null]}]}`, fhir.IssueStructure, "Patient.name[0].given", "align"},
		{"companion both null", `{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,null]}]}`, fhir.IssueStructure, "Patient.name[0].given[1]", "null"},
		{"companion bad extension", `{"resourceType":"Patient","_birthDate":{"extension":[{"url":"http://x","valueBoolean":"yes"}]}}`, fhir.IssueStructure, "Patient.birthDate.extension[0].value.ofType(boolean)", "JSON boolean"},
		{"contained unknown type", `{"resourceType":"Patient","contained":[{"resourceType":"Nope"}]}`, fhir.IssueInvalid, "Patient.contained[0].resourceType", "unknown resource type"},
		{"contained bad element", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","foo":1}]}`, fhir.IssueStructure, "Patient.contained[0].foo", "unknown element"},
		{"bundle entry resource", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","active":1}}]}`, fhir.IssueStructure, "Bundle.entry[0].resource.active", "JSON boolean"},
		{"bundle entry resource not object", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":"x"}]}`, fhir.IssueStructure, "Bundle.entry[0].resource", "JSON object"},
		{"parameters resource", `{"resourceType":"Parameters","parameter":[{"name":"a","resource":{"resourceType":"Patient","x":1}}]}`, fhir.IssueStructure, "Parameters.parameter[0].resource.x", "unknown element"},
		{"questionnaire nested item", `{"resourceType":"Questionnaire","status":"draft","item":[{"linkId":"1","type":"group","item":[{"linkId":"2","type":"string","bad":true}]}]}`, fhir.IssueStructure, "Questionnaire.item[0].item[0].bad", "unknown element"},
		{"max 0 on xhtml extension", `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>","_div":{"extension":[{"url":"http://x","valueString":"y"}]}}}`, fhir.IssueStructure, "Patient.text.div.extension", "max 0"},
		{"element id number", `{"resourceType":"Patient","name":[{"id":1}]}`, fhir.IssueStructure, "Patient.name[0].id", "JSON string"},
		{"invalid utf8", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"\xff\"}]}", fhir.IssueStructure, "", "UTF-8"},
		{"lone surrogate", `{"resourceType":"Patient","name":[{"family":"\ud800"}]}`, fhir.IssueStructure, "", "surrogate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			issues := fhir.ErrorsOf(Structure([]byte(tc.in)))
			if len(issues) == 0 {
				t.Fatalf("no error for %s", tc.in)
			}
			is := issues[0]
			expr := strings.Join(is.Expression, ",")
			if is.Code != tc.code || expr != tc.expr || !strings.Contains(is.Diagnostics, tc.diag) {
				t.Errorf("got %s %q @ %q; want %s %q @ %q (all: %+v)", is.Code, is.Diagnostics, expr, tc.code, tc.diag, tc.expr, issues)
			}
		})
	}
}

func TestStructureValid(t *testing.T) {
	for _, in := range []string{
		`{"resourceType":"Patient"}`,
		` {"resourceType":"Patient","id":"a.b-1","active":true,"birthDate":"2020-02-29","deceasedDateTime":"2020-03-01T10:00:00+01:00"} `,
		`{"resourceType":"Patient","name":[{"given":["a",null,"c"],"_given":[null,{"extension":[{"url":"http://x","valueCode":"absent"}]},null]}]}`,
		`{"resourceType":"Patient","_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}}`,
		`{"resourceType":"Patient","name":[{"family":"  spaced  "}],"multipleBirthInteger":-2147483648}`,
		`{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.50e3,"unit":"g"}}`,
		`{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueDateTime":"2020"}`,
		`{"resourceType":"ExampleScenario","status":"draft","instance":[{"resourceId":"a","resourceType":"Patient"}]}`,
		`{"resourceType":"Questionnaire","status":"draft","item":[{"linkId":"1","type":"group","item":[{"linkId":"2","type":"string","item":[{"linkId":"3","type":"display"}]}]}]}`,
		`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0","resource":{"resourceType":"Patient","contained":[{"resourceType":"Organization","name":"x"}]}}]}`,
		`{"resourceType":"Binary","contentType":"text/plain","data":"aGVsbG8="}`,
		`{"resourceType":"Patient","meta":{"lastUpdated":"2020-01-01T00:00:00.123456Z"},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}`,
	} {
		if issues := fhir.ErrorsOf(Structure([]byte(in))); len(issues) != 0 {
			t.Errorf("%s: %+v", in, issues)
		}
	}
}

func TestWhitespaceStringWarns(t *testing.T) {
	issues := Structure([]byte(`{"resourceType":"Patient","name":[{"family":"   "}]}`))
	if len(issues) != 1 || issues[0].Severity != fhir.SeverityWarning || issues[0].Expression[0] != "Patient.name[0].family" {
		t.Errorf("got %+v", issues)
	}
}

func TestRequired(t *testing.T) {
	in := []byte(`{"resourceType":"Observation","code":{"text":"x"},"component":[{"valueString":"a"}],"_status":{"extension":[{"url":"http://x","valueCode":"y"}]}}`)
	if issues := Structure(in); len(issues) != 0 {
		t.Errorf("required checks are on by default: %+v", issues)
	}
	issues := StructureWith(in, Options{Required: true})
	var got []string
	for _, is := range issues {
		if is.Code == fhir.IssueRequired {
			got = append(got, is.Expression[0])
		}
	}
	// status is present through _status; component.code is missing.
	if strings.Join(got, " ") != "Observation.component[0].code" {
		t.Errorf("required issues at %v (%+v)", got, issues)
	}
	issues = StructureWith([]byte(`{"resourceType":"Observation","code":{"text":"x"}}`), Options{Required: true})
	if len(issues) != 1 || issues[0].Expression[0] != "Observation.status" {
		t.Errorf("got %+v", issues)
	}
}

func TestTooManyIssues(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"resourceType":"Patient","name":[`)
	for i := range 500 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"x":1}`)
	}
	b.WriteString(`]}`)
	issues := Structure([]byte(b.String()))
	if len(issues) != maxIssues+1 || issues[maxIssues].Code != fhir.IssueTooCostly {
		t.Errorf("%d issues, last %+v", len(issues), issues[len(issues)-1])
	}
}

func TestDeepNesting(t *testing.T) {
	in := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	if issues := Structure([]byte(in)); len(issues) != 1 || !strings.Contains(issues[0].Diagnostics, "too deep") {
		t.Errorf("got %+v", issues)
	}
}
