package fhirpath

import "testing"

// primitivesJSON has primitives with ids and extensions beside their
// values (R4 json.html#primitive), one without a value, and extensions
// whose value[x] is a primitive that has only extensions.
const primitivesJSON = `{
  "resourceType": "Patient",
  "id": "p1",
  "birthDate": "1970-03-30",
  "_birthDate": {"id": "bd", "extension": [{"url": "http://example.org/time", "valueTime": "14:35:45"}]},
  "_gender": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]},
  "name": [{"given": ["Ann", "Bo"], "_given": [null, {"id": "g2"}]}, {"_given": [{"id": "g3"}, {"extension": [{"url": "http://example.org/n", "valueString": "n"}]}]}],
  "extension": [
    {"url": "http://example.org/a", "_valueString": {"extension": [{"url": "http://example.org/why", "valueCode": "masked"}]}},
    {"url": "http://example.org/b", "valueString": "x", "_valueString": {"id": "v"}}
  ]
}`

// TestPrimitiveElements checks the id and extensions of primitives: a
// primitive is an element whose children are its id and extensions, and
// whose value, when present, is the item itself (R4 fhirpath.html and
// json.html#primitive).
func TestPrimitiveElements(t *testing.T) {
	p := decode(t, primitivesJSON)
	runCases(t, p, nil, []evalCase{
		{"Patient.birthDate.id", "System.String:bd"},
		{"birthDate.id", "System.String:bd"},
		{"Patient.birthDate.extension.url", "System.String:http://example.org/time"},
		{"Patient.birthDate.extension.value", "time:14:35:45"},
		{"Patient.birthDate.extension('http://example.org/time').value", "time:14:35:45"},
		{"Patient.birthDate.children().count()", "System.Integer:2"},
		{"Patient.birthDate.hasValue()", "System.Boolean:true"},
		{"Patient.gender.exists()", "System.Boolean:true"},
		{"Patient.gender.hasValue()", "System.Boolean:false"},
		{"Patient.gender.extension.value", "code:unknown"},
		{"Patient.gender.id", ""},
		{"Patient.name.given.id", "System.String:g2, System.String:g3"},
		{"Patient.name[1].given.count()", "System.Integer:2"},
		{"Patient.name[1].children().count()", "System.Integer:2"},
		{"Patient.name[1].given.extension.value", "string:n"},
		{"Patient.name[1].given.all(hasValue() or (children().count() > id.count()))", "System.Boolean:false"},
		{"Patient.name.given[0].id.exists()", "System.Boolean:false"},
		{"Patient.extension.value.count()", "System.Integer:2"},
		{"Patient.extension[0].value.exists()", "System.Boolean:true"},
		{"Patient.extension[0].value.hasValue()", "System.Boolean:false"},
		{"Patient.extension[0].value.extension.value", "code:masked"},
		{"Patient.extension[1].value.id", "System.String:v"},
		{"Patient.extension[1].value", "string:x"},
		{"Patient.descendants().where($this = 'masked').exists()", "System.Boolean:true"},
		// ele-1 and ext-1 of the R4 base, as FHIRPath.
		{"Patient.birthDate.all(hasValue() or (children().count() > id.count()))", "System.Boolean:true"},
		{"Patient.gender.all(hasValue() or (children().count() > id.count()))", "System.Boolean:true"},
		{"Patient.extension.all(extension.exists() != value.exists())", "System.Boolean:true"},
	})
}

// TestInvariantsOnPrimitives evaluates ele-1 and ext-1 with a primitive
// as the context, as a validator checks each element.
func TestInvariantsOnPrimitives(t *testing.T) {
	ele1 := MustCompile("hasValue() or (children().count() > id.count())")
	ext1 := MustCompile("extension.exists() != value.exists()")
	for _, tc := range []struct {
		name      string
		expr      *Expr
		value     any
		companion string
		typ       string
		want      bool
	}{
		{"value only", ele1, "1970", ``, "date", true},
		{"id only", ele1, nil, `{"id":"x"}`, "date", false},
		{"extension only", ele1, nil, `{"extension":[{"url":"http://e","valueString":"a"}]}`, "date", true},
		{"value and id", ele1, "1970", `{"id":"x"}`, "date", true},
		{"extension value only in companion", ext1, map[string]any{"url": "http://e", "_valueString": map[string]any{"id": "a"}}, ``, "Extension", true},
		{"extension with both", ext1, map[string]any{"url": "http://e", "_valueString": map[string]any{"id": "a"}, "extension": []any{map[string]any{"url": "http://f", "valueString": "b"}}}, ``, "Extension", false},
		{"extension with neither", ext1, map[string]any{"url": "http://e"}, ``, "Extension", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var companion map[string]any
			if tc.companion != "" {
				companion = decode(t, tc.companion).(map[string]any)
			}
			out, err := tc.expr.Evaluate(map[string]any{"resourceType": "Patient"}, &Options{Context: tc.value, ContextType: tc.typ, ContextCompanion: companion})
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := out.Bool(); !ok || got != tc.want {
				t.Errorf("%s: %v, want %v", tc.expr, out, tc.want)
			}
		})
	}
}

// TestRootResource checks that %rootResource is the container of a
// contained resource while %resource is the contained resource itself
// (R4 fhirpath.html#variables), and that both are the resource when no
// root is given.
func TestRootResource(t *testing.T) {
	container := decode(t, `{"resourceType":"Patient","id":"outer","contained":[{"resourceType":"Organization","id":"inner"}]}`).(map[string]any)
	inner := container["contained"].([]any)[0]
	runCases(t, inner, &Options{RootResource: container}, []evalCase{
		{"%resource.id", "id:inner"},
		{"%rootResource.id", "id:outer"},
		{"%rootResource.contained.id", "id:inner"},
		{"%rootResource != %resource", "System.Boolean:true"},
	})
	runCases(t, container, nil, []evalCase{
		{"%rootResource.id", "id:outer"},
		{"%rootResource = %resource", "System.Boolean:true"},
	})
}
