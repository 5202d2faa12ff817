package fhir

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestValidID(t *testing.T) {
	for _, tt := range []struct {
		id string
		ok bool
	}{
		{"a", true}, {"example-1.2", true}, {strings.Repeat("a", 64), true},
		{"", false}, {strings.Repeat("a", 65), false}, {"a b", false}, {"a/b", false}, {"a_b", false}, {"\x00", false}, {"é", false},
	} {
		if got := ValidID(tt.id); got != tt.ok {
			t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.ok)
		}
	}
}

func TestStampKeepsOrderAndPrecision(t *testing.T) {
	in := `{"resourceType":"Observation","status":"final","meta":{"profile":["x"]},"valueQuantity":{"value":1.50}}`
	obj, err := ParseObject([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Stamp(obj, "abc", 3, time.Date(2024, 5, 1, 10, 0, 0, 123456000, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Observation","id":"abc","status":"final","meta":{"profile":["x"],"versionId":"3","lastUpdated":"2024-05-01T10:00:00.123456Z"},"valueQuantity":{"value":1.50}}`
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
}

func TestParseObjectRejects(t *testing.T) {
	for _, in := range []string{``, `null`, `[]`, `"x"`, `{"a":1,"a":2}`, `{"a":1} {}`, `{"a":}`, `{`} {
		if _, err := ParseObject([]byte(in)); err == nil {
			t.Errorf("ParseObject(%q) accepted", in)
		}
	}
}

func TestRewriteReferences(t *testing.T) {
	in := `{"resourceType":"Observation","subject":{"reference":"urn:uuid:1"},"extension":[{"url":"u","valueReference":{"reference":"urn:uuid:2"}}],"contained":[{"resourceType":"Provenance","target":[{"reference":"urn:uuid:1"}]}],"identifier":[{"value":"urn:uuid:1"}]}`
	out, changed, err := RewriteReferences([]byte(in), func(ref string) (string, bool) {
		m := map[string]string{"urn:uuid:1": "Patient/1", "urn:uuid:2": "Practitioner/2"}
		s, ok := m[ref]
		return s, ok
	})
	if err != nil || !changed {
		t.Fatal(err, changed)
	}
	var got, want any
	_ = json.Unmarshal(out, &got)
	_ = json.Unmarshal([]byte(strings.NewReplacer(`"reference":"urn:uuid:1"`, `"reference":"Patient/1"`, `"reference":"urn:uuid:2"`, `"reference":"Practitioner/2"`).Replace(in)), &want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %s", out)
	}
	if !strings.HasPrefix(string(out), `{"resourceType":"Observation","subject"`) {
		t.Fatalf("order not kept: %s", out)
	}
}

func TestOutcome(t *testing.T) {
	b := Outcome([]Issue{{Severity: SeverityError, Code: IssueValue, Diagnostics: "bad", Expression: []string{"Patient.birthDate"}}})
	var oo struct {
		ResourceType string
		Issue        []struct {
			Severity, Code, Diagnostics string
			Expression                  []string
		}
	}
	if err := json.Unmarshal(b, &oo); err != nil {
		t.Fatal(err)
	}
	if oo.ResourceType != "OperationOutcome" || len(oo.Issue) != 1 || oo.Issue[0].Expression[0] != "Patient.birthDate" || oo.Issue[0].Code != "value" {
		t.Fatalf("%s", b)
	}
}

func FuzzParseObject(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","id":"1","meta":{"versionId":"1"}}`))
	f.Add([]byte(`{"a":[1,2,{"reference":"x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		obj, err := ParseObject(b)
		if err != nil {
			return
		}
		out := obj.Bytes()
		if !json.Valid(out) {
			t.Fatalf("Bytes produced invalid JSON %q from %q", out, b)
		}
		if _, err := Stamp(obj, "x", 1, time.Unix(0, 0)); err != nil {
			var fe *Error
			if e, ok := err.(*Error); !ok || e == fe {
				t.Fatalf("Stamp: %v", err)
			}
		}
		_, _, _ = RewriteReferences(b, func(s string) (string, bool) { return s + "x", true })
	})
}
