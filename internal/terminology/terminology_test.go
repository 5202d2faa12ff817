package terminology

import (
	"errors"
	"slices"
	"testing"
)

const roleCode = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		system, code, display string
		ok                    bool
	}{
		{"http://hl7.org/fhir/administrative-gender", "female", "Female", true},
		{"http://hl7.org/fhir/administrative-gender|4.0.1", "male", "Male", true},
		{"http://hl7.org/fhir/administrative-gender", "man", "", false},
		{"http://hl7.org/fhir/observation-status", "final", "Final", true},
		{roleCode, "MTH", "mother", true},
		{"http://snomed.info/sct", "22298006", "", false},
	} {
		c, ok := Lookup(tc.system, tc.code)
		if ok != tc.ok || c.Display != tc.display {
			t.Errorf("Lookup(%s, %s) = %q, %v; want %q, %v", tc.system, tc.code, c.Display, ok, tc.display, tc.ok)
		}
	}
	c, _ := Lookup(roleCode, "_PersonalRelationshipRoleType")
	if !slices.Contains(c.Properties, Property{"notSelectable", "boolean", "true"}) {
		t.Errorf("properties of _PersonalRelationshipRoleType = %v", c.Properties)
	}
	if c, _ := Lookup(roleCode, "MTH"); !slices.Contains(c.Parents, "PRN") || !slices.Contains(c.Children, "NMTH") {
		t.Errorf("parents of MTH = %v", c.Parents)
	}
}

func TestSubsumes(t *testing.T) {
	r := Default()
	for _, tc := range []struct{ a, b, want string }{
		{"MTH", "MTH", Equivalent},
		{"FAMMEMB", "MTH", Subsumes},
		{"MTH", "FAMMEMB", SubsumedBy},
		{"MTH", "FTH", NotSubsumed},
		{"_PersonalRelationshipRoleType", "NMTH", Subsumes},
	} {
		got, err := r.Subsumes(roleCode, tc.a, tc.b)
		if err != nil || got != tc.want {
			t.Errorf("Subsumes(%s, %s) = %s, %v; want %s", tc.a, tc.b, got, err, tc.want)
		}
	}
	if _, err := r.Subsumes(roleCode, "MTH", "nope"); err == nil {
		t.Error("unknown code: no error")
	}
	d, err := r.Descendants(roleCode, "PRN")
	if err != nil || !slices.Contains(d, "MTH") || !slices.Contains(d, "NFTH") || slices.Contains(d, "PRN") {
		t.Errorf("Descendants(PRN) = %v, %v", d, err)
	}
	a, err := r.Ancestors(roleCode, "MTH")
	if err != nil || !slices.Contains(a, "PRN") || !slices.Contains(a, "FAMMEMB") {
		t.Errorf("Ancestors(MTH) = %v, %v", a, err)
	}
	// v3-ActCode nests through the child property as well as by nesting.
	if got, err := r.Subsumes("http://terminology.hl7.org/CodeSystem/v3-ActCode", "_ActEncounterCode", "AMB"); err != nil || got != Subsumes {
		t.Errorf("ActCode _ActEncounterCode/AMB = %s, %v", got, err)
	}
}

func TestExpand(t *testing.T) {
	e, err := Expand("http://hl7.org/fhir/ValueSet/administrative-gender", "", 0, -1)
	if err != nil || e.Total != 4 || len(e.Contains) != 4 || e.Contains[0].Code != "male" {
		t.Fatalf("administrative-gender: %+v, %v", e, err)
	}
	e, err = Expand("http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1", "fem", 0, -1)
	if err != nil || e.Total != 1 || e.Contains[0].Code != "female" {
		t.Errorf("filter fem: %+v, %v", e, err)
	}
	e, err = Expand("http://hl7.org/fhir/ValueSet/observation-status", "", 2, 3)
	if err != nil || e.Total != 8 || len(e.Contains) != 3 || e.Contains[0].Code != "final" {
		t.Errorf("observation-status page: %+v, %v", e, err)
	}
	e, err = Expand("http://hl7.org/fhir/ValueSet/observation-status", "", 0, 0)
	if err != nil || e.Total != 8 || len(e.Contains) != 0 {
		t.Errorf("count 0: %+v, %v", e, err)
	}
	// Intensional: is-a _PersonalRelationshipRoleType in v3-RoleCode,
	// excluding that abstract code itself.
	e, err = Expand("http://terminology.hl7.org/ValueSet/v3-PersonalRelationshipRoleType", "", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	for _, c := range e.Contains {
		codes[c.Code] = true
	}
	if !codes["MTH"] || !codes["NMTH"] || codes["_PersonalRelationshipRoleType"] || codes["CLASSIFIER"] || e.Total != 109 {
		t.Errorf("v3-PersonalRelationshipRoleType: total %d, codes %v", e.Total, codes)
	}
	e, err = Expand("http://terminology.hl7.org/ValueSet/v3-ActEncounterCode", "", 0, -1)
	if err != nil || e.Total == 0 {
		t.Fatalf("v3-ActEncounterCode: %+v, %v", e, err)
	}
	if !slices.ContainsFunc(e.Contains, func(c Contains) bool { return c.Code == "AMB" }) {
		t.Error("v3-ActEncounterCode lacks AMB")
	}
}

func TestExpandErrors(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want error
	}{
		{"http://example.org/nope", ErrUnknownValueSet},
		// Binds SNOMED CT by filter: external.
		{"http://hl7.org/fhir/ValueSet/clinical-findings", ErrExternalSystem},
		{"http://hl7.org/fhir/ValueSet/observation-codes", ErrUnknownSystem},
	} {
		_, err := Expand(tc.url, "", 0, 10)
		if !errors.Is(err, tc.want) {
			t.Errorf("Expand(%s) error = %v; want %v", tc.url, err, tc.want)
		}
	}
}

