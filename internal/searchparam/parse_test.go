package searchparam

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/fhir"
)

func parse(t *testing.T, typ, qs string, opt Options) (*Query, error) {
	t.Helper()
	params, err := ParseQueryString(qs)
	if err != nil {
		return nil, err
	}
	return Parse(testRegistry(), typ, params, opt)
}

func mustParse(t *testing.T, typ, qs string) *Query {
	t.Helper()
	q, err := parse(t, typ, qs, Options{})
	if err != nil {
		t.Fatalf("Parse(%s?%s): %v", typ, qs, err)
	}
	return q
}

func TestParseKinds(t *testing.T) {
	q := mustParse(t, "Patient", "name=Zo%C3%AB,smith&birthdate=ge1970-01&gender=female&identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018&organization=Organization/1")
	if len(q.Filters) != 5 {
		t.Fatalf("filters = %d", len(q.Filters))
	}
	if v := q.Filters[0].Values; len(v) != 2 || v[0].String != "zoe" || v[1].String != "smith" {
		t.Errorf("name values %+v", v)
	}
	if v := q.Filters[1].Values[0]; v.Prefix != PrefixGe || v.Date.Low != mustTime("1970-01-01T00:00:00Z") {
		t.Errorf("birthdate %+v", v)
	}
	if v := q.Filters[3].Values[0].Token; v.System != "https://fhir.nhs.uk/Id/nhs-number" || v.Code != "9990000018" {
		t.Errorf("identifier %+v", v)
	}
	if v := q.Filters[4].Values[0].Ref; v.Type != "Organization" || v.ID != "1" {
		t.Errorf("organization %+v", v)
	}
	if q.Count != DefaultCount || len(q.Applied) != 5 {
		t.Errorf("count %d applied %d", q.Count, len(q.Applied))
	}

	q = mustParse(t, "Observation", "value-quantity=le5.4|http://unitsofmeasure.org|mg&code-value-quantity=http://loinc.org|8480-6$gt100&date=ap2020")
	if v := q.Filters[0].Values[0]; v.Prefix != PrefixLe || !v.Quantity.Canonical {
		t.Errorf("value-quantity %+v", v)
	}
	if c := q.Filters[1].Values[0].Components; len(c) != 2 || c[0].Token.Code != "8480-6" || c[1].Prefix != PrefixGt || c[1].Quantity.Number.Value != 100 {
		t.Errorf("composite %+v", c)
	}
	if v := q.Filters[2].Values[0]; v.Approx.Low >= v.Date.Low || v.Approx.High <= v.Date.High {
		t.Errorf("ap not widened: %+v", v)
	}

	q = mustParse(t, "RiskAssessment", "probability=gt0.8")
	if v := q.Filters[0].Values[0]; v.Prefix != PrefixGt || v.Number.Value != 0.8 {
		t.Errorf("probability %+v", v)
	}
	q = mustParse(t, "PlanDefinition", "url:below=http://example.org/fhir/")
	if f := q.Filters[0]; f.Modifier != ModBelow || f.Values[0].String != "http://example.org/fhir/" {
		t.Errorf("url %+v", f)
	}
}

