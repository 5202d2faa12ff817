package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func TestParseContext(t *testing.T) {
	bundle := `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"MedicationRequest","id":"d1","subject":{"reference":"Patient/p1"}}}]}`
	cases := []struct {
		name, hook, ctx, err string
	}{
		{"patient-view", "patient-view", `{"userId":"Practitioner/a","patientId":"p1"}`, ""},
		{"patient-view encounter", "patient-view", `{"userId":"PractitionerRole/a","patientId":"p1","encounterId":"e1"}`, ""},
		{"unknown hook", "order-dispatch", `{}`, "not one this server serves"},
		{"no userId", "patient-view", `{"patientId":"p1"}`, "context.userId is required"},
		{"userId a Device", "patient-view", `{"userId":"Device/a","patientId":"p1"}`, "context.userId must be"},
		{"bad patientId", "patient-view", `{"userId":"Practitioner/a","patientId":"p 1"}`, "context.patientId must be"},
		{"encounter-start", "encounter-start", `{"userId":"Practitioner/a","patientId":"p1","encounterId":"e1"}`, ""},
		{"encounter-start no encounter", "encounter-start", `{"userId":"Practitioner/a","patientId":"p1"}`, "context.encounterId is required"},
		{"order-sign", "order-sign", `{"userId":"Practitioner/a","patientId":"p1","draftOrders":` + bundle + `}`, ""},
		{"order-sign other patient", "order-sign", `{"userId":"Practitioner/a","patientId":"p2","draftOrders":` + bundle + `}`, "not Patient/p2"},
		{"order-sign not a Bundle", "order-sign", `{"userId":"Practitioner/a","patientId":"p1","draftOrders":[]}`, "must be a FHIR Bundle"},
		{"order-select", "order-select", `{"userId":"Practitioner/a","patientId":"p1","selections":["MedicationRequest/d1"],"draftOrders":` + bundle + `}`, ""},
		{"order-select unknown selection", "order-select", `{"userId":"Practitioner/a","patientId":"p1","selections":["MedicationRequest/d2"],"draftOrders":` + bundle + `}`, "not among"},
		{"order-select empty selections", "order-select", `{"userId":"Practitioner/a","patientId":"p1","selections":[],"draftOrders":` + bundle + `}`, "non-empty array"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.ctx), &c); err != nil {
				t.Fatal(err)
			}
			d, err := parseContext(&Request{Hook: tc.hook, HookInstance: "x", Context: c})
			if tc.err == "" {
				if err != nil || d.PatientID == "" || d.UserID == "" {
					t.Fatalf("%+v %v", d, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 || !strings.Contains(e.Message, tc.err) {
				t.Fatalf("error %v, want 400 saying %q", err, tc.err)
			}
		})
	}
}

func TestFillTemplate(t *testing.T) {
	tokens := map[string]string{"context.patientId": "p1", "userPractitionerId": "a"}
	if q, ok := fillTemplate("Observation?subject=Patient/{{context.patientId}}&performer={{ userPractitionerId }}", tokens); !ok || q != "Observation?subject=Patient/p1&performer=a" {
		t.Errorf("%q %v", q, ok)
	}
	if _, ok := fillTemplate("Encounter/{{context.encounterId}}", tokens); ok {
		t.Error("a template with a token of an absent field was filled")
	}
}

// FuzzParseContext: no context, however broken, panics the parser, and
// what it accepts has a valid patient id and user reference.
func FuzzParseContext(f *testing.F) {
	f.Add("order-sign", `{"userId":"Practitioner/a","patientId":"p1","draftOrders":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"MedicationRequest","id":"d1","subject":{"reference":"Patient/p1"}}}]}}`)
	f.Add("order-select", `{"userId":"Practitioner/a","patientId":"p1","selections":["A/b"],"draftOrders":{"resourceType":"Bundle","entry":[{"resource":{}}]}}`)
	f.Add("patient-view", `{"userId":"Patient/x","patientId":"x"}`)
	f.Fuzz(func(t *testing.T, hook, ctx string) {
		var c map[string]json.RawMessage
		if json.Unmarshal([]byte(ctx), &c) != nil {
			return
		}
		d, err := parseContext(&Request{Hook: hook, HookInstance: "x", Context: c})
		if err != nil {
			return
		}
		if !idPattern.MatchString(d.PatientID) || !refPattern.MatchString(d.UserID) {
			t.Fatalf("accepted %q: %+v", ctx, d)
		}
		for _, s := range d.Selections {
			if findOrder(d.DraftOrders, s) == nil {
				t.Fatalf("selection %s not among the drafts", s)
			}
		}
	})
}

func TestCheckCard(t *testing.T) {
	ok := Card{Summary: "s", Indicator: "info", Source: Source{Label: "l"}}
	if err := checkCard(ok); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]Card{
		"no summary":  {Indicator: "info", Source: Source{Label: "l"}},
		"indicator":   {Summary: "s", Indicator: "hard-stop", Source: Source{Label: "l"}},
		"no label":    {Summary: "s", Indicator: "info"},
		"long":        {Summary: strings.Repeat("x", 140), Indicator: "info", Source: Source{Label: "l"}},
		"action type": {Summary: "s", Indicator: "info", Source: Source{Label: "l"}, Suggestions: []Suggestion{{Label: "x", Actions: []Action{{Type: "drop"}}}}},
		"link type":   {Summary: "s", Indicator: "info", Source: Source{Label: "l"}, Links: []Link{{Label: "x", URL: "https://a", Type: "iframe"}}},
		"link scheme": {Summary: "s", Indicator: "info", Source: Source{Label: "l"}, Links: []Link{{Label: "x", URL: "javascript:alert(1)", Type: "absolute"}}},
	} {
		if checkCard(c) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestLocalKey: a JWT signed by the local key verifies with the key set
// it serves, and carries kid and jku.
func TestLocalKey(t *testing.T) {
	k, err := NewLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	raw, err := k.Sign(context.Background(), map[string]any{"iss": "https://junction.example", "aud": "https://cds.example/cds-services/x",
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": "1"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES384})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Headers[0].ExtraHeaders["jku"] != "https://junction.example"+LocalJWKSPath || tok.Headers[0].KeyID == "" {
		t.Errorf("headers %+v", tok.Headers[0])
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(k.jwks, &set); err != nil {
		t.Fatal(err)
	}
	var claims jwt.Claims
	if err := tok.Claims(set.Key(tok.Headers[0].KeyID)[0].Key, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Issuer != "https://junction.example" {
		t.Errorf("claims %+v", claims)
	}
}

func TestNewExternalClient(t *testing.T) {
	sign := func(context.Context, map[string]any) (string, error) { return "", nil }
	for name, cfg := range map[string][]ExternalConfig{
		"no name":       {{Discovery: "https://a/cds-services"}},
		"dup name":      {{Name: "a", Discovery: "https://a/cds-services"}, {Name: "a", Discovery: "https://b/cds-services"}},
		"plain http":    {{Name: "a", Discovery: "http://cds.example/cds-services"}},
		"not discovery": {{Name: "a", Discovery: "https://a/services"}},
		"timeout":       {{Name: "a", Discovery: "https://a/cds-services", Timeout: "1m"}},
	} {
		if _, err := NewExternalClient(ExternalOptions{Services: cfg, Sign: sign}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewExternalClient(ExternalOptions{Services: []ExternalConfig{{Name: "a", Discovery: "http://127.0.0.1:9/cds-services/", Timeout: "500ms"}}, Sign: sign}); err != nil {
		t.Error(err)
	}
}
