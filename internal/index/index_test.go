package index

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/searchparam"
)

func indexJSON(t *testing.T, body string) *Rows {
	t.Helper()
	rows, err := New(searchparam.R4(), "https://example.nhs.uk/fhir").Index([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func strs(rows *Rows, param string) []string {
	var out []string
	for _, r := range rows.Strings {
		if r.Param == param {
			out = append(out, r.Norm)
		}
	}
	return out
}

func TestPatient(t *testing.T) {
	rows := indexJSON(t, `{"resourceType":"Patient","id":"p1",
		"meta":{"lastUpdated":"2024-01-02T03:04:05.123456Z","tag":[{"system":"http://example.org/tags","code":"t1"}],"profile":["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"]},
		"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Zoë &amp; family</div>"},
		"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000018","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"NH"}]}}],
		"name":[{"family":"Smith","given":["Zoë","Ann"]}],
		"telecom":[{"system":"phone","value":"0113 496 0000"}],
		"gender":"female","birthDate":"1974-12",
		"address":[{"line":["1 High Street"],"city":"Leeds","postalCode":"LS1 1AA"}],
		"managingOrganization":{"reference":"Organization/o1"},
		"generalPractitioner":[{"identifier":{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"A81001"}}]}`)
	if got := strs(rows, "given"); !slices.Equal(got, []string{"zoe", "ann"}) {
		t.Errorf("given = %v", got)
	}
	if got := strs(rows, "name"); !slices.Contains(got, "smith") || !slices.Contains(got, "zoe ann smith") {
		t.Errorf("name = %v", got)
	}
	if got := strs(rows, "address"); !slices.Contains(got, "leeds") || !slices.Contains(got, "ls1 1aa") {
		t.Errorf("address = %v", got)
	}
	want := map[string]TokenRow{
		"gender":     {Param: "gender", Code: "female"},
		"identifier": {Param: "identifier", System: "https://fhir.nhs.uk/Id/nhs-number", Code: "9990000018", TypeSystem: "http://terminology.hl7.org/CodeSystem/v2-0203", TypeCode: "NH"},
		"phone":      {Param: "phone", System: "phone", Code: "0113 496 0000"},
		"_id":        {Param: "_id", Code: "p1"},
		"_tag":       {Param: "_tag", System: "http://example.org/tags", Code: "t1"},
	}
	for _, w := range want {
		found := false
		for _, r := range rows.Tokens {
			if r == w {
				found = true
			}
		}
		if !found {
			t.Errorf("no token row %+v", w)
		}
	}
	var birth, lu *DateRow
	for i, d := range rows.Dates {
		switch d.Param {
		case "birthdate":
			birth = &rows.Dates[i]
		case "_lastUpdated":
			lu = &rows.Dates[i]
		}
	}
	dec, _ := searchparam.ParseDate("1974-12")
	if birth == nil || birth.Low != dec.Low || birth.High != dec.High {
		t.Errorf("birthdate %+v", birth)
	}
	if lu == nil || lu.High-lu.Low != 1 {
		t.Errorf("_lastUpdated %+v", lu)
	}
	var org, gp bool
	for _, r := range rows.Refs {
		org = org || (r.Param == "organization" && r.TargetType == "Organization" && r.TargetID == "o1")
		gp = gp || (r.Param == "general-practitioner" && r.IdentValue == "A81001")
	}
	if !org || !gp {
		t.Errorf("refs %+v", rows.Refs)
	}
	if !slices.Equal(rows.Compartments, []string{"p1"}) {
		t.Errorf("compartments %v", rows.Compartments)
	}
	if rows.Text != "zoe & family" {
		t.Errorf("text %q", rows.Text)
	}
	if u := rows.URIs; !slices.Contains(u, URIRow{"_profile", "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"}) {
		t.Errorf("uris %v", u)
	}
}

func TestObservation(t *testing.T) {
	rows := indexJSON(t, `{"resourceType":"Observation","id":"o1","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel"}],"text":"BP"},
		"subject":{"reference":"https://example.nhs.uk/fhir/Patient/p1"},
		"performer":[{"reference":"Practitioner/x"},{"reference":"Patient/p2/_history/3"}],
		"effectivePeriod":{"start":"2020-01-01T10:00:00Z"},
		"valueQuantity":{"value":5.40,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"},
		"component":[
			{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":107,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
			{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":60,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`)
	var q *QuantityRow
	for i := range rows.Quantities {
		if rows.Quantities[i].Param == "value-quantity" {
			q = &rows.Quantities[i]
		}
	}
	if q == nil || q.Value != 5.4 || q.CanonCode != "g" || q.CanonValue != 0.0054 {
		t.Fatalf("value-quantity %+v", q)
	}
	var period bool
	for _, d := range rows.Dates {
		if d.Param == "date" && d.High == searchparam.MaxInt64 {
			period = true
		}
	}
	if !period {
		t.Errorf("open period not indexed: %+v", rows.Dates)
	}
	// component-code-value-quantity pairs each component's code with its
	// own value only
	n := 0
	for _, c := range rows.Composites {
		if c.Param != "component-code-value-quantity" {
			continue
		}
		n++
		code, v := c.Components[0].Token.Code, c.Components[1].Quantity.Value
		if (code == "8480-6") != (v == 107) {
			t.Errorf("crossed composite %+v", c)
		}
	}
	if n != 2 {
		t.Errorf("%d component composites", n)
	}
	if !slices.Equal(rows.Compartments, []string{"p1", "p2"}) {
		t.Errorf("compartments %v", rows.Compartments)
	}
	var text bool
	for _, r := range rows.Tokens {
		text = text || (r.Param == "code" && r.Text == "bp")
	}
	if !text {
		t.Errorf("code text not indexed")
	}
}

// TestSynthea indexes every resource of the Synthea bundles: no
// expression may fail, and the common parameters must produce rows.
func TestSynthea(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/data/synthea-r4/*.json")
	if len(files) == 0 {
		files, _ = filepath.Glob("/work/shared/data/synthea-r4/*.json")
	}
	if len(files) == 0 {
		t.Skip("no Synthea data")
	}
	if testing.Short() && len(files) > 3 {
		files = files[:3]
	}
	ix := New(searchparam.R4(), "")
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var bundle struct {
			Entry []struct {
				FullURL  string
				Resource json.RawMessage
			}
		}
		if err := json.Unmarshal(b, &bundle); err != nil {
			t.Fatal(err)
		}
		// A transaction's urn:uuid references become Type/id when it is
		// stored; do the same here.
		var pairs []string
		for _, e := range bundle.Entry {
			var h struct{ ResourceType, ID string }
			json.Unmarshal(e.Resource, &h)
			pairs = append(pairs, `"`+e.FullURL+`"`, `"`+h.ResourceType+"/"+h.ID+`"`)
		}
		b = []byte(strings.NewReplacer(pairs...).Replace(string(b)))
		if err := json.Unmarshal(b, &bundle); err != nil {
			t.Fatal(err)
		}
		for _, e := range bundle.Entry {
			rows, err := ix.Index(e.Resource)
			if err != nil {
				t.Fatalf("%s: %v", filepath.Base(f), err)
			}
			n++
			if rows.Type == "Observation" && len(rows.Compartments) == 0 {
				t.Errorf("Observation %s in no patient compartment", rows.ID)
			}
		}
	}
	t.Logf("indexed %d resources", n)
}

// TestReferencePresence: a reference element that names nothing
// searchable (contained, display only, identifier without a value) gets
// one presence row, so :missing=false finds it; one that names something
// gets only its value rows; an absent element gets none.
func TestReferencePresence(t *testing.T) {
	for _, c := range []struct {
		name, subject string
		want          []RefRow
	}{
		{"contained", `"subject":{"reference":"#newborn"},"contained":[{"resourceType":"Patient","id":"newborn"}]`, []RefRow{{Param: "subject"}}},
		{"display only", `"subject":{"display":"Oyster"}`, []RefRow{{Param: "subject"}}},
		{"identifier without value", `"subject":{"identifier":{"system":"urn:x"}}`, []RefRow{{Param: "subject"}}},
		{"literal", `"subject":{"reference":"Patient/p1","display":"P"}`, []RefRow{{Param: "subject", TargetType: "Patient", TargetID: "p1"}}},
		{"absent", `"status":"final"`, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows := indexJSON(t, `{"resourceType":"Observation","id":"o1","code":{"text":"x"},`+c.subject+`}`)
			var got []RefRow
			for _, r := range rows.Refs {
				if r.Param == "subject" {
					got = append(got, r)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("subject rows %+v, want %+v", got, c.want)
			}
		})
	}
}
