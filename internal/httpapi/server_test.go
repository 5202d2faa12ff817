package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/app"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/store"
)

// testLogger discards the request log unless JUNCTION_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("JUNCTION_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newTestServer starts the server as `junction serve` composes it.
func newTestServer(t testing.TB, st store.Store) *httptest.Server {
	return newServer(t, st, 1<<20)
}

// newServer starts the full HTTP stack over st, composed as app does.
func newServer(t testing.TB, st store.Store, maxBody int64) *httptest.Server {
	t.Helper()
	cfg := config.Defaults()
	cfg.MaxBodyBytes = maxBody
	cfg.Auth = "off"  // these tests are of the FHIR API; authorisation has its own
	cfg.Audit = "off" // and so has audit (internal/app), which would triple their time
	node, err := app.Build(context.Background(), cfg, st.(*search.Engine), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(node.Handler)
	t.Cleanup(srv.Close)
	return srv
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not JSON: %v: %q", err, r.body)
	}
	return m
}

func do(t testing.TB, srv *httptest.Server, method, path, body string, headers ...string) result {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, b}
}

// step is one request of a scenario and what must come back.
type step struct {
	name       string
	method     string
	path       string
	body       string
	headers    []string
	status     int
	wantHeader map[string]string // header -> exact value ("*" = present, "" = absent)
	contains   []string          // substrings of the body
	absent     []string          // substrings the body must not have
	outcome    string            // expected OperationOutcome issue code, when an error
	expression string            // expected issue expression
}

func runSteps(t *testing.T, srv *httptest.Server, steps []step) {
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := do(t, srv, s.method, s.path, s.body, s.headers...)
			if r.status != s.status {
				t.Fatalf("%s %s: status %d, want %d; body %s", s.method, s.path, r.status, s.status, r.body)
			}
			for h, want := range s.wantHeader {
				got := r.header.Get(h)
				switch {
				case want == "*" && got == "":
					t.Errorf("header %s missing", h)
				case want == "" && got != "":
					t.Errorf("header %s = %q, want absent", h, got)
				case want != "*" && want != "" && got != want:
					t.Errorf("header %s = %q, want %q", h, got, want)
				}
			}
			for _, c := range s.absent {
				if bytes.Contains(r.body, []byte(c)) {
					t.Errorf("body has %q: %s", c, r.body)
				}
			}
			for _, c := range s.contains {
				if !bytes.Contains(r.body, []byte(c)) {
					t.Errorf("body lacks %q: %s", c, r.body)
				}
			}
			if s.status >= 400 {
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
					t.Errorf("error Content-Type %q", ct)
				}
				m := r.json(t)
				if m["resourceType"] != "OperationOutcome" {
					t.Fatalf("error body is not an OperationOutcome: %s", r.body)
				}
				issue := m["issue"].([]any)[0].(map[string]any)
				if s.outcome != "" && issue["code"] != s.outcome {
					t.Errorf("issue code %v, want %s", issue["code"], s.outcome)
				}
				if s.expression != "" {
					exprs, _ := issue["expression"].([]any)
					if len(exprs) == 0 || exprs[0] != s.expression {
						t.Errorf("issue expression %v, want %s", exprs, s.expression)
					}
				}
				if bytes.Contains(r.body, []byte("sql")) || bytes.Contains(r.body, []byte("SQL")) {
					t.Errorf("error leaks internals: %s", r.body)
				}
			}
		})
	}
}

const patientJSON = `{"resourceType":"Patient","id":"p1","name":[{"family":"Smith","given":["Jane"]}],"birthDate":"1970-02-03"}`

