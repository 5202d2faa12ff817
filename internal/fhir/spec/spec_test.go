package spec

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/fhirpkg"
)

// r4ResourceTypes is the number of concrete resource types of FHIR R4
// (4.0.1): the code system http://hl7.org/fhir/resource-types of the
// package has 148 codes, two of which, Resource and DomainResource, name
// abstract types (their StructureDefinitions say abstract: true).
const r4ResourceTypes = 146

func TestCounts(t *testing.T) {
	if n := len(ResourceTypes()); n != r4ResourceTypes {
		t.Errorf("ResourceTypes: %d, want %d", n, r4ResourceTypes)
	}
	if n := len(AllSearchParams()); n < 1375 {
		t.Errorf("AllSearchParams: %d, want >= 1375", n)
	}
	if !slices.IsSorted(ResourceTypes()) {
		t.Error("ResourceTypes not sorted")
	}
	if got := Compartments(); !slices.Equal(got, []string{"Device", "Encounter", "Patient", "Practitioner", "RelatedPerson"}) {
		t.Errorf("Compartments() = %v", got)
	}
}

// TestResourceTypesMatchCodeSystem checks ResourceTypes, which the
// generator takes from the StructureDefinitions of the package, against
// a second source in the same package: the codes of the resource-types
// code system that name concrete types.
func TestResourceTypesMatchCodeSystem(t *testing.T) {
	dir, err := fhirpkg.Dir()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("FHIR package unavailable: %v", err)
		}
		t.Skipf("FHIR package unavailable: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "CodeSystem-resource-types.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cs struct {
		Concept []struct{ Code string }
	}
	if err := json.Unmarshal(b, &cs); err != nil {
		t.Fatal(err)
	}
	var concrete, abstract []string
	for _, c := range cs.Concept {
		switch {
		case IsResourceType(c.Code):
			concrete = append(concrete, c.Code)
		case IsResource(c.Code):
			abstract = append(abstract, c.Code)
		default:
			t.Errorf("code %q names no resource type of the generated tables", c.Code)
		}
	}
	slices.Sort(concrete)
	slices.Sort(abstract)
	if !slices.Equal(concrete, ResourceTypes()) {
		t.Errorf("concrete codes of resource-types (%d) differ from ResourceTypes (%d)", len(concrete), len(ResourceTypes()))
	}
	if len(concrete) != r4ResourceTypes || !slices.Equal(abstract, []string{"DomainResource", "Resource"}) {
		t.Errorf("resource-types has %d concrete codes and abstract %v, want %d and [DomainResource Resource]", len(concrete), abstract, r4ResourceTypes)
	}
}

func TestResourceTypes(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"Patient", true}, {"Observation", true}, {"Bundle", true}, {"Parameters", true}, {"Binary", true},
		{"Resource", false}, {"DomainResource", false}, {"HumanName", false}, {"string", false},
		{"patient", false}, {"Patient.contact", false}, {"", false},
	} {
		if got := IsResourceType(tc.name); got != tc.want {
			t.Errorf("IsResourceType(%q) = %v", tc.name, got)
		}
	}
}

