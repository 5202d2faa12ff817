package patch

import (
	"encoding/json"
	"testing"
)

// checkResult holds both patch functions to their contract on any input:
// never panic, return either JSON or an error, and the JSON is an object.
func checkResult(t *testing.T, out []byte, err error) {
	t.Helper()
	if err != nil {
		if out != nil {
			t.Fatalf("result %s returned with error %v", out, err)
		}
		return
	}
	var v map[string]any
	if jerr := json.Unmarshal(out, &v); jerr != nil {
		t.Fatalf("result is not a JSON object: %v\n%s", jerr, out)
	}
}

func FuzzJSONPatch(f *testing.F) {
	f.Add(`{"foo":["bar","baz"]}`, `[{"op":"add","path":"/foo/1","value":"qux"}]`)
	f.Add(`{"a":{"b":1}}`, `[{"op":"move","from":"/a/b","path":"/c"},{"op":"test","path":"/c","value":1.0}]`)
	f.Add(`{"/":9,"~1":10}`, `[{"op":"test","path":"/~01","value":10}]`)
	f.Add(`{"a":[1,2,3]}`, `[{"op":"copy","from":"/a","path":"/a/-"},{"op":"remove","path":"/a/0"}]`)
	f.Add(`{"a":1}`, `[{"op":"replace","path":"","value":{"b":[null,true,"x",1e3]}}]`)
	f.Fuzz(func(t *testing.T, doc, patch string) {
		out, err := ApplyJSONPatch([]byte(doc), []byte(patch))
		checkResult(t, out, err)
		if err == nil {
			// Patching the result with an empty patch is the identity.
			again, err := ApplyJSONPatch(out, []byte(`[]`))
			if err != nil || string(again) != string(out) {
				t.Fatalf("result does not round-trip: %v\n%s\n%s", err, out, again)
			}
		}
	})
}

func FuzzFHIRPathPatch(f *testing.F) {
	pat := `{"resourceType":"Patient","id":"p","identifier":[{"system":"a","value":"1"},{"system":"b","value":"2"}],"name":[{"family":"Smith","given":["Ann","Bea"],"_given":[null,{"id":"g2"}]}],"birthDate":"1970-01-01","_birthDate":{"extension":[{"url":"u","valueString":"v"}]}}`
	f.Add(pat, params(op("replace", "Patient.identifier.where(system = 'b').value", val("String", `"3"`))))
	f.Add(pat, params(op("delete", "Patient.name[0].given[1]"), op("delete", "Patient.birthDate.extension('u')")))
	f.Add(pat, params(op("insert", "Patient.name[0].given", val("String", `"Zed"`), num("index", 1))))
	f.Add(pat, params(op("move", "Patient.identifier", num("source", 1), num("destination", 0))))
	f.Add(pat, params(op("add", "Patient", str("name", "contact"), parts("value", `{"name":"gender","valueCode":"male"}`))))
	f.Add(pat, params(op("add", "Patient.birthDate", str("name", "extension"), val("Extension", `{"url":"x","valueBoolean":true}`))))
	f.Add(`{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.50}}`,
		params(op("replace", "Observation.value", val("String", `"x"`))))
	f.Fuzz(func(t *testing.T, doc, patch string) {
		out, err := ApplyFHIRPathPatch([]byte(doc), []byte(patch))
		checkResult(t, out, err)
	})
}