func TestInteractions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newServer(t, st, 1<<20)
		runSteps(t, srv, []step{
			{name: "read missing", method: "GET", path: "/fhir/Patient/p1", status: 404, outcome: "not-found"},
			{name: "update as create", method: "PUT", path: "/fhir/Patient/p1", body: patientJSON, status: 201,
				wantHeader: map[string]string{"ETag": `W/"1"`, "Location": "*", "Last-Modified": "*"}, contains: []string{`"versionId":"1"`, `"lastUpdated"`, `"family":"Smith"`}},
			{name: "read", method: "GET", path: "/fhir/Patient/p1", status: 200,
				wantHeader: map[string]string{"ETag": `W/"1"`, "Content-Type": "application/fhir+json; charset=utf-8"}, contains: []string{`"id":"p1"`}},
			{name: "read if-none-match same", method: "GET", path: "/fhir/Patient/p1", headers: []string{"If-None-Match", `W/"1"`}, status: 304},
			{name: "read if-none-match other", method: "GET", path: "/fhir/Patient/p1", headers: []string{"If-None-Match", `W/"7"`}, status: 200},
			{name: "read if-modified-since future", method: "GET", path: "/fhir/Patient/p1", headers: []string{"If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT"}, status: 304},
			{name: "read if-modified-since past", method: "GET", path: "/fhir/Patient/p1", headers: []string{"If-Modified-Since", "Fri, 01 Jan 2000 00:00:00 GMT"}, status: 200},
			{name: "update", method: "PUT", path: "/fhir/Patient/p1", body: strings.Replace(patientJSON, "Jane", "Janet", 1), status: 200,
				wantHeader: map[string]string{"ETag": `W/"2"`}, contains: []string{`"versionId":"2"`, "Janet"}},
			{name: "update if-match stale", method: "PUT", path: "/fhir/Patient/p1", body: patientJSON, headers: []string{"If-Match", `W/"1"`}, status: 412, outcome: "conflict"},
			{name: "update if-match current", method: "PUT", path: "/fhir/Patient/p1", body: patientJSON, headers: []string{"If-Match", `W/"2"`}, status: 200, wantHeader: map[string]string{"ETag": `W/"3"`}},
			{name: "update prefer minimal", method: "PUT", path: "/fhir/Patient/p1", body: patientJSON, headers: []string{"Prefer", "return=minimal"}, status: 200, wantHeader: map[string]string{"ETag": `W/"4"`, "Content-Type": ""}},
			{name: "update prefer outcome", method: "PUT", path: "/fhir/Patient/p1", body: patientJSON, headers: []string{"Prefer", "return=OperationOutcome"}, status: 200, contains: []string{`"OperationOutcome"`}},
			{name: "vread 1", method: "GET", path: "/fhir/Patient/p1/_history/1", status: 200, contains: []string{`"versionId":"1"`, "Jane"}, wantHeader: map[string]string{"ETag": `W/"1"`}},
			{name: "vread 2", method: "GET", path: "/fhir/Patient/p1/_history/2", status: 200, contains: []string{"Janet"}},
			{name: "vread missing version", method: "GET", path: "/fhir/Patient/p1/_history/99", status: 404},
			{name: "vread bad version", method: "GET", path: "/fhir/Patient/p1/_history/abc", status: 404},
			{name: "instance history", method: "GET", path: "/fhir/Patient/p1/_history", status: 200, contains: []string{`"type":"history"`, `"total":5`}},
			{name: "instance history count", method: "GET", path: "/fhir/Patient/p1/_history?_count=2", status: 200, contains: []string{`"relation":"next"`}},
			{name: "type history", method: "GET", path: "/fhir/Patient/_history", status: 200, contains: []string{`"type":"history"`, `"method":"PUT"`}},
			{name: "system history", method: "GET", path: "/fhir/_history?_since=2000-01-01", status: 200, contains: []string{`"type":"history"`}},
			{name: "history bad since", method: "GET", path: "/fhir/_history?_since=yesterday", status: 400, outcome: "value"},
			{name: "history unknown param", method: "GET", path: "/fhir/_history?foo=bar", status: 400},
			{name: "history altered open list", method: "GET", path: "/fhir/_history?_snapshot=5&_open=12,x", status: 400, outcome: "value"},
			{name: "history open list", method: "GET", path: "/fhir/_history?_snapshot=5&_open=12,13", status: 200, contains: []string{`"type":"history"`}},
			{name: "delete if-match stale", method: "DELETE", path: "/fhir/Patient/p1", headers: []string{"If-Match", `W/"1"`}, status: 412},
			{name: "delete", method: "DELETE", path: "/fhir/Patient/p1", status: 204, wantHeader: map[string]string{"ETag": `W/"6"`}},
			{name: "read deleted", method: "GET", path: "/fhir/Patient/p1", status: 410, outcome: "deleted", wantHeader: map[string]string{"ETag": `W/"6"`}},
			{name: "vread tombstone", method: "GET", path: "/fhir/Patient/p1/_history/6", status: 410},
			{name: "vread before delete", method: "GET", path: "/fhir/Patient/p1/_history/5", status: 200},
			{name: "delete again", method: "DELETE", path: "/fhir/Patient/p1", status: 204},
			{name: "delete missing", method: "DELETE", path: "/fhir/Patient/nope", status: 204},
			{name: "history shows delete", method: "GET", path: "/fhir/Patient/p1/_history", status: 200, contains: []string{`"method":"DELETE"`, `"total":6`}},
			{name: "recreate after delete", method: "PUT", path: "/fhir/Patient/p1", body: patientJSON, status: 201, wantHeader: map[string]string{"ETag": `W/"7"`}},
			{name: "create", method: "POST", path: "/fhir/Patient", body: patientJSON, status: 201, wantHeader: map[string]string{"Location": "*", "ETag": `W/"1"`}},
			{name: "create ignores body id", method: "POST", path: "/fhir/Observation", body: `{"resourceType":"Observation","id":"mine","status":"final","code":{"text":"x"}}`, status: 201, contains: []string{`"versionId":"1"`}},
			{name: "metadata", method: "GET", path: "/fhir/metadata", status: 200, contains: []string{`"CapabilityStatement"`, `"fhirVersion":"4.0.1"`, `"type":"Observation"`}},
		})
	})
}

func TestErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newServer(t, st, 4096)
		big := `{"resourceType":"Patient","id":"big","name":[{"text":"` + strings.Repeat("x", 5000) + `"}]}`
		runSteps(t, srv, []step{
			{name: "malformed json", method: "PUT", path: "/fhir/Patient/x", body: `{"resourceType":"Patient",`, status: 400, outcome: "structure"},
			{name: "null body", method: "PUT", path: "/fhir/Patient/x", body: `null`, status: 400},
			{name: "array body", method: "POST", path: "/fhir/Patient", body: `[]`, status: 400},
			{name: "empty body", method: "POST", path: "/fhir/Patient", body: ``, status: 400},
			{name: "no resourceType", method: "PUT", path: "/fhir/Patient/x", body: `{"id":"x"}`, status: 400},
			{name: "unknown type", method: "GET", path: "/fhir/Patientz/1", status: 404, outcome: "not-supported"},
			{name: "unknown type create", method: "POST", path: "/fhir/Foo", body: `{"resourceType":"Foo"}`, status: 404},
			{name: "type mismatch", method: "PUT", path: "/fhir/Patient/x", body: `{"resourceType":"Observation","id":"x"}`, status: 400},
			{name: "id mismatch", method: "PUT", path: "/fhir/Patient/x", body: `{"resourceType":"Patient","id":"y"}`, status: 400, expression: "Patient.id"},
			{name: "id missing", method: "PUT", path: "/fhir/Patient/x", body: `{"resourceType":"Patient"}`, status: 400},
			{name: "invalid id", method: "GET", path: "/fhir/Patient/a_b", status: 400},
			{name: "65 char id", method: "GET", path: "/fhir/Patient/" + strings.Repeat("a", 65), status: 400},
			{name: "nul id", method: "GET", path: "/fhir/Patient/%00", status: 400},
			{name: "unknown element", method: "PUT", path: "/fhir/Patient/x", body: `{"resourceType":"Patient","id":"x","foo":1}`, status: 400, expression: "Patient.foo"},
			{name: "bad date", method: "PUT", path: "/fhir/Patient/x", body: `{"resourceType":"Patient","id":"x","birthDate":"not-a-date"}`, status: 400, expression: "Patient.birthDate"},
			{name: "wrong primitive type", method: "PUT", path: "/fhir/Patient/x", body: `{"resourceType":"Patient","id":"x","active":"yes"}`, status: 400, expression: "Patient.active"},
			{name: "nul in string", method: "PUT", path: "/fhir/Patient/x", body: `{"resourceType":"Patient","id":"x","name":[{"family":"a\u0000b"}]}`, status: 400},
			{name: "too large", method: "PUT", path: "/fhir/Patient/big", body: big, status: 413},
			{name: "xml content", method: "POST", path: "/fhir/Patient", body: `<Patient/>`, headers: []string{"Content-Type", "application/fhir+xml"}, status: 415},
			{name: "xml accept", method: "GET", path: "/fhir/metadata", headers: []string{"Accept", "application/fhir+xml"}, status: 406},
			{name: "xml format", method: "GET", path: "/fhir/metadata?_format=xml", status: 406},
			{name: "json format", method: "GET", path: "/fhir/metadata?_format=json", status: 200},
			{name: "accept any", method: "GET", path: "/fhir/metadata", headers: []string{"Accept", "text/html, */*;q=0.8"}, status: 200},
			{name: "method not allowed", method: "POST", path: "/fhir/metadata", body: `{}`, status: 405, wantHeader: map[string]string{"Allow": "GET, HEAD"}},
			{name: "patch missing", method: "PATCH", path: "/fhir/Patient/nobody", body: `[]`, headers: []string{"Content-Type", "application/json-patch+json"}, status: 404},
			{name: "no interaction", method: "GET", path: "/fhir/Patient/x/_history/1/extra", status: 404},
			{name: "outside base", method: "GET", path: "/nothing", status: 404},
			{name: "invalid nhs number", method: "PUT", path: "/fhir/Patient/x", body: `{"resourceType":"Patient","id":"x","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765918"}]}`, status: 422, outcome: "value", expression: "Patient.identifier[0].value"},
			{name: "valid nhs number", method: "PUT", path: "/fhir/Patient/nhs", body: `{"resourceType":"Patient","id":"nhs","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`, status: 201},
			{name: "bad if-match", method: "PUT", path: "/fhir/Patient/x", body: `{"resourceType":"Patient","id":"x"}`, headers: []string{"If-Match", "banana"}, status: 400},
			{name: "if-match on missing", method: "PUT", path: "/fhir/Patient/zz", body: `{"resourceType":"Patient","id":"zz"}`, headers: []string{"If-Match", `W/"1"`}, status: 412},
		})
	})
}

func TestPrettyAndProbes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newServer(t, st, 1<<20)
		r := do(t, srv, "GET", "/fhir/metadata?_pretty=true", "")
		if r.status != 200 || !bytes.Contains(r.body, []byte("\n  \"resourceType\"")) {
			t.Fatalf("_pretty not indented: %.200s", r.body)
		}
		for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
			if r := do(t, srv, "GET", p, ""); r.status != 200 {
				t.Errorf("%s: %d", p, r.status)
			}
		}
		if r := do(t, srv, "GET", "/metrics", ""); !bytes.Contains(r.body, []byte(`junction_http_requests_total{code="200",interaction="capabilities"}`)) {
			t.Errorf("metrics lack the request counter: %.500s", r.body)
		}
		if r := do(t, srv, "GET", "/fhir/metadata", "", "X-Request-ID", "abc-123"); r.header.Get("X-Request-ID") != "abc-123" {
			t.Errorf("request id not echoed")
		}
	})
}
