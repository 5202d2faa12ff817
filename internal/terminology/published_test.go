package terminology

import (
	"errors"
	"strings"
	"testing"
)

const (
	sct        = "http://snomed.info/sct"
	routeCodes = "http://hl7.org/fhir/ValueSet/route-codes"
)

// TestPublishedExpand covers value sets over code systems the core
// package does not hold, expanded from the expansions the R4 publication
// carries for them.
func TestPublishedExpand(t *testing.T) {
	for _, tc := range []struct {
		name, url, filter string
		offset, count     int
		total             int
		first             string // code of the first code of the page
	}{
		// SNOMED CT, is-a 284009009 (route of administration).
		{"snomed", routeCodes, "", 0, -1, 150, "6064005"},
		{"snomed filter", routeCodes, "oral use", 0, -1, 1, "26643006"},
		{"snomed filter paged", routeCodes, "intra", 2, 3, 72, ""},
		{"snomed count 0", routeCodes, "", 0, 0, 150, ""},
		// The whole of a code system the core package has without content.
		{"not-present filter", "http://hl7.org/fhir/ValueSet/service-category", "mental", 0, -1, 1, "22"},
		// CVX and the Australian vaccine codes.
		{"cvx", "http://hl7.org/fhir/ValueSet/vaccine-code", "", 0, 1, 268, "143"},
		// A core code system plus SNOMED CT: the core part alone
		// cannot be answered, so all of it comes from the publication.
		{"mixed", "http://hl7.org/fhir/ValueSet/practitioner-role", "", 0, 1, 500, "doctor"},
		// service-type is in the core package with content not-present.
		{"not-present system", "http://hl7.org/fhir/ValueSet/service-type", "", 0, 2, 596, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Expand(tc.url, tc.filter, tc.offset, tc.count)
			if err != nil {
				t.Fatal(err)
			}
			if e.Total != tc.total {
				t.Errorf("total %d, want %d", e.Total, tc.total)
			}
			want := tc.count
			if want < 0 || want > tc.total-tc.offset {
				want = tc.total - tc.offset
			}
			if len(e.Contains) != want {
				t.Errorf("%d codes, want %d", len(e.Contains), want)
			}
			if tc.first != "" && (len(e.Contains) == 0 || e.Contains[0].Code != tc.first) {
				t.Errorf("first code %v, want %s", e.Contains, tc.first)
			}
			for _, c := range e.Contains {
				if tc.filter != "" && !strings.Contains(strings.ToLower(c.Display+" "+c.Code), tc.filter) {
					t.Errorf("%s %q does not match filter %q", c.Code, c.Display, tc.filter)
				}
			}
			p := e.Precomputed
			if p == nil || p.Source != "hl7.fhir.r4.expansions#4.0.1" || !strings.HasPrefix(p.Identifier, "urn:uuid:") || p.Timestamp == "" {
				t.Errorf("Precomputed = %+v", p)
			}
		})
	}
}

func TestPublishedValidateCode(t *testing.T) {
	for _, tc := range []struct {
		name, url, system, code, display string
		valid                            bool
	}{
		{"in", routeCodes, sct, "26643006", "", true},
		{"in, display", routeCodes, sct, "26643006", "oral use", true},
		{"in, wrong display", routeCodes, sct, "26643006", "Rectal use", false},
		{"in, no system", routeCodes, "", "26643006", "", true},
		// Myocardial infarction: SNOMED CT, but not a route.
		{"out", routeCodes, sct, "22298006", "", false},
		{"other system", routeCodes, "http://loinc.org", "26643006", "", false},
		{"cvx", "http://hl7.org/fhir/ValueSet/vaccine-code", "http://hl7.org/fhir/sid/cvx", "140", "", true},
		{"not cvx", "http://hl7.org/fhir/ValueSet/vaccine-code", "http://hl7.org/fhir/sid/cvx", "22298006", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ValidateCode(tc.url, tc.system, tc.code, tc.display)
			if err != nil {
				t.Fatal(err)
			}
			if res.Valid != tc.valid {
				t.Errorf("%+v, want valid %v", res, tc.valid)
			}
			if !res.Valid && !strings.Contains(res.Message, "hl7.fhir.r4.expansions#4.0.1") && tc.display == "" {
				t.Errorf("message %q does not name the published expansion", res.Message)
			}
		})
	}
}

