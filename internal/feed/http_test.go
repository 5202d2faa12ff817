package feed_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/fhir"
)

// TestHTTPAccess: the message store is read only by administrators,
// privacy officers and the development caller; everyone else gets 403,
// a request without credentials 401 with the challenge, each as an
// OperationOutcome, and no authentication at all refuses everything.
func TestHTTPAccess(t *testing.T) {
	e := newEnvSQLite(t)
	e.feed.Process(context.Background(), fixture(t, "01-a28-register.hl7"), "t")
	// The test's authentication: the caller kind named in a header; none
	// is a missing token; "broken" an internal failure.
	auth := func(r *http.Request) (*access.Caller, error) {
		switch k := r.Header.Get("X-Kind"); k {
		case "":
			err := fhir.Errorf(401, fhir.IssueLogin, "The request needs an access token")
			err.Header = http.Header{"Www-Authenticate": {`Bearer realm="test"`}}
			return nil, err
		case "broken":
			return nil, errors.New("token store unavailable: secret detail")
		default:
			return &access.Caller{Kind: access.Kind(k), Subject: "s"}, nil
		}
	}
	srv := httptest.NewServer(e.feed.Handler(auth))
	defer srv.Close()
	closed := httptest.NewServer(e.feed.Handler(nil))
	defer closed.Close()
	for _, c := range []struct {
		name, base, kind, path string
		want                   int
	}{
		{"no token", srv.URL, "", "/hl7/messages", 401},
		{"no token, one message", srv.URL, "", "/hl7/messages/1", 401},
		{"practitioner", srv.URL, string(access.Practitioner), "/hl7/messages", 403},
		{"patient", srv.URL, string(access.PatientUser), "/hl7/messages/1", 403},
		{"system client", srv.URL, string(access.System), "/hl7/messages", 403},
		{"unknown kind", srv.URL, "gardener", "/hl7/messages", 403},
		{"authentication fails", srv.URL, "broken", "/hl7/messages", 500},
		{"admin", srv.URL, string(access.Admin), "/hl7/messages", 200},
		{"admin, one message", srv.URL, string(access.Admin), "/hl7/messages/1", 200},
		{"privacy officer", srv.URL, string(access.PrivacyOfficer), "/hl7/messages", 200},
		{"development", srv.URL, string(access.Development), "/hl7/messages", 200},
		{"admin, bad parameter", srv.URL, string(access.Admin), "/hl7/messages?status=bogus", 400},
		{"admin, missing message", srv.URL, string(access.Admin), "/hl7/messages/99999", 404},
		{"no authentication configured", closed.URL, string(access.Admin), "/hl7/messages", 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", c.base+c.path, nil)
			if c.kind != "" {
				req.Header.Set("X-Kind", c.kind)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if c.want == 200 {
				if _, ok := body["resourceType"]; ok {
					t.Errorf("200 answered with %v", body)
				}
				return
			}
			if body["resourceType"] != "OperationOutcome" || resp.Header.Get("Content-Type") != "application/fhir+json" {
				t.Errorf("error body %v (%s), want an OperationOutcome", body, resp.Header.Get("Content-Type"))
			}
			raw, _ := json.Marshal(body)
			if c.want == 500 && strings.Contains(string(raw), "secret detail") {
				t.Errorf("internal error text reached the client: %s", raw)
			}
			if c.want == 401 && c.base == srv.URL && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without a WWW-Authenticate challenge")
			}
		})
	}
}