func TestChild(t *testing.T) {
	for _, tc := range []struct {
		typ, name string
		path      string
		typOut    string
		min, max  int
		choice    bool
		primitive bool
	}{
		{"Patient", "name", "Patient.name", "HumanName", 0, -1, false, false},
		{"Patient", "birthDate", "Patient.birthDate", "date", 0, 1, false, true},
		{"Patient", "id", "Patient.id", "id", 0, 1, false, true},
		{"Patient", "contact", "Patient.contact", "Patient.contact", 0, -1, false, false},
		{"Patient.contact", "name", "Patient.contact.name", "HumanName", 0, 1, false, false},
		{"Patient", "deceasedBoolean", "Patient.deceased", "boolean", 0, 1, true, true},
		{"Patient", "deceasedDateTime", "Patient.deceased", "dateTime", 0, 1, true, true},
		{"Observation", "valueQuantity", "Observation.value", "Quantity", 0, 1, true, false},
		{"Observation", "valueString", "Observation.value", "string", 0, 1, true, false},
		{"Observation", "status", "Observation.status", "code", 1, 1, false, true},
		{"Questionnaire.item", "item", "Questionnaire.item.item", "Questionnaire.item", 0, -1, false, false},
		{"Questionnaire.item.item", "linkId", "Questionnaire.item.linkId", "string", 1, 1, false, true},
		{"Extension", "url", "Extension.url", SystemString, 1, 1, false, false},
		{"Extension", "valueAge", "Extension.value", "Age", 0, 1, true, false},
		{"string", "value", "string.value", SystemString, 0, 1, false, false},
		{"HumanName", "given", "HumanName.given", "string", 0, -1, false, true},
		{"Bundle.entry", "resource", "Bundle.entry.resource", "Resource", 0, 1, false, false},
		{"Age", "value", "Age.value", "decimal", 0, 1, false, true},
	} {
		e, typ, ok := Child(tc.typ, tc.name)
		if !ok {
			t.Errorf("Child(%q, %q): not found", tc.typ, tc.name)
			continue
		}
		if e.Path != tc.path || typ != tc.typOut || e.Min != tc.min || e.Max != tc.max || e.Choice != tc.choice || e.Primitive != tc.primitive {
			t.Errorf("Child(%q, %q) = %+v, %q", tc.typ, tc.name, e, typ)
		}
	}
	for _, tc := range [][2]string{
		{"Patient", "resourceType"}, {"Patient", "valueQuantity"}, {"Observation", "valueFoo"},
		{"Observation", "valuequantity"}, {"Nope", "id"}, {"Patient", ""},
	} {
		if e, typ, ok := Child(tc[0], tc[1]); ok {
			t.Errorf("Child(%q, %q) = %+v, %q; want not found", tc[0], tc[1], e, typ)
		}
	}
	// The bare name of a choice is the FHIRPath name, with no type.
	if e, typ, ok := Child("Observation", "value"); !ok || !e.Choice || typ != "" || !slices.Contains(e.Types, "Quantity") {
		t.Errorf(`Child("Observation", "value") = %+v, %q, %v`, e, typ, ok)
	}
}

func TestContentReference(t *testing.T) {
	e, _, ok := Child("Questionnaire.item", "item")
	if !ok || e.ContentReference != "#Questionnaire.item" {
		t.Fatalf("Questionnaire.item.item = %+v", e)
	}
	if got := len(Children("Questionnaire.item.item")); got == 0 || got != len(Children("Questionnaire.item")) {
		t.Errorf("Children(Questionnaire.item.item) has %d elements", got)
	}
	if Children("Questionnaire.item.item.item") == nil {
		t.Error("nested content reference did not resolve")
	}
}

func TestTypes(t *testing.T) {
	for _, tc := range []struct{ typ, kind, base string }{
		{"Patient", "resource", "DomainResource"},
		{"DomainResource", "resource", "Resource"},
		{"Resource", "resource", ""},
		{"Bundle", "resource", "Resource"},
		{"Age", "complex-type", "Quantity"},
		{"Patient.contact", "backbone", "BackboneElement"},
		{"Timing.repeat", "backbone", "Element"},
		{"positiveInt", "primitive-type", "integer"},
		{"xhtml", "primitive-type", "Element"},
	} {
		if k, b := Kind(tc.typ), BaseType(tc.typ); k != tc.kind || b != tc.base {
			t.Errorf("%s: kind %q base %q, want %q %q", tc.typ, k, b, tc.kind, tc.base)
		}
	}
	for _, p := range []string{"boolean", "integer", "string", "decimal", "uri", "url", "canonical", "base64Binary", "instant",
		"date", "dateTime", "time", "code", "oid", "id", "markdown", "unsignedInt", "positiveInt", "uuid", "xhtml"} {
		if !IsPrimitive(p) {
			t.Errorf("IsPrimitive(%q) = false", p)
		}
		if PrimitiveRegex(p) == "" && p != "xhtml" {
			t.Errorf("PrimitiveRegex(%q) is empty", p)
		}
	}
	if IsPrimitive("Quantity") || IsPrimitive(SystemString) {
		t.Error("IsPrimitive accepts a complex or System type")
	}
	if got := PrimitiveRegex("id"); got != `[A-Za-z0-9\-\.]{1,64}` {
		t.Errorf("PrimitiveRegex(id) = %q", got)
	}
}