func TestParseModifiers(t *testing.T) {
	for _, c := range []struct {
		typ, qs string
		mod     Modifier
		check   func(f *Filter) bool
	}{
		{"Patient", "name:exact=Zoë", ModExact, func(f *Filter) bool { return f.Values[0].String == "Zoë" }},
		{"Patient", "name:contains=OE", ModContains, func(f *Filter) bool { return f.Values[0].String == "oe" }},
		{"Patient", "birthdate:missing=true", ModMissing, func(f *Filter) bool { return f.MissingValue && len(f.Values) == 0 }},
		{"Patient", "gender:missing=false", ModMissing, func(f *Filter) bool { return !f.MissingValue }},
		{"Patient", "gender:not=male", ModNot, func(f *Filter) bool { return f.Values[0].Token.Code == "male" }},
		{"Observation", "code:text=Blood", ModText, func(f *Filter) bool { return f.Values[0].Token.Text == "blood" }},
		{"Patient", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|1", ModOfType, func(f *Filter) bool { return f.Values[0].Token.TypeCode == "MR" }},
		{"Observation", "subject:Patient=123", ModType, func(f *Filter) bool { return f.TargetType == "Patient" && f.Values[0].Ref.Type == "Patient" }},
		{"Observation", "subject:identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018", ModIdentifier, func(f *Filter) bool { return f.Values[0].Ref.Identifier.Code == "9990000018" }},
		{"PlanDefinition", "url:above=http://example.org/fhir/PlanDefinition/x", ModAbove, func(f *Filter) bool { return true }},
	} {
		q, err := parse(t, c.typ, c.qs, Options{})
		if err != nil {
			t.Errorf("%s: %v", c.qs, err)
			continue
		}
		if f := q.Filters[0]; f.Modifier != c.mod || !c.check(f) {
			t.Errorf("%s: %+v", c.qs, f)
		}
	}
}

func TestParseChains(t *testing.T) {
	q := mustParse(t, "Observation", "subject:Patient.name=smith")
	f := q.Filters[0]
	if f.Def.Name != "subject" || f.TargetType != "Patient" || f.Chain == nil || f.Chain.Def.Name != "name" || f.Chain.Values[0].String != "smith" {
		t.Fatalf("chain %+v", f)
	}
	// untyped: every target with the parameter (only Patient has
	// organization)
	q = mustParse(t, "Observation", "patient.organization.name=NHS")
	f = q.Filters[0]
	if f.Chain == nil || f.Chain.Chain == nil || f.Chain.Chain.Types[0] != "Organization" || f.Chain.Chain.Values[0].String != "nhs" {
		t.Fatalf("two-level chain %+v", f)
	}
	q = mustParse(t, "Observation", "performer.name=jones")
	if got := q.Filters[0].Chain.Types; len(got) != 3 {
		t.Errorf("performer.name candidates = %v", got)
	}
	q = mustParse(t, "Patient", "_has:Observation:patient:code=1234-5")
	f = q.Filters[0]
	if f.Has == nil || f.Has.Type != "Observation" || f.Has.Ref.Name != "patient" || f.Has.Filter.Values[0].Token.Code != "1234-5" {
		t.Fatalf("_has %+v", f)
	}
	q = mustParse(t, "Patient", "_has:Observation:patient:_has:AuditEvent:entity:agent=Practitioner/1")
	if h := q.Filters[0].Has.Filter.Has; h == nil || h.Type != "AuditEvent" || h.Filter.Values[0].Ref.ID != "1" {
		t.Fatalf("nested _has %+v", q.Filters[0].Has.Filter)
	}
	q = mustParse(t, "Patient", "_list=42")
	if h := q.Filters[0].Has; h == nil || h.Type != "List" || h.Ref.Name != "item" {
		t.Fatalf("_list %+v", q.Filters[0])
	}
	q = mustParse(t, "Observation", "subject:Patient.name:exact=Smith")
	if q.Filters[0].Chain.Modifier != ModExact || q.Filters[0].Chain.Values[0].String != "Smith" {
		t.Errorf("chain with modifier %+v", q.Filters[0].Chain)
	}
}

func TestParseResultParams(t *testing.T) {
	q := mustParse(t, "Observation", "_sort=-date,code&_count=5000&_total=accurate&_summary=data&_elements=code,status&_include=Observation:subject:Patient&_revinclude:iterate=Observation:patient&_include=*")
	if len(q.Sort) != 2 || !q.Sort[0].Descending || q.Sort[1].Def.Name != "code" {
		t.Errorf("sort %+v", q.Sort)
	}
	if q.Count != MaxCount || q.Total != TotalAccurate || q.Summary != SummaryData || len(q.Elements) != 2 {
		t.Errorf("result params %+v", q)
	}
	// A capped _count: the links say the count used.
	if q.CountAsked != 5000 || !slices.Contains(q.Applied, Param{"_count", "1000"}) {
		t.Errorf("capped count: asked %d, applied %v", q.CountAsked, q.Applied)
	}
	if q := mustParse(t, "Observation", "_count=7"); q.CountAsked != 0 || !slices.Contains(q.Applied, Param{"_count", "7"}) {
		t.Errorf("count 7: asked %d, applied %v", q.CountAsked, q.Applied)
	}
	if len(q.Include) != 2 || q.Include[0].Target != "Patient" || q.Include[1].Source != "*" {
		t.Errorf("include %+v", q.Include)
	}
	if len(q.RevInclude) != 1 || !q.RevInclude[0].Iterate {
		t.Errorf("revinclude %+v", q.RevInclude)
	}
	q = mustParse(t, "Patient", "_count=0&_format=json&_id=a,b&_lastUpdated=gt2020")
	if q.Count != 0 || len(q.Filters) != 2 || q.Filters[0].Values[1].Token.Code != "b" {
		t.Errorf("%+v", q)
	}
	q = mustParse(t, "", "_type=Patient,Practitioner&name=smith")
	if len(q.Types) != 2 || q.Filters[0].Def.Name != "name" {
		t.Errorf("system search %+v", q)
	}
	q = mustParse(t, "", "_lastUpdated=2020")
	if len(q.Types) != 0 || len(q.Filters) != 1 {
		t.Errorf("system search on common parameter %+v", q)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ typ, qs, mention string }{
		{"Patient", "foo=bar", "foo"},
		{"Patient", "name:foo=bar", "name:foo"},
		{"Patient", "birthdate=not-a-date", "birthdate"},
		{"Patient", "birthdate=xx2020", "birthdate"},
		{"Patient", "birthdate:exact=2020", "birthdate:exact"},
		{"Patient", "gender:in=http://hl7.org/fhir/ValueSet/administrative-gender", "gender:in"},
		{"Patient", "gender:below=x", "gender:below"},
		{"Patient", "name:missing=maybe", "name:missing"},
		{"Patient", "organization=Patient/1", "organization"},
		{"Patient", "organization=Organization/%2500", "organization"},
		{"Patient", "_count=-1", "_count"},
		{"Patient", "_count=1&_count=2", "_count"},
		{"Patient", "_total=some", "_total"},
		{"Patient", "_summary=maybe", "_summary"},
		{"Patient", "_sort=foo", "_sort"},
		{"Patient", "_include=Observation:subject", "_include"},
		{"Patient", "_include=Patient:name", "_include"},
		{"Patient", "_contained=true", "_contained"},
		{"Patient", "name.family=x", "name.family"},
		{"Patient", "_has:Observation:code:code=x", "_has:Observation:code:code"},
		{"Patient", "_has:Nope:patient:code=x", "_has:Nope:patient:code"},
		{"Observation", "code-value-quantity=http://loinc.org|8480-6", "code-value-quantity"},
		{"Observation", "value-quantity=5|mg", "value-quantity"},
		{"Observation", "subject.nope=x", "subject.nope"},
		{"Patient", "_list=$current-allergies", "_list"},
		{"Patient", "_type=Observation", "_type"},
		{"Patient", "name=", "name"},
		{"", "name=x", "name"},
		{"", "_type=Nope", "_type"},
		{"Nope", "", "Nope"},
		{"Patient", "_filter=name eq x", "_filter"},
		{"Observation", "subject" + strings.Repeat(".patient", MaxChain+2) + "=x", "subject"},
	} {
		_, err := parse(t, c.typ, c.qs, Options{})
		var fe *fhir.Error
		if !errors.As(err, &fe) || fe.Status != http.StatusBadRequest {
			t.Errorf("%s?%s: err = %v, want a 400 *fhir.Error", c.typ, c.qs, err)
			continue
		}
		if !strings.Contains(fe.Issues[0].Diagnostics, c.mention) {
			t.Errorf("%s?%s: diagnostics %q do not name %q", c.typ, c.qs, fe.Issues[0].Diagnostics, c.mention)
		}
	}
}

func TestParseLenient(t *testing.T) {
	q, err := parse(t, "Patient", "foo=bar&name=x&name:foo=y&_filter=z", Options{Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Ignored) != 3 || len(q.Filters) != 1 || len(q.Applied) != 1 || q.Applied[0].Name != "name" {
		t.Errorf("lenient %+v", q)
	}
	// a malformed value is still an error
	if _, err := parse(t, "Patient", "birthdate=x", Options{Lenient: true}); err == nil {
		t.Error("lenient accepted a malformed date")
	}
}

func TestParseBase(t *testing.T) {
	q, err := parse(t, "Observation", "subject=https://example.nhs.uk/fhir/Patient/9&performer=http://elsewhere.org/fhir/Practitioner/2", Options{Base: "https://example.nhs.uk/fhir", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if r := q.Filters[0].Values[0].Ref; r.Type != "Patient" || r.ID != "9" || r.URL != "" {
		t.Errorf("local absolute %+v", r)
	}
	if r := q.Filters[1].Values[0].Ref; r.URL != "http://elsewhere.org/fhir/Practitioner/2" {
		t.Errorf("remote absolute %+v", r)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"name=Zo%C3%AB,smith&birthdate=ge1970-01",
		"subject:Patient.name:exact=x&_has:Observation:patient:code=a|b",
		"value-quantity=ap5.4|http://unitsofmeasure.org|mg&code-value-quantity=a|b$lt1e2",
		"_sort=-date&_count=10&_include=Observation:subject&_revinclude:iterate=*",
		"date=2013-01-14T10:00:00.123%2B01:00&identifier:of-type=a|b|c",
		"patient.organization.partof.name=x&_list=1&_elements=code",
		"near=51.5074|-0.1278|11.2|km,-17|180&near:missing=false",
	} {
		f.Add("Observation", s)
		f.Add("Patient", s)
		f.Add("Location", s)
	}
	reg := testRegistry()
	f.Fuzz(func(t *testing.T, typ, qs string) {
		params, err := ParseQueryString(qs)
		if err != nil {
			return
		}
		for _, lenient := range []bool{false, true} {
			q, err := Parse(reg, typ, params, Options{Lenient: lenient, Now: time.Unix(0, 0)})
			if err != nil {
				var fe *fhir.Error
				if !errors.As(err, &fe) || fe.Status != http.StatusBadRequest || len(fe.Issues) == 0 {
					t.Fatalf("error %v is not a 400 *fhir.Error", err)
				}
				continue
			}
			if q.Count < 0 || q.Count > MaxCount {
				t.Fatalf("count %d", q.Count)
			}
			for _, f := range q.Filters {
				checkFilter(t, f, 0)
			}
		}
	})
}

func checkFilter(t *testing.T, f *Filter, depth int) {
	if depth > MaxChain+1 {
		t.Fatalf("chain depth %d", depth)
	}
	switch {
	case f.Has != nil:
		checkFilter(t, f.Has.Filter, depth+1)
	case f.Chain != nil:
		if f.Def.Kind != KindReference {
			t.Fatalf("chain through %s", f.Def.Kind)
		}
		checkFilter(t, f.Chain, depth+1)
	case f.Modifier == ModMissing:
		if len(f.Values) != 0 {
			t.Fatal("values on :missing")
		}
	default:
		if f.Def == nil || len(f.Values) == 0 {
			t.Fatalf("leaf without values: %+v", f)
		}
		for _, v := range f.Values {
			if v.Date.Low > v.Date.High {
				t.Fatalf("inverted range %+v", v.Date)
			}
			if n := v.Near; !(n.Latitude >= -90 && n.Latitude <= 90 && n.Longitude >= -180 && n.Longitude <= 180 && n.DistanceKM >= 0 && n.DistanceKM <= NearMaxKM) {
				t.Fatalf("near value out of range %+v", n)
			}
		}
	}
}
