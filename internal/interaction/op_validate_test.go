package interaction_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// call sends one request to h, as `junction serve` composes the stack,
// and returns the status and body.
func call(t *testing.T, h http.Handler, method, path, body string) (int, string) {
	t.Helper()
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, "http://junction.test"+path, nil)
	} else {
		r = httptest.NewRequest(method, "http://junction.test"+path, bytes.NewReader([]byte(body)))
		r.Header.Set("Content-Type", "application/fhir+json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// issues decodes an OperationOutcome body into its issues.
func issues(t *testing.T, body string) []outcomeIssue {
	t.Helper()
	var oo struct {
		ResourceType string
		Issue        []outcomeIssue
	}
	if err := json.Unmarshal([]byte(body), &oo); err != nil || oo.ResourceType != "OperationOutcome" {
		t.Fatalf("not an OperationOutcome (%v): %s", err, body)
	}
	return oo.Issue
}

type outcomeIssue struct {
	Severity, Code, Diagnostics string
	Expression                  []string
}

// TestWrongTypeArticle checks the article before a resource type that
// starts with a vowel in the messages that name the type of the body.
func TestWrongTypeArticle(t *testing.T) {
	h, _ := newSQLiteHandler(t)
	for _, c := range []struct{ method, path, body, want string }{
		{"PUT", "/fhir/Patient/a1", `{"resourceType":"Observation","id":"a1"}`, "The body is an Observation but the URL names Patient"},
		{"POST", "/fhir/Observation", `{"resourceType":"Patient"}`, "The body is a Patient but the URL names Observation"},
		{"POST", "/fhir/Patient/$validate", `{"resourceType":"Encounter"}`, "The body is an Encounter but the URL names Patient"},
		{"POST", "/fhir/Observation", "", "An Observation resource is required in the request body"},
		{"POST", "/fhir/Patient", "", "A Patient resource is required in the request body"},
	} {
		status, body := call(t, h, c.method, c.path, c.body)
		if status != 400 {
			t.Errorf("%s %s: status %d, want 400: %s", c.method, c.path, status, body)
			continue
		}
		if is := issues(t, body); len(is) == 0 || is[0].Diagnostics != c.want {
			t.Errorf("%s %s: %s, want diagnostics %q", c.method, c.path, body, c.want)
		}
	}
}

// validateCase is one $validate request and what its outcome must hold:
// the status, and for 200 whether some issue of severity error exists
// and substrings the body must contain.
type validateCase struct {
	name, method, path, body string
	status                   int
	errors                   bool     // some issue has severity error
	contains                 []string // substrings of the body
}

func runValidateCases(t *testing.T, h http.Handler, cases []validateCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := call(t, h, c.method, c.path, c.body)
			if status != c.status {
				t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.path, status, c.status, body)
			}
			is := issues(t, body)
			hasError := false
			for _, i := range is {
				hasError = hasError || i.Severity == "error" || i.Severity == "fatal"
			}
			if status == 200 && hasError != c.errors {
				t.Errorf("errors = %v, want %v: %s", hasError, c.errors, body)
			}
			for _, s := range c.contains {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q: %s", s, body)
				}
			}
		})
	}
}

// TestValidateParameters checks $validate of Parameters resources (R4
// Resource-validate): posted to Parameters/$validate, a Parameters body
// is the resource to validate unless it is $validate's own input, a
// resource parameter holding a Parameters resource.
func TestValidateParameters(t *testing.T) {
	h, _ := newSQLiteHandler(t)
	runValidateCases(t, h, []validateCase{
		{name: "valid Parameters", method: "POST", path: "/fhir/Parameters/$validate",
			body: `{"resourceType":"Parameters","parameter":[{"name":"x","valueString":"y"}]}`, status: 200},
		{name: "Parameters holding a Patient", method: "POST", path: "/fhir/Parameters/$validate",
			body: `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","gender":"female"}}]}`, status: 200},
		{name: "Parameters without parameters", method: "POST", path: "/fhir/Parameters/$validate",
			body: `{"resourceType":"Parameters","id":"p"}`, status: 200},
		{name: "Parameters missing a name", method: "POST", path: "/fhir/Parameters/$validate",
			body: `{"resourceType":"Parameters","parameter":[{"valueString":"y"}]}`, status: 200, errors: true, contains: []string{`Parameters.parameter[0].name`}},
		{name: "Parameters with a wrong element", method: "POST", path: "/fhir/Parameters/$validate",
			body: `{"resourceType":"Parameters","parameter":[{"name":"x","valueFoo":"y"}]}`, status: 200, errors: true},
		{name: "input holding a Parameters", method: "POST", path: "/fhir/Parameters/$validate",
			body:   `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Parameters","parameter":[{"valueString":"y"}]}}]}`,
			status: 200, errors: true, contains: []string{`Parameters.parameter[0].name`}},
		{name: "Patient input", method: "POST", path: "/fhir/Patient/$validate",
			body: `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","gender":"female"}}]}`, status: 200},
		{name: "Patient input without a resource", method: "POST", path: "/fhir/Patient/$validate",
			body: `{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"create"}]}`, status: 400, contains: []string{"needs a Patient"}},
		{name: "two resources", method: "POST", path: "/fhir/Patient/$validate",
			body: `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient"}},{"name":"resource","resource":{"resourceType":"Patient"}}]}`, status: 400},
	})
}