func TestValidateCode(t *testing.T) {
	const gender = "http://hl7.org/fhir/ValueSet/administrative-gender"
	const sys = "http://hl7.org/fhir/administrative-gender"
	for _, tc := range []struct {
		vs, system, code, display string
		valid                     bool
	}{
		{gender, sys, "female", "", true},
		{gender, "", "female", "", true},
		{gender, sys, "female", "female", true},
		{gender, sys, "female", "Woman", false},
		{gender, sys, "man", "", false},
		{gender, "http://example.org", "female", "", false},
		{"http://terminology.hl7.org/ValueSet/v3-PersonalRelationshipRoleType", roleCode, "MTH", "mother", true},
		{"http://terminology.hl7.org/ValueSet/v3-PersonalRelationshipRoleType", roleCode, "CLASSIFIER", "", false},
	} {
		res, err := ValidateCode(tc.vs, tc.system, tc.code, tc.display)
		if err != nil || res.Valid != tc.valid || !res.Valid && res.Message == "" {
			t.Errorf("ValidateCode(%s, %s, %s, %q) = %+v, %v", tc.vs, tc.system, tc.code, tc.display, res, err)
		}
	}
}

func TestAdd(t *testing.T) {
	r := New()
	err := r.Add([]byte(`{"resourceType":"CodeSystem","url":"http://example.org/cs","valueSet":"http://example.org/cs-all","content":"complete","concept":[
		{"code":"a","display":"A","concept":[{"code":"a1","display":"A one"}]},{"code":"b","display":"B"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	err = r.Add([]byte(`{"resourceType":"ValueSet","url":"http://example.org/vs","compose":{
		"include":[{"system":"http://example.org/cs","filter":[{"property":"concept","op":"is-a","value":"a"}]}],
		"exclude":[{"system":"http://example.org/cs","concept":[{"code":"a"}]}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := r.Expand("http://example.org/vs", "", 0, -1)
	if err != nil || e.Total != 1 || e.Contains[0].Code != "a1" || e.Contains[0].Display != "A one" {
		t.Errorf("expansion %+v, %v", e, err)
	}
	if e, err := r.Expand("http://example.org/cs-all", "", 0, -1); err != nil || e.Total != 3 {
		t.Errorf("implicit value set: %+v, %v", e, err)
	}
	if _, ok := Default().Lookup("http://example.org/cs", "a"); ok {
		t.Error("Add on New changed Default")
	}
	if err := r.Add([]byte(`{"resourceType":"Patient","url":"x"}`)); err == nil {
		t.Error("Patient accepted")
	}
	// Replacing the code system changes the cached expansion.
	if err := r.Add([]byte(`{"resourceType":"CodeSystem","url":"http://example.org/cs","content":"complete","concept":[{"code":"a","concept":[{"code":"a2"}]}]}`)); err != nil {
		t.Fatal(err)
	}
	if e, _ := r.Expand("http://example.org/vs", "", 0, -1); e.Total != 1 || e.Contains[0].Code != "a2" {
		t.Errorf("after replace: %+v", e)
	}
	r.Remove("http://example.org/cs")
	if _, err := r.Expand("http://example.org/vs", "", 0, -1); !errors.Is(err, ErrUnknownSystem) {
		t.Errorf("after Remove: %v", err)
	}
	r.Remove("http://hl7.org/fhir/administrative-gender")
	if _, ok := r.Lookup("http://hl7.org/fhir/administrative-gender", "male"); !ok {
		t.Error("Remove dropped a core code system")
	}
}

// TestExpandAll expands every core value set, so a filter or table
// change that breaks one is noticed; those that need an external or
// incomplete code system must fail with ErrUnknownSystem.
func TestExpandAll(t *testing.T) {
	r := New()
	var ok, unavailable int
	for url := range r.sets {
		_, err := r.Expand(url, "", 0, 0)
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrUnavailable):
			unavailable++
		default:
			t.Errorf("%s: %v", url, err)
		}
	}
	t.Logf("%d value sets expand, %d need code systems not available", ok, unavailable)
	// R4 publishes over a thousand value sets, most of them over its own
	// code systems: a registry that expands none of them has lost them.
	if len(r.sets) < 1000 || ok < len(r.sets)/2 {
		t.Errorf("%d value sets, %d expand: the core value sets are missing", len(r.sets), ok)
	}
}

func BenchmarkValidateCode(b *testing.B) {
	r := New()
	for b.Loop() {
		if res, err := r.ValidateCode("http://terminology.hl7.org/ValueSet/v3-PersonalRelationshipRoleType", roleCode, "MTH", ""); err != nil || !res.Valid {
			b.Fatal(res, err)
		}
	}
}

func TestExternalSystems(t *testing.T) {
	list := ExternalSystems()
	if !slices.Contains(list, ExternalSystem{"http://snomed.info/sct", "SNOMED CT"}) {
		t.Errorf("ExternalSystems() = %v", list)
	}
	// None of them may be a complete code system of the core package,
	// or the list would claim a gap that does not exist.
	r := New()
	for _, e := range list {
		if cs := r.systems[e.URL]; cs != nil && cs.content == "complete" {
			t.Errorf("%s is in the core package", e.URL)
		}
	}
}
