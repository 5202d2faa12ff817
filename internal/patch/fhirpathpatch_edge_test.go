package patch

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/fhir"
)

func TestFHIRPathPatchEdgeCases(t *testing.T) {
	const pat = `{"resourceType":"Patient","id":"p","identifier":[{"system":"a","value":"1"},{"system":"b","value":"2"}],"name":[{"family":"Smith","given":["Ann","Bea"],"_given":[null,{"id":"g2"}]}],"birthDate":"1970-01-01"}`
	const obs = `{"resourceType":"Observation","status":"final","code":{"text":"weight"},"effectiveDateTime":"2020-01-01","valueQuantity":{"value":72.50,"unit":"kg"},"note":[{"text":"x"}]}`
	const withContained = `{"resourceType":"Observation","contained":[{"resourceType":"Patient","id":"p1","birthDate":"1970"}],"status":"final","code":{"text":"x"},"subject":{"reference":"#p1"}}`
	tests := []struct {
		name, in, patch string
		want            string // exact result on success
		status          int
		diag            string
	}{
		// Locating.
		{name: "where filter selects one element", in: pat,
			patch: params(op("replace", "Patient.identifier.where(system = 'b').value", val("String", `"3"`))),
			want:  `{"resourceType":"Patient","id":"p","identifier":[{"system":"a","value":"1"},{"system":"b","value":"3"}],"name":[{"family":"Smith","given":["Ann","Bea"],"_given":[null,{"id":"g2"}]}],"birthDate":"1970-01-01"}`},
		{name: "first() and last()", in: pat,
			patch: params(op("delete", "Patient.identifier.first()"), op("replace", "Patient.name.given.last()", val("String", `"Bo"`))),
			want:  `{"resourceType":"Patient","id":"p","identifier":[{"system":"b","value":"2"}],"name":[{"family":"Smith","given":["Ann","Bo"]}],"birthDate":"1970-01-01"}`},
		{name: "replace keeps primitive's companion aligned and replaces its extensions", in: pat,
			patch: params(op("replace", "Patient.name[0].given[0]", `{"name":"value","valueString":"Amy","_valueString":{"id":"g1"}}`)),
			want:  `{"resourceType":"Patient","id":"p","identifier":[{"system":"a","value":"1"},{"system":"b","value":"2"}],"name":[{"family":"Smith","given":["Amy","Bea"],"_given":[{"id":"g1"},{"id":"g2"}]}],"birthDate":"1970-01-01"}`},
		{name: "delete primitive list entry drops its companion entry", in: pat,
			patch: params(op("delete", "Patient.name[0].given[1]")),
			want:  `{"resourceType":"Patient","id":"p","identifier":[{"system":"a","value":"1"},{"system":"b","value":"2"}],"name":[{"family":"Smith","given":["Ann"]}],"birthDate":"1970-01-01"}`},
		{name: "insert into primitive list shifts the companion", in: pat,
			patch: params(op("insert", "Patient.name[0].given", val("String", `"Zed"`), num("index", 0))),
			want:  `{"resourceType":"Patient","id":"p","identifier":[{"system":"a","value":"1"},{"system":"b","value":"2"}],"name":[{"family":"Smith","given":["Zed","Ann","Bea"],"_given":[null,null,{"id":"g2"}]}],"birthDate":"1970-01-01"}`},
		{name: "move in primitive list moves the companion", in: pat,
			patch: params(op("move", "Patient.name[0].given", num("source", 1), num("destination", 0))),
			want:  `{"resourceType":"Patient","id":"p","identifier":[{"system":"a","value":"1"},{"system":"b","value":"2"}],"name":[{"family":"Smith","given":["Bea","Ann"],"_given":[{"id":"g2"},null]}],"birthDate":"1970-01-01"}`},
		{name: "add extension to a primitive", in: `{"resourceType":"Patient","birthDate":"1970"}`,
			patch: params(op("add", "Patient.birthDate", str("name", "extension"), val("Extension", `{"url":"http://e","valueBoolean":true}`))),
			want:  `{"resourceType":"Patient","birthDate":"1970","_birthDate":{"extension":[{"url":"http://e","valueBoolean":true}]}}`},
		{name: "delete extension of a primitive drops the empty companion", in: `{"resourceType":"Patient","birthDate":"1970","_birthDate":{"extension":[{"url":"http://e","valueBoolean":true}]}}`,
			patch: params(op("delete", "Patient.birthDate.extension('http://e')")),
			want:  `{"resourceType":"Patient","birthDate":"1970"}`},
		{name: "id of a primitive is refused, not silently missed", in: `{"resourceType":"Patient","birthDate":"1970","_birthDate":{"id":"x"}}`,
			patch: params(op("delete", "Patient.birthDate.id")), status: 422, diag: "not supported"},
		{name: "extension of a primitive list entry is refused", in: `{"resourceType":"Patient","name":[{"given":["a"]}]}`,
			patch: params(op("delete", "Patient.name.given[0].extension")), status: 422, diag: "not supported"},
		{name: "extension of a complex element is fine", in: `{"resourceType":"Patient","name":[{"extension":[{"url":"u","valueString":"v"}],"family":"f"}]}`,
			patch: params(op("delete", "Patient.name.extension")),
			want:  `{"resourceType":"Patient","name":[{"family":"f"}]}`},
		{name: "primitive with only extensions is located", in: `{"resourceType":"Patient","birthDate":"1970","_birthDate":{"id":"x"},"_gender":{"id":"y"}}`,
			patch: params(op("delete", "Patient.gender")),
			want:  `{"resourceType":"Patient","birthDate":"1970","_birthDate":{"id":"x"}}`},
		{name: "delete of nothing does nothing", in: pat,
			patch: params(op("delete", "Patient.identifier.where(system = 'zzz')")), want: pat},
		{name: "resolve() into a contained resource", in: withContained,
			patch: params(op("replace", "Observation.subject.resolve().birthDate", val("Date", `"1971"`))),
			want:  `{"resourceType":"Observation","contained":[{"resourceType":"Patient","id":"p1","birthDate":"1971"}],"status":"final","code":{"text":"x"},"subject":{"reference":"#p1"}}`},
		{name: "resolve() out of the resource", in: `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/1"}}`,
			patch: params(op("delete", "Observation.subject.resolve()")), status: 422, diag: "not an element"},
		{name: "computed value", in: pat,
			patch: params(op("delete", "Patient.birthDate.toString() + 'x'")), status: 422, diag: "computed"},
		{name: "add on missing element", in: `{"resourceType":"Patient","identifier":[{"use":"official","value":"123"}]}`,
			patch:  params(op("add", "Patient.identifier.where(use = 'official').period", str("name", "end"), val("DateTime", `"2021-12-01"`))),
			status: 422, diag: "no element found"},
		{name: "several matches", in: pat,
			patch: params(op("replace", "Patient.identifier.value", val("String", `"x"`))), status: 422, diag: "selects 2 elements"},
		{name: "delete several", in: pat, patch: params(op("delete", "Patient.identifier")), status: 422},
		{name: "delete the resource", in: pat, patch: params(op("delete", "Patient")), status: 422},
		{name: "replace the resource", in: pat, patch: params(op("replace", "Patient", val("String", `"x"`))), status: 422},

		// Element definitions and types.
		{name: "new member goes in specification order", in: `{"resourceType":"Patient","id":"p","name":[{"family":"x"}],"birthDate":"1970"}`,
			patch: params(op("add", "Patient", str("name", "gender"), val("Code", `"other"`))),
			want:  `{"resourceType":"Patient","id":"p","name":[{"family":"x"}],"gender":"other","birthDate":"1970"}`},
		{name: "choice element named by the value's type", in: `{"resourceType":"Observation","status":"final","code":{"text":"x"},"note":[{"text":"n"}]}`,
			patch: params(op("add", "Observation", str("name", "value"), val("Quantity", `{"value":1.50,"unit":"kg"}`))),
			want:  `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.50,"unit":"kg"},"note":[{"text":"n"}]}`},
		{name: "choice element already set", in: obs,
			patch: params(op("add", "Observation", str("name", "value"), val("String", `"x"`))), status: 422, diag: "already has a value"},
		{name: "choice type not allowed", in: `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`,
			patch: params(op("add", "Observation", str("name", "value"), val("HumanName", `{"text":"x"}`))), status: 422, diag: "does not fit"},
		{name: "replace choice with another type keeps its place", in: obs,
			patch: params(op("replace", "Observation.value", val("String", `"heavy"`))),
			want:  `{"resourceType":"Observation","status":"final","code":{"text":"weight"},"effectiveDateTime":"2020-01-01","valueString":"heavy","note":[{"text":"x"}]}`},
		{name: "decimal text kept", in: obs,
			patch: params(op("replace", "Observation.value.unit", val("String", `"kilogram"`))),
			want:  `{"resourceType":"Observation","status":"final","code":{"text":"weight"},"effectiveDateTime":"2020-01-01","valueQuantity":{"value":72.50,"unit":"kilogram"},"note":[{"text":"x"}]}`},
		{name: "age is a quantity", in: `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`,
			patch: params(op("add", "Observation", str("name", "referenceRange"), parts("value", `{"name":"age","part":[{"name":"low","valueAge":{"value":1}}]}`))),
			want:  `{"resourceType":"Observation","status":"final","code":{"text":"x"},"referenceRange":[{"age":{"low":{"value":1}}}]}`},
		{name: "unknown element", in: pat,
			patch: params(op("add", "Patient", str("name", "shoeSize"), val("Integer", `42`))), status: 422, diag: "no element \"shoeSize\""},
		{name: "single element already present", in: pat,
			patch: params(op("add", "Patient", str("name", "birthDate"), val("Date", `"1980"`))), status: 422, diag: "use replace"},
		{name: "complex value into primitive element", in: pat,
			patch: params(op("replace", "Patient.birthDate", val("HumanName", `{"text":"x"}`))), status: 422, diag: "does not fit"},
		{name: "wrong complex type", in: pat,
			patch: params(op("add", "Patient", str("name", "maritalStatus"), val("Coding", `{"code":"M"}`))), status: 422, diag: "does not fit"},
		{name: "resource into contained", in: `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`,
			patch: params(op("add", "Observation", str("name", "contained"), `{"name":"value","resource":{"resourceType":"Patient","id":"c"}}`)),
			want:  `{"resourceType":"Observation","contained":[{"resourceType":"Patient","id":"c"}],"status":"final","code":{"text":"x"}}`},
		{name: "parts: repeated names make a list, nested parts", in: `{"resourceType":"Patient"}`,
			patch: params(op("add", "Patient", str("name", "contact"), parts("value",
				`{"name":"telecom","valueContactPoint":{"value":"1"}}`, `{"name":"telecom","valueContactPoint":{"value":"2"}}`,
				`{"name":"gender","valueCode":"female"}`))),
			want: `{"resourceType":"Patient","contact":[{"telecom":[{"value":"1"},{"value":"2"}],"gender":"female"}]}`},
		{name: "parts: single element twice", in: `{"resourceType":"Patient"}`,
			patch:  params(op("add", "Patient", str("name", "contact"), parts("value", `{"name":"gender","valueCode":"female"}`, `{"name":"gender","valueCode":"male"}`))),
			status: 422, diag: "already has a value"},
		{name: "parts: unknown element", in: `{"resourceType":"Patient"}`,
			patch:  params(op("add", "Patient", str("name", "contact"), parts("value", `{"name":"colour","valueCode":"red"}`))),
			status: 422, diag: "no element \"colour\""},

		// Lists.
		{name: "insert into an empty list", in: `{"resourceType":"Patient","id":"p","active":true}`,
			patch: params(op("insert", "Patient.identifier", val("Identifier", ident("1")), num("index", 0))),
			want:  `{"resourceType":"Patient","id":"p","identifier":[` + ident("1") + `],"active":true}`},
		{name: "insert into an empty list past the end", in: `{"resourceType":"Patient"}`,
			patch: params(op("insert", "Patient.identifier", val("Identifier", ident("1")), num("index", 1))), status: 422, diag: "out of range"},
		{name: "insert at the end", in: idents("1"),
			patch: params(op("insert", "Patient.identifier", val("Identifier", ident("2")), num("index", 1))), want: idents("1", "2")},
		{name: "insert past the end", in: idents("1"),
			patch: params(op("insert", "Patient.identifier", val("Identifier", ident("2")), num("index", 2))), status: 422, diag: "out of range"},
		{name: "insert into part of a list", in: idents("1", "2"),
			patch: params(op("insert", "Patient.identifier[1]", val("Identifier", ident("2")), num("index", 0))), status: 422, diag: "whole list"},
		{name: "insert into a single element", in: pat,
			patch: params(op("insert", "Patient.birthDate", val("Date", `"1"`), num("index", 0))), status: 422, diag: "not a list"},
		{name: "move out of range", in: idents("1", "2"),
			patch: params(op("move", "Patient.identifier", num("source", 2), num("destination", 0))), status: 422, diag: "below the length"},
		{name: "move in an empty list", in: `{"resourceType":"Patient"}`,
			patch: params(op("move", "Patient.identifier", num("source", 0), num("destination", 0))), status: 422},

		// Malformed documents.
		{name: "not Parameters", in: pat, patch: `{"resourceType":"Patient"}`, status: 400},
		{name: "not JSON", in: pat, patch: `{`, status: 400},
		{name: "parameter not named operation", in: pat, patch: `{"resourceType":"Parameters","parameter":[{"name":"op","part":[]}]}`, status: 400},
		{name: "unknown type", in: pat, patch: params(op("upsert", "Patient")), status: 400, diag: "unknown operation type"},
		{name: "missing type", in: pat, patch: `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[` + str("path", "Patient") + `]}]}`, status: 400},
		{name: "missing value", in: pat, patch: params(op("replace", "Patient.birthDate")), status: 400, diag: "needs a value part"},
		{name: "missing name", in: pat, patch: params(op("add", "Patient", val("Date", `"1"`))), status: 400},
		{name: "missing index", in: pat, patch: params(op("insert", "Patient.identifier", val("Identifier", ident("1")))), status: 400, diag: "needs an index part"},
		{name: "negative index", in: pat, patch: params(op("insert", "Patient.identifier", val("Identifier", ident("1")), num("index", -1))), status: 400},
		{name: "unknown part", in: pat, patch: params(op("delete", "Patient.birthDate", str("colour", "red"))), status: 400},
		{name: "duplicate part", in: pat, patch: params(op("delete", "Patient.birthDate", str("path", "Patient.id"))), status: 400},
		{name: "bad FHIRPath", in: pat, patch: params(op("delete", "Patient.name[")), status: 400, diag: "not a valid FHIRPath"},
		{name: "two values", in: pat, patch: params(op("replace", "Patient.birthDate", `{"name":"value","valueDate":"1","valueString":"2"}`)), status: 400},
		{name: "unknown value type", in: pat, patch: params(op("replace", "Patient.birthDate", val("Banana", `"1"`))), status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ApplyFHIRPathPatch([]byte(tc.in), []byte(tc.patch))
			if tc.status != 0 {
				if statusOf(err) != tc.status {
					t.Fatalf("got %v (%s), want status %d", err, got, tc.status)
				}
				if tc.diag != "" && !strings.Contains(err.Error(), tc.diag) {
					t.Fatalf("diagnostics %q do not mention %q", err, tc.diag)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestFHIRPathPatchErrorNamesOperation(t *testing.T) {
	in := `{"resourceType":"Patient","birthDate":"1970"}`
	p := params(op("delete", "Patient.gender"), op("replace", "Patient.name.family", val("String", `"x"`)))
	_, err := ApplyFHIRPathPatch([]byte(in), []byte(p))
	var fe *fhir.Error
	if !errors.As(err, &fe) || fe.Status != http.StatusUnprocessableEntity {
		t.Fatalf("got %v", err)
	}
	is := fe.Issues[0]
	if !strings.Contains(is.Diagnostics, "operation 1 (replace Patient.name.family)") {
		t.Errorf("diagnostics %q", is.Diagnostics)
	}
	if len(is.Expression) != 1 || is.Expression[0] != "Patient.name.family" {
		t.Errorf("expression %q", is.Expression)
	}
}

func TestFHIRPathPatchLocatesEveryPrimitive(t *testing.T) {
	// Every primitive gets its own identity: replacing each given name in
	// turn must touch exactly that one.
	in := `{"resourceType":"Patient","name":[{"given":["a","a","a"]},{"given":["a"]}]}`
	p := params(
		op("replace", "Patient.name[0].given[1]", val("String", `"b"`)),
		op("replace", "Patient.name[1].given[0]", val("String", `"c"`)),
		op("replace", "Patient.name.given.where($this = 'a').last()", val("String", `"d"`)),
	)
	got, err := ApplyFHIRPathPatch([]byte(in), []byte(p))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"resourceType":"Patient","name":[{"given":["a","b","d"]},{"given":["c"]}]}`; string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