// TestValidatePeriodPrecision checks per-1 (R4 Period: start <= end)
// where start and end have different precisions. FHIRPath comparison of
// values equal up to the coarser precision is empty
// (http://hl7.org/fhirpath/N1/#comparison), so the invariant does not
// evaluate to true, and the HL7 reference validator (FHIRPathEngine
// convertToBoolean: empty is false) reports it as failed. Period's own
// definition would accept a start at 10:00 on the end day ("the end
// value includes any matching date/time", R4 datatypes.html#Period);
// the validator does not, and this server follows the validator.
func TestValidatePeriodPrecision(t *testing.T) {
	h, _ := newSQLiteHandler(t)
	period := func(start, end string) string {
		return `{"resourceType":"Patient","name":[{"family":"Smith","period":{"start":"` + start + `","end":"` + end + `"}}]}`
	}
	runValidateCases(t, h, []validateCase{
		{name: "start after end, finer start", method: "POST", path: "/fhir/Patient/$validate", body: period("2020-01-02T10:00:00Z", "2020-01-01"), status: 200, errors: true, contains: []string{"per-1"}},
		{name: "start after end, finer end", method: "POST", path: "/fhir/Patient/$validate", body: period("2020-02", "2020-01-31T23:00:00Z"), status: 200, errors: true, contains: []string{"per-1"}},
		{name: "same day, start finer: undeterminable", method: "POST", path: "/fhir/Patient/$validate", body: period("2020-01-01T10:00:00Z", "2020-01-01"), status: 200, errors: true, contains: []string{"per-1"}},
		{name: "same day, end finer: undeterminable", method: "POST", path: "/fhir/Patient/$validate", body: period("2020-01-01", "2020-01-01T10:00:00Z"), status: 200, errors: true, contains: []string{"per-1"}},
		{name: "year against day: undeterminable", method: "POST", path: "/fhir/Patient/$validate", body: period("2020", "2020-06-01"), status: 200, errors: true, contains: []string{"per-1"}},
		{name: "before, different precisions", method: "POST", path: "/fhir/Patient/$validate", body: period("2019-12-31T10:00:00Z", "2020-01-01"), status: 200},
		{name: "before, year and day", method: "POST", path: "/fhir/Patient/$validate", body: period("2019", "2020-06-01"), status: 200},
		{name: "equal", method: "POST", path: "/fhir/Patient/$validate", body: period("2020-01-01", "2020-01-01"), status: 200},
		{name: "write refuses it too", method: "POST", path: "/fhir/Patient", body: period("2020-01-01T10:00:00Z", "2020-01-01"), status: 422, contains: []string{"per-1"}},
	})
}

// TestValidateAppliesWriteRules checks that $validate finds what a write
// refuses: the NHS number rules are business rules beside the base
// validation.
func TestValidateAppliesWriteRules(t *testing.T) {
	h, _ := newSQLiteHandler(t)
	bad := `{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765918"}]}`
	good := `{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`
	runValidateCases(t, h, []validateCase{
		{name: "write refuses a wrong check digit", method: "POST", path: "/fhir/Patient", body: bad, status: 422, contains: []string{"Patient.identifier[0].value"}},
		{name: "$validate reports it", method: "POST", path: "/fhir/Patient/$validate", body: bad, status: 200, errors: true, contains: []string{"Patient.identifier[0].value"}},
		{name: "$validate as create reports it", method: "POST", path: "/fhir/Patient/$validate?mode=create", body: bad, status: 200, errors: true, contains: []string{"Patient.identifier[0].value"}},
		{name: "valid number", method: "POST", path: "/fhir/Patient/$validate", body: good, status: 200},
	})
}

