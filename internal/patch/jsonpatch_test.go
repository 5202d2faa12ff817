package patch

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/fhir"
)

// jsonEqual compares two JSON texts as values (RFC 6902 section 4.6).
func jsonEqual(t *testing.T, got, want string) bool {
	t.Helper()
	g, err := parseJSON([]byte(got))
	if err != nil {
		t.Fatalf("result is not JSON: %v\n%s", err, got)
	}
	w, err := parseJSON([]byte(want))
	if err != nil {
		t.Fatalf("bad expected JSON: %v", err)
	}
	return equal(g, w)
}

func statusOf(err error) int {
	var fe *fhir.Error
	if errors.As(err, &fe) {
		return fe.Status
	}
	return 0
}

// TestJSONPatchRFC6902AppendixA runs the examples of RFC 6902 appendix A.
func TestJSONPatchRFC6902AppendixA(t *testing.T) {
	tests := []struct {
		name, doc, patch, want string
		status                 int // expected error status, 0 for success
	}{
		{"A.1 adding an object member", `{"foo":"bar"}`, `[{"op":"add","path":"/baz","value":"qux"}]`, `{"baz":"qux","foo":"bar"}`, 0},
		{"A.2 adding an array element", `{"foo":["bar","baz"]}`, `[{"op":"add","path":"/foo/1","value":"qux"}]`, `{"foo":["bar","qux","baz"]}`, 0},
		{"A.3 removing an object member", `{"baz":"qux","foo":"bar"}`, `[{"op":"remove","path":"/baz"}]`, `{"foo":"bar"}`, 0},
		{"A.4 removing an array element", `{"foo":["bar","qux","baz"]}`, `[{"op":"remove","path":"/foo/1"}]`, `{"foo":["bar","baz"]}`, 0},
		{"A.5 replacing a value", `{"baz":"qux","foo":"bar"}`, `[{"op":"replace","path":"/baz","value":"boo"}]`, `{"baz":"boo","foo":"bar"}`, 0},
		{"A.6 moving a value", `{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}`, `[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]`, `{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}`, 0},
		{"A.7 moving an array element", `{"foo":["all","grass","cows","eat"]}`, `[{"op":"move","from":"/foo/1","path":"/foo/3"}]`, `{"foo":["all","cows","eat","grass"]}`, 0},
		{"A.8 testing a value: success", `{"baz":"qux","foo":["a",2,"c"]}`, `[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]`, `{"baz":"qux","foo":["a",2,"c"]}`, 0},
		{"A.9 testing a value: error", `{"baz":"qux"}`, `[{"op":"test","path":"/baz","value":"bar"}]`, ``, 422},
		{"A.10 adding a nested member object", `{"foo":"bar"}`, `[{"op":"add","path":"/child","value":{"grandchild":{}}}]`, `{"foo":"bar","child":{"grandchild":{}}}`, 0},
		{"A.11 ignoring unrecognized elements", `{"foo":"bar"}`, `[{"op":"add","path":"/baz","value":"qux","xyz":123}]`, `{"foo":"bar","baz":"qux"}`, 0},
		{"A.12 adding to a nonexistent target", `{"foo":"bar"}`, `[{"op":"add","path":"/baz/bat","value":"qux"}]`, ``, 422},
		{"A.13 invalid JSON Patch document", `{"foo":"bar"}`, `[{"op":"add","path":"/baz","value":"qux","op":"remove"}]`, ``, 400},
		{"A.14 ~ escape ordering", `{"/":9,"~1":10}`, `[{"op":"test","path":"/~01","value":10}]`, `{"/":9,"~1":10}`, 0},
		{"A.15 comparing strings and numbers", `{"/":9,"~1":10}`, `[{"op":"test","path":"/~01","value":"10"}]`, ``, 422},
		{"A.16 adding an array value", `{"foo":["bar"]}`, `[{"op":"add","path":"/foo/-","value":["abc","def"]}]`, `{"foo":["bar",["abc","def"]]}`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ApplyJSONPatch([]byte(tc.doc), []byte(tc.patch))
			if tc.status != 0 {
				if statusOf(err) != tc.status {
					t.Fatalf("got %v (%s), want status %d", err, got, tc.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, string(got), tc.want) {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestJSONPatchEdgeCases(t *testing.T) {
	const pat = `{"resourceType":"Patient","id":"p","name":[{"family":"Smith","given":["A","B"]}],"active":true,"weight":1.50}`
	tests := []struct {
		name, doc, patch string
		want             string // exact bytes on success
		status           int
		diag             string // substring of the diagnostics on failure
	}{
		{name: "member order and number text kept", doc: pat,
			patch: `[{"op":"replace","path":"/active","value":false}]`,
			want:  `{"resourceType":"Patient","id":"p","name":[{"family":"Smith","given":["A","B"]}],"active":false,"weight":1.50}`},
		{name: "add appends new member", doc: pat,
			patch: `[{"op":"add","path":"/gender","value":"female"}]`,
			want:  `{"resourceType":"Patient","id":"p","name":[{"family":"Smith","given":["A","B"]}],"active":true,"weight":1.50,"gender":"female"}`},
		{name: "add existing member replaces in place", doc: `{"a":1,"b":2}`,
			patch: `[{"op":"add","path":"/a","value":3}]`, want: `{"a":3,"b":2}`},
		{name: "append with dash", doc: pat,
			patch: `[{"op":"add","path":"/name/0/given/-","value":"C"}]`,
			want:  `{"resourceType":"Patient","id":"p","name":[{"family":"Smith","given":["A","B","C"]}],"active":true,"weight":1.50}`},
		{name: "add at array length", doc: `{"a":[1]}`, patch: `[{"op":"add","path":"/a/1","value":2}]`, want: `{"a":[1,2]}`},
		{name: "add past array length", doc: `{"a":[1]}`, patch: `[{"op":"add","path":"/a/2","value":2}]`, status: 422, diag: "out of range"},
		{name: "leading zero index", doc: `{"a":[1,2]}`, patch: `[{"op":"remove","path":"/a/01"}]`, status: 422, diag: "not an array index"},
		{name: "negative index", doc: `{"a":[1,2]}`, patch: `[{"op":"remove","path":"/a/-1"}]`, status: 422},
		{name: "dash on remove", doc: `{"a":[1,2]}`, patch: `[{"op":"remove","path":"/a/-"}]`, status: 422},
		{name: "remove missing member", doc: pat, patch: `[{"op":"remove","path":"/birthDate"}]`, status: 422, diag: "operation 0 (remove /birthDate)"},
		{name: "replace missing member", doc: pat, patch: `[{"op":"replace","path":"/birthDate","value":"2000"}]`, status: 422},
		{name: "replace array element", doc: `{"a":[1,2]}`, patch: `[{"op":"replace","path":"/a/1","value":{"x":null}}]`, want: `{"a":[1,{"x":null}]}`},
		{name: "test numbers by value", doc: `{"a":1.50}`, patch: `[{"op":"test","path":"/a","value":1.5},{"op":"test","path":"/a","value":15e-1}]`, want: `{"a":1.50}`},
		{name: "test objects ignore member order", doc: `{"a":{"x":1,"y":[true,null]}}`, patch: `[{"op":"test","path":"/a","value":{"y":[true,null],"x":1}}]`, want: `{"a":{"x":1,"y":[true,null]}}`},
		{name: "test arrays are ordered", doc: `{"a":[1,2]}`, patch: `[{"op":"test","path":"/a","value":[2,1]}]`, status: 422, diag: "test failed"},
		{name: "test whole document", doc: `{"a":1}`, patch: `[{"op":"test","path":"","value":{"a":1.0}}]`, want: `{"a":1}`},
		{name: "test null vs missing", doc: `{"a":null}`, patch: `[{"op":"test","path":"/b","value":null}]`, status: 422},
		{name: "atomic: failed test discards earlier ops", doc: `{"a":1}`, patch: `[{"op":"replace","path":"/a","value":2},{"op":"test","path":"/a","value":1}]`, status: 422, diag: "operation 1"},
		{name: "copy deep-clones", doc: `{"a":{"b":1}}`, patch: `[{"op":"copy","from":"/a","path":"/c"},{"op":"replace","path":"/c/b","value":2}]`, want: `{"a":{"b":1},"c":{"b":2}}`},
		{name: "copy missing from", doc: `{"a":1}`, patch: `[{"op":"copy","from":"/x","path":"/c"}]`, status: 422},
		{name: "move into own child", doc: `{"a":{"b":1}}`, patch: `[{"op":"move","from":"/a","path":"/a/c"}]`, status: 422, diag: "own children"},
		{name: "move to itself", doc: `{"a":1,"b":2}`, patch: `[{"op":"move","from":"/a","path":"/a"}]`, want: `{"a":1,"b":2}`},
		{name: "move to sibling with shared prefix text", doc: `{"a":1}`, patch: `[{"op":"move","from":"/a","path":"/ab"}]`, want: `{"ab":1}`},
		{name: "escaped tokens", doc: `{"a/b":1,"m~n":2}`, patch: `[{"op":"remove","path":"/a~1b"},{"op":"replace","path":"/m~0n","value":3}]`, want: `{"m~n":3}`},
		{name: "empty token is a member name", doc: `{"":1}`, patch: `[{"op":"replace","path":"/","value":2}]`, want: `{"":2}`},
		{name: "descend into a string", doc: `{"a":"x"}`, patch: `[{"op":"add","path":"/a/b","value":1}]`, status: 422},
		{name: "replace root", doc: `{"a":1}`, patch: `[{"op":"replace","path":"","value":{"b":2}}]`, want: `{"b":2}`},
		{name: "root must stay an object", doc: `{"a":1}`, patch: `[{"op":"replace","path":"","value":[1]}]`, status: 422},
		{name: "remove root", doc: `{"a":1}`, patch: `[{"op":"remove","path":""}]`, status: 422},
		{name: "html characters and unicode kept", doc: `{"div":"<div>é</div>"}`, patch: `[]`, want: `{"div":"<div>é</div>"}`},
		{name: "empty patch", doc: `{"b":1, "a" : 2}`, patch: `[]`, want: `{"b":1,"a":2}`},

		{name: "patch not an array", doc: `{}`, patch: `{"op":"add"}`, status: 400},
		{name: "patch not JSON", doc: `{}`, patch: `[{"op":`, status: 400},
		{name: "unknown op", doc: `{}`, patch: `[{"op":"delete","path":"/a"}]`, status: 400, diag: "unknown op"},
		{name: "missing path", doc: `{}`, patch: `[{"op":"remove"}]`, status: 400},
		{name: "missing value", doc: `{}`, patch: `[{"op":"add","path":"/a"}]`, status: 400},
		{name: "null value is a value", doc: `{}`, patch: `[{"op":"add","path":"/a","value":null}]`, want: `{"a":null}`},
		{name: "missing from", doc: `{}`, patch: `[{"op":"move","path":"/a"}]`, status: 400},
		{name: "pointer without slash", doc: `{"a":1}`, patch: `[{"op":"remove","path":"a"}]`, status: 400},
		{name: "bad escape", doc: `{"a":1}`, patch: `[{"op":"remove","path":"/a~2"}]`, status: 400},
		{name: "operation not an object", doc: `{}`, patch: `[1]`, status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ApplyJSONPatch([]byte(tc.doc), []byte(tc.patch))
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

func TestJSONPatchErrorExpression(t *testing.T) {
	_, err := ApplyJSONPatch([]byte(`{"resourceType":"Patient","name":[{"family":"x"}]}`),
		[]byte(`[{"op":"remove","path":"/name/0/given"}]`))
	var fe *fhir.Error
	if !errors.As(err, &fe) || fe.Status != http.StatusUnprocessableEntity {
		t.Fatalf("got %v", err)
	}
	if got := fe.Issues[0].Expression; len(got) != 1 || got[0] != "Patient.name[0].given" {
		t.Fatalf("expression %q", got)
	}
}

func TestJSONPatchBadResource(t *testing.T) {
	for _, doc := range []string{`[]`, `{`, `{"a":1,"a":2}`, `{} x`} {
		_, err := ApplyJSONPatch([]byte(doc), []byte(`[]`))
		if err == nil || statusOf(err) != 0 {
			t.Errorf("%s: got %v, want an internal error", doc, err)
		}
	}
}

func TestJSONPatchGrowthIsBounded(t *testing.T) {
	ops := []string{`{"op":"add","path":"/a","value":[1,2,3,4,5,6,7,8]}`}
	for range 40 {
		ops = append(ops, `{"op":"copy","from":"/a","path":"/a/-"}`)
	}
	_, err := ApplyJSONPatch([]byte(`{}`), []byte("["+strings.Join(ops, ",")+"]"))
	if statusOf(err) != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "exceed") {
		t.Fatalf("got %v", err)
	}
}
