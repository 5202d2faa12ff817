package patch

import (
	"encoding/json"
	"strings"
	"testing"
)

// Helpers that write FHIRPath Patch Parameters compactly.

func params(ops ...string) string {
	return `{"resourceType":"Parameters","parameter":[` + strings.Join(ops, ",") + `]}`
}

func op(typ, path string, parts ...string) string {
	all := append([]string{`{"name":"type","valueCode":"` + typ + `"}`, str("path", path)}, parts...)
	return `{"name":"operation","part":[` + strings.Join(all, ",") + `]}`
}

func str(name, v string) string {
	b, _ := json.Marshal(v)
	return `{"name":"` + name + `","valueString":` + string(b) + `}`
}

func num(name string, n int) string {
	b, _ := json.Marshal(n)
	return `{"name":"` + name + `","valueInteger":` + string(b) + `}`
}

// val is a value part: val("Date", `"1930-01-01"`).
func val(suffix, v string) string {
	return `{"name":"value","value` + suffix + `":` + v + `}`
}

// parts is a part built from nested parts.
func parts(name string, ps ...string) string {
	return `{"name":"` + name + `","part":[` + strings.Join(ps, ",") + `]}`
}

func ident(v string) string { return `{"system":"http://example.org","value":"` + v + `"}` }

func idents(vs ...string) string {
	var out []string
	for _, v := range vs {
		out = append(out, ident(v))
	}
	return `{"resourceType":"Patient","identifier":[` + strings.Join(out, ",") + `]}`
}