func TestSearchParams(t *testing.T) {
	p, ok := SearchParam("Observation", "code")
	if !ok || p.Type != "token" || !strings.Contains(p.Expression, "Observation.code") {
		t.Errorf("Observation code = %+v, %v", p, ok)
	}
	if got := p.ExpressionFor("Observation"); got != "Observation.code" {
		t.Errorf("ExpressionFor(Observation) = %q", got)
	}
	p, ok = SearchParam("Observation", "subject")
	if !ok || p.Type != "reference" || !slices.Contains(p.Targets, "Patient") || !slices.Contains(p.Targets, "Group") {
		t.Errorf("Observation subject = %+v, %v", p, ok)
	}
	for _, code := range []string{"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source", "_text", "_content", "_query", "_filter"} {
		if _, ok := SearchParam("Patient", code); !ok {
			t.Errorf("Patient has no %s", code)
		}
	}
	if _, ok := SearchParam("Bundle", "_text"); ok {
		t.Error("Bundle (not a DomainResource) has _text")
	}
	if _, ok := SearchParam("Bundle", "_id"); !ok {
		t.Error("Bundle has no _id")
	}
	if _, ok := SearchParam("Nope", "_id"); ok {
		t.Error("unknown type has _id")
	}
	p, ok = SearchParamByURL("http://hl7.org/fhir/SearchParameter/Observation-code-value-quantity")
	if !ok || p.Type != "composite" || len(p.Components) != 2 {
		t.Errorf("code-value-quantity = %+v, %v", p, ok)
	}
	p, _ = SearchParam("Observation", "value-quantity")
	if got := p.ExpressionFor("Observation"); !strings.HasPrefix(got, "(Observation.value as Quantity)") {
		t.Errorf("value-quantity ExpressionFor = %q", got)
	}
	ps := SearchParams("Patient")
	if !slices.IsSortedFunc(ps, func(a, b SearchParameter) int { return strings.Compare(a.Name, b.Name) }) || len(ps) < 30 {
		t.Errorf("SearchParams(Patient): %d, sorted %v", len(ps), ps)
	}
	if p, ok := SearchParam("Patient", "birthdate"); !ok || p.Type != "date" || p.ExpressionFor("Patient") != "Patient.birthDate" {
		t.Errorf("Patient birthdate = %+v", p)
	}
}

func TestSplitUnion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"A.b", []string{"A.b"}},
		{"A.b | C.d", []string{"A.b", "C.d"}},
		{"A.where(x = 'a|b') | (C.d | E.f)", []string{"A.where(x = 'a|b')", "(C.d | E.f)"}},
	} {
		if got := SplitUnion(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("SplitUnion(%q) = %q", tc.in, got)
		}
	}
}

func TestCompartments(t *testing.T) {
	got := CompartmentParams("Patient", "Observation")
	if !slices.Contains(got, "subject") || !slices.Contains(got, "performer") {
		t.Errorf("Patient/Observation = %v", got)
	}
	if got := CompartmentParams("Patient", "Patient"); !slices.Contains(got, "link") {
		t.Errorf("Patient/Patient = %v", got)
	}
	if got := CompartmentParams("Encounter", "Encounter"); !slices.Equal(got, []string{"{def}"}) {
		t.Errorf("Encounter/Encounter = %v", got)
	}
	if InCompartment("Patient", "ValueSet") {
		t.Error("ValueSet in Patient compartment")
	}
}

// TestGenerated checks that zz_generated.go is what the generator makes
// from the package today.
func TestGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	if _, err := fhirpkg.Dir(); err != nil {
		t.Skipf("FHIR package unavailable: %v", err)
	}
	out := filepath.Join(t.TempDir(), "zz.go")
	cmd := exec.Command("go", "run", "./gen", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("zz_generated.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("zz_generated.go is stale: run go generate ./internal/fhir/spec")
	}
}

func TestRules(t *testing.T) {
	if b, ok := ElementBinding("Patient.gender"); !ok || b.Strength != "required" || !strings.HasPrefix(b.ValueSet, "http://hl7.org/fhir/ValueSet/administrative-gender") {
		t.Errorf("Patient.gender binding = %+v, %v", b, ok)
	}
	if b, ok := ElementBinding("Observation.value"); ok {
		t.Errorf("Observation.value has binding %+v", b)
	}
	if got := ReferenceTargets("Observation.subject"); !slices.Contains(got, "Patient") || !slices.Contains(got, "Group") || slices.Contains(got, "Practitioner") {
		t.Errorf("Observation.subject targets = %v", got)
	}
	if got := ReferenceTargets("Annotation.author"); !slices.Contains(got, "Practitioner") {
		t.Errorf("Annotation.author targets = %v", got)
	}
	keys := func(path string) []string {
		var out []string
		for _, c := range Constraints(path) {
			out = append(out, c.Key)
		}
		return out
	}
	for path, want := range map[string]string{"Period": "per-1", "DomainResource": "dom-2", "Element": "ele-1", "Patient.contact": "pat-1", "Observation": "obs-6"} {
		if !slices.Contains(keys(path), want) {
			t.Errorf("Constraints(%s) = %v, want %s", path, keys(path), want)
		}
	}
	if got := keys("Observation"); slices.Contains(got, "dom-2") {
		t.Errorf("Observation repeats inherited constraints: %v", got)
	}
	if n := len(AllConstraints()); n < 200 {
		t.Errorf("%d constraints", n)
	}
}
