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

var _ = strings.Contains