// TestFHIRPathPatchSpecCases follows the cases of the FHIR R4 patch test
// suite (fhir-test-cases, r4/patch/fhir-patch-tests.xml), rewritten as
// JSON; the expected output is byte-exact, so member order is checked too.
func TestFHIRPathPatchSpecCases(t *testing.T) {
	contact := `{"resourceType":"Patient","contact":[{"name":{"text":"a name"},"gender":"male"}]}`
	tests := []struct {
		name, in, patch, want string
	}{
		{"no difference", `{"resourceType":"Patient","birthDate":"1920-01-01"}`, params(), `{"resourceType":"Patient","birthDate":"1920-01-01"}`},
		{"replace primitive", `{"resourceType":"Patient","birthDate":"1920-01-01"}`,
			params(op("replace", "Patient.birthDate", val("Date", `"1930-01-01"`))),
			`{"resourceType":"Patient","birthDate":"1930-01-01"}`},
		{"delete primitive", `{"resourceType":"Patient","birthDate":"1920-01-01"}`,
			params(op("delete", "Patient.birthDate")), `{"resourceType":"Patient"}`},
		{"add primitive", `{"resourceType":"Patient"}`,
			params(op("add", "Patient", str("name", "birthDate"), val("Date", `"1930-01-01"`))),
			`{"resourceType":"Patient","birthDate":"1930-01-01"}`},
		{"replace nested primitive #1", contact,
			params(op("replace", "Patient.contact[0].gender", val("Code", `"female"`))),
			`{"resourceType":"Patient","contact":[{"name":{"text":"a name"},"gender":"female"}]}`},
		{"replace nested primitive #2", contact,
			params(op("replace", "Patient.contact[0].name.text", val("String", `"the name"`))),
			`{"resourceType":"Patient","contact":[{"name":{"text":"the name"},"gender":"male"}]}`},
		{"delete nested primitive #1", contact,
			params(op("delete", "Patient.contact[0].gender")),
			`{"resourceType":"Patient","contact":[{"name":{"text":"a name"}}]}`},
		{"delete nested primitive #2 removes the emptied parent", contact,
			params(op("delete", "Patient.contact[0].name.text")),
			`{"resourceType":"Patient","contact":[{"gender":"male"}]}`},
		{"add nested primitive", `{"resourceType":"Patient","contact":[{"name":{"text":"a name"}}]}`,
			params(op("add", "Patient.contact[0]", str("name", "gender"), val("Code", `"male"`))),
			contact},
		{"add complex", `{"resourceType":"Patient"}`,
			params(op("add", "Patient", str("name", "maritalStatus"), val("CodeableConcept", `{"text":"married"}`))),
			`{"resourceType":"Patient","maritalStatus":{"text":"married"}}`},
		{"replace complex", `{"resourceType":"Patient","maritalStatus":{"id":"1","text":"married"}}`,
			params(op("replace", "Patient.maritalStatus", val("CodeableConcept", `{"id":"2","text":"not married"}`))),
			`{"resourceType":"Patient","maritalStatus":{"id":"2","text":"not married"}}`},
		{"delete complex", `{"resourceType":"Patient","maritalStatus":{"text":"married"}}`,
			params(op("delete", "Patient.maritalStatus")), `{"resourceType":"Patient"}`},
		{"add anonymous type", `{"resourceType":"Patient"}`,
			params(op("add", "Patient", str("name", "contact"), parts("value", `{"name":"name","valueHumanName":{"text":"a name"}}`))),
			`{"resourceType":"Patient","contact":[{"name":{"text":"a name"}}]}`},
		{"delete anonymous type", `{"resourceType":"Patient","contact":[{"name":{"text":"a name"}}]}`,
			params(op("delete", "Patient.contact[0]")), `{"resourceType":"Patient"}`},
		{"add to list", idents("value 1", "value 2"),
			params(op("add", "Patient", str("name", "identifier"), val("Identifier", ident("value 3")))),
			idents("value 1", "value 2", "value 3")},
		{"insert in list #1", idents("value 1", "value 2"),
			params(op("insert", "Patient.identifier", val("Identifier", ident("value 3")), num("index", 1))),
			idents("value 1", "value 3", "value 2")},
		{"insert in list #2", idents("value 1", "value 2"),
			params(op("insert", "Patient.identifier", val("Identifier", ident("value 3")), num("index", 0))),
			idents("value 3", "value 1", "value 2")},
		{"delete from list #1", idents("value 1", "value 2", "value 3"),
			params(op("delete", "Patient.identifier[0]")), idents("value 2", "value 3")},
		{"delete from list #2", idents("value 1", "value 2", "value 3"),
			params(op("delete", "Patient.identifier[1]")), idents("value 1", "value 3")},
		{"delete from list #3", idents("value 1", "value 2", "value 3"),
			params(op("delete", "Patient.identifier[2]")), idents("value 1", "value 2")},
		{"reorder list #1", idents("value 1", "value 2", "value 3", "value 4"),
			params(op("move", "Patient.identifier", num("source", 3), num("destination", 1))),
			idents("value 1", "value 4", "value 2", "value 3")},
		{"reorder list #2", idents("value 1", "value 2", "value 3", "value 4"),
			params(op("move", "Patient.identifier", num("source", 3), num("destination", 0))),
			idents("value 4", "value 1", "value 2", "value 3")},
		{"reorder list #3", idents("value 1", "value 2", "value 3", "value 4"),
			params(op("move", "Patient.identifier", num("source", 3), num("destination", 2))),
			idents("value 1", "value 2", "value 4", "value 3")},
		{"reorder list #4", idents("value 1", "value 2", "value 3", "value 4"),
			params(op("move", "Patient.identifier", num("source", 0), num("destination", 3))),
			idents("value 2", "value 3", "value 4", "value 1")},
		{"reorder list #5", idents("value 1", "value 2", "value 3", "value 4"),
			params(op("move", "Patient.identifier", num("source", 1), num("destination", 0)),
				op("move", "Patient.identifier", num("source", 2), num("destination", 1))),
			idents("value 2", "value 3", "value 1", "value 4")},
		{"reorder list #6", idents("value 1", "value 2", "value 3", "value 4"),
			params(op("move", "Patient.identifier", num("source", 3), num("destination", 0)),
				op("move", "Patient.identifier", num("source", 3), num("destination", 1)),
				op("move", "Patient.identifier", num("source", 3), num("destination", 2))),
			idents("value 4", "value 3", "value 2", "value 1")},
		{"operation on missing element #2", `{"resourceType":"Patient"}`,
			params(op("add", "Patient", str("name", "identifier"), val("Identifier", ident("value 3")))),
			idents("value 3")},
		{"consecutive operations",
			`{"resourceType":"Patient","id":"example","contact":[{"name":{"family":"du Marché","_family":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-prefix","valueString":"WW"}]},"given":["Bénédicte"]}}]}`,
			params(op("add", "Patient.contact[0]", str("name", "gender"), val("Code", `"male"`)),
				op("add", "Patient", str("name", "contact"), parts("value", `{"name":"gender","valueCode":"male"}`))),
			`{"resourceType":"Patient","id":"example","contact":[{"name":{"family":"du Marché","_family":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-prefix","valueString":"WW"}]},"given":["Bénédicte"]},"gender":"male"},{"gender":"male"}]}`},
		{"replace in full resource keeps everything else",
			`{"resourceType":"Patient","id":"example","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">old</div>"},"name":[{"use":"official","family":"Chalmers","given":["Peter","James"]}],"birthDate":"1974-12-25"}`,
			params(op("replace", "Patient.text.div", val("String", `"<div xmlns=\"http://www.w3.org/1999/xhtml\">new</div>"`)),
				op("replace", "Patient.name[0].family", val("String", `"Chalmers1"`))),
			`{"resourceType":"Patient","id":"example","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">new</div>"},"name":[{"use":"official","family":"Chalmers1","given":["Peter","James"]}],"birthDate":"1974-12-25"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ApplyFHIRPathPatch([]byte(tc.in), []byte(tc.patch))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