// TestValidateModes checks the mode parameter of $validate (R4
// Resource-validate and value set resource-validation-mode).
func TestValidateModes(t *testing.T) {
	h, _ := newSQLiteHandler(t)
	for _, seed := range []struct{ method, path, body string }{
		{"PUT", "/fhir/Patient/m1", `{"resourceType":"Patient","id":"m1","gender":"female"}`},
		{"PUT", "/fhir/Patient/gone1", `{"resourceType":"Patient","id":"gone1"}`},
		{"DELETE", "/fhir/Patient/gone1", ""},
	} {
		if status, body := call(t, h, seed.method, seed.path, seed.body); status >= 300 {
			t.Fatalf("%s %s: %d %s", seed.method, seed.path, status, body)
		}
	}
	params := func(mode, resource string) string {
		p := `{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"` + mode + `"}`
		if resource != "" {
			p += `,{"name":"resource","resource":` + resource + `}`
		}
		return p + `]}`
	}
	runValidateCases(t, h, []validateCase{
		{name: "create without id", method: "POST", path: "/fhir/Patient/$validate?mode=create", body: `{"resourceType":"Patient","gender":"male"}`, status: 200},
		{name: "create with id", method: "POST", path: "/fhir/Patient/$validate", body: params("create", `{"resourceType":"Patient","id":"mine"}`), status: 200, contains: []string{"A create ignores the id"}},
		{name: "create at instance level", method: "POST", path: "/fhir/Patient/m1/$validate?mode=create", body: `{"resourceType":"Patient"}`, status: 400},
		{name: "update matching id", method: "POST", path: "/fhir/Patient/m1/$validate", body: params("update", `{"resourceType":"Patient","id":"m1"}`), status: 200},
		{name: "update of a new id", method: "POST", path: "/fhir/Patient/new1/$validate?mode=update", body: `{"resourceType":"Patient","id":"new1"}`, status: 200},
		{name: "update without id", method: "POST", path: "/fhir/Patient/m1/$validate?mode=update", body: `{"resourceType":"Patient"}`, status: 200, errors: true, contains: []string{`"Patient.id"`}},
		{name: "update with another id", method: "POST", path: "/fhir/Patient/m1/$validate?mode=update", body: `{"resourceType":"Patient","id":"m2"}`, status: 200, errors: true, contains: []string{`"Patient.id"`, "differs"}},
		{name: "update checks content too", method: "POST", path: "/fhir/Patient/m1/$validate?mode=update", body: `{"resourceType":"Patient","id":"m1","gender":"man"}`, status: 200, errors: true, contains: []string{"Patient.gender"}},
		{name: "update at type level", method: "POST", path: "/fhir/Patient/$validate?mode=update", body: `{"resourceType":"Patient","id":"m1"}`, status: 400},
		{name: "update without content", method: "POST", path: "/fhir/Patient/m1/$validate?mode=update", status: 400},
		{name: "delete existing", method: "POST", path: "/fhir/Patient/m1/$validate?mode=delete", status: 200, contains: []string{"may be deleted"}},
		{name: "delete ignores the content", method: "POST", path: "/fhir/Patient/m1/$validate", body: params("delete", `{"resourceType":"Patient","gender":"man"}`), status: 200, contains: []string{"may be deleted"}},
		{name: "delete missing", method: "POST", path: "/fhir/Patient/nobody/$validate?mode=delete", status: 404},
		{name: "delete deleted", method: "POST", path: "/fhir/Patient/gone1/$validate?mode=delete", status: 410},
		{name: "delete at type level", method: "POST", path: "/fhir/Patient/$validate?mode=delete", status: 400},
		{name: "profile needs a profile", method: "GET", path: "/fhir/Patient/m1/$validate?mode=profile", status: 400},
		{name: "profile refuses content", method: "POST", path: "/fhir/Patient/m1/$validate?mode=profile&profile=http://example.org/p", body: `{"resourceType":"Patient","id":"m1"}`, status: 400},
		{name: "profile the server lacks", method: "GET", path: "/fhir/Patient/m1/$validate?mode=profile&profile=http://example.org/p", status: 200, errors: true, contains: []string{"not-found"}},
		{name: "unknown mode", method: "POST", path: "/fhir/Patient/$validate?mode=upsert", body: `{"resourceType":"Patient"}`, status: 400},
	})
}