// TestPublishedFailClosed checks the value sets whose published
// expansion is truncated, or whose definition was replaced, still fail.
func TestPublishedFailClosed(t *testing.T) {
	for _, url := range []string{
		// Marked too costly: the first 1000 of many more codes.
		"http://hl7.org/fhir/ValueSet/clinical-findings",
		"http://hl7.org/fhir/ValueSet/observation-codes",
		// total 1001, but cut at 1000 codes of the is-a filter.
		"http://hl7.org/fhir/ValueSet/condition-code",
		// An empty published expansion.
		"http://hl7.org/fhir/ValueSet/care-team-category",
		// Known to lack ISO 4217 codes.
		"http://hl7.org/fhir/ValueSet/currencies",
	} {
		if _, err := Expand(url, "", 0, 10); !errors.Is(err, ErrUnknownSystem) {
			t.Errorf("Expand(%s) error = %v; want ErrUnknownSystem", url, err)
		}
		if _, err := ValidateCode(url, sct, "22298006", ""); !errors.Is(err, ErrUnknownSystem) {
			t.Errorf("ValidateCode(%s) error = %v; want ErrUnknownSystem", url, err)
		}
	}
	// A stored value set with the url of a core one replaces it, and
	// the published expansion belonged to the core definition.
	r := New()
	if err := r.Add([]byte(`{"resourceType":"ValueSet","url":"` + routeCodes + `","compose":{"include":[{"system":"` + sct + `","filter":[{"property":"concept","op":"is-a","value":"26643006"}]}]}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Expand(routeCodes, "", 0, 10); !errors.Is(err, ErrExternalSystem) {
		t.Errorf("replaced route-codes: %v; want ErrExternalSystem", err)
	}
	r.Remove(routeCodes)
	if e, err := r.Expand(routeCodes, "", 0, 0); err != nil || e.Total != 150 || e.Precomputed == nil {
		t.Errorf("after Remove: %+v, %v", e, err)
	}
}

// TestPublishedImported checks a value set that imports one answered
// from its published expansion is computed as usual.
func TestPublishedImported(t *testing.T) {
	// consent-content-class imports formatcodes (IHE format codes,
	// not in the core package) and adds resource-types.
	e, err := Expand("http://hl7.org/fhir/ValueSet/consent-content-class", "", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if e.Precomputed != nil {
		t.Error("computed from its definition, yet marked precomputed")
	}
	var ihe, fhir int
	for _, c := range e.Contains {
		switch c.System {
		case "http://ihe.net/fhir/ValueSet/IHE.FormatCode.codesystem":
			ihe++
		case "http://hl7.org/fhir/resource-types":
			fhir++
		}
	}
	if ihe != 74 || fhir == 0 {
		t.Errorf("%d IHE format codes and %d resource types; want 74 and some", ihe, fhir)
	}
}

// TestPublishedOnlyWhereNeeded checks the tables carry a published
// expansion only for value sets the definitions cannot expand, so none
// is dead weight and none shadows a computed expansion.
func TestPublishedOnlyWhereNeeded(t *testing.T) {
	r := New()
	var n, codes int
	for url, vs := range r.sets {
		if vs.published == nil {
			continue
		}
		n++
		codes += len(vs.published.codes)
		if _, err := r.compose(vs, map[string]bool{url: true}); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s carries a published expansion, but its definition expands (%v)", url, err)
		}
		if len(vs.published.codes) == 0 || len(vs.published.codes) >= 1000 {
			t.Errorf("%s: %d published codes", url, len(vs.published.codes))
		}
	}
	if n < 20 {
		t.Errorf("%d value sets carry a published expansion; want the 25 of the package", n)
	}
	t.Logf("%d value sets carry %d published codes", n, codes)
}
