package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/audit"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/httpapi"
	"github.com/nhs-junction/junction/internal/interaction"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/store"
)

// TestAccessLogAndDispute runs the composed service with real callers:
// a clinician refused for want of a care relationship, then reading under
// break-glass; a patient refused another patient's record; the patient
// reading their own access log (which shows the clinician, the refusal
// and the break-glass flag) and disputing the emergency access; a privacy
// officer finding the dispute Task and closing it, and searching every
// AuditEvent; other callers refused the log and the dispute.
func TestAccessLogAndDispute(t *testing.T) {
	for name, cfg := range testConfigs(t) {
		t.Run(name, func(t *testing.T) {
			a := newAuditServer(t, cfg)
			ctx := context.Background()
			svc := a.node.Service
			base := a.srv.URL + "/fhir"
			do := func(c *access.Caller, method, path, body string, q url.Values) (*interaction.Response, error) {
				t.Helper()
				segs := strings.Split(strings.Trim(path, "/"), "/")
				req, err := interaction.Route(method, segs)
				if err != nil {
					t.Fatal(err)
				}
				req.Query, req.Body, req.BaseURL, req.Caller = q, []byte(body), base, c
				if method == "PATCH" {
					req.ContentType = "application/json-patch+json"
				}
				return svc.Do(ctx, req)
			}
			status := func(resp *interaction.Response, err error) int {
				var fe *fhir.Error
				if errors.As(err, &fe) {
					return fe.Status
				}
				if err != nil {
					t.Fatal(err)
				}
				return resp.Status
			}
			op := &access.Caller{Kind: access.Development, Subject: "setup", Name: "Setup"}
			resp, err := do(op, "POST", "Patient", `{"resourceType":"Patient","name":[{"family":"Carter"}]}`, nil)
			if err != nil {
				t.Fatal(err)
			}
			pat := resp.Version.ID
			resp, _ = do(op, "POST", "Patient", `{"resourceType":"Patient","name":[{"family":"Other"}]}`, nil)
			other := resp.Version.ID
			resp, err = do(op, "POST", "Observation", `{"resourceType":"Observation","status":"final","code":{"text":"HbA1c"},"subject":{"reference":"Patient/`+pat+`"}}`, nil)
			if err != nil {
				t.Fatal(err)
			}
			obs := resp.Version.ID

			dr := &access.Caller{Kind: access.Practitioner, Subject: "dr-1", Name: "Dr Jane Doe", Organization: "RXX01", Roles: []string{"R8000"},
				Practitioner: "prac-1", Scopes: []string{"user/*.rs"}, ClientID: "ward-app", Address: "10.0.0.7"}
			if st := status(do(dr, "GET", "Observation/"+obs, "", nil)); st != 403 {
				t.Fatalf("clinician without a relationship: %d, want 403", st)
			}
			bg := *dr
			bg.Purpose = "BTG"
			bg.BreakGlass = &access.BreakGlass{Reason: "unconscious in ED", Patient: pat, Until: time.Now().Add(time.Hour)}
			if st := status(do(&bg, "GET", "Observation/"+obs, "", nil)); st != 200 {
				t.Fatalf("break-glass read: %d", st)
			}
			me := &access.Caller{Kind: access.PatientUser, Subject: "pat-1", Name: "Pat Carter", Patients: []string{pat}, Scopes: []string{"patient/*.rs"}, ClientID: "nhs-app"}
			if st := status(do(me, "GET", "Patient/"+other, "", nil)); st != 404 {
				t.Fatalf("patient reading another patient: %d, want 404", st)
			}

			// The patient's access log.
			resp, err = do(me, "GET", "Patient/"+pat+"/$access-log", "", url.Values{"_count": {"50"}})
			if err != nil {
				t.Fatal(err)
			}
			entries := accessEntries(t, resp.Body)
			var glass, refused string
			for _, e := range entries {
				if e["who"] == "Dr Jane Doe" && e["breakGlass"] == "true" && e["outcome"] == "success" {
					glass = e["auditEvent"]
					if e["breakGlassReason"] != "unconscious in ED" || e["organisation"] != "RXX01" || !strings.Contains(e["role"], "R8000") ||
						e["why"] != "BTG" || e["what"] != "Observation/"+obs+"/_history/1" || e["app"] != "ward-app" {
						t.Errorf("break-glass entry: %v", e)
					}
				}
				if e["who"] == "Dr Jane Doe" && e["outcome"] != "success" {
					refused = e["auditEvent"]
				}
			}
			if glass == "" || refused == "" {
				t.Fatalf("the access log lacks the clinician's refused or break-glass access: %v", entries)
			}
			// Another patient's log is not theirs; a clinician has none.
			if st := status(do(me, "GET", "Patient/"+other+"/$access-log", "", nil)); st != 404 {
				t.Errorf("patient reading another's access log: %d, want 404", st)
			}
			if st := status(do(dr, "GET", "Patient/"+pat+"/$access-log", "", nil)); st != 403 {
				t.Errorf("clinician reading an access log: %d, want 403", st)
			}
			// The other patient's log shows the patient's refused attempt.
			po := &access.Caller{Kind: access.PrivacyOfficer, Subject: "po-1", Name: "Priya Officer", Organization: "RXX01",
				Scopes: []string{"user/*.rs", "user/Task.u"}}
			resp, err = do(po, "GET", "Patient/"+other+"/$access-log", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range accessEntries(t, resp.Body) {
				found = found || (e["who"] == "Pat Carter (patient)" && e["outcome"] != "success")
			}
			if !found {
				t.Errorf("the other patient's access log lacks the refused attempt")
			}

			// The patient disputes the emergency access.
			dispute := `{"resourceType":"Parameters","parameter":[{"name":"auditEvent","valueReference":{"reference":"` + glass + `"}},{"name":"comment","valueString":"I was not in hospital that day"}]}`
			if st := status(do(dr, "POST", "Patient/"+pat+"/$dispute", dispute, nil)); st != 403 {
				t.Errorf("clinician filing a dispute: %d, want 403", st)
			}
			resp, err = do(me, "POST", "Patient/"+pat+"/$dispute", dispute, nil)
			if err != nil {
				t.Fatalf("dispute: %v", err)
			}
			task := resp.Version.ID
			// A privacy officer lists the disputes and closes this one.
			resp, err = do(po, "GET", "Task", "", url.Values{"code": {access.DisputeSystem + "|" + access.DisputeCode}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(resp.Body), `"Task/`+task+`"`) && !strings.Contains(string(resp.Body), "/Task/"+task+`"`) || !strings.Contains(string(resp.Body), glass) {
				t.Fatalf("the privacy officer's search does not find the dispute: %s", resp.Body)
			}
			if st := status(do(dr, "PATCH", "Task/"+task, `[{"op":"replace","path":"/status","value":"completed"}]`, nil)); st != 403 && st != 404 {
				t.Errorf("clinician closing a dispute: %d, want 403", st)
			}
			resp, err = do(po, "PATCH", "Task/"+task, `[{"op":"replace","path":"/status","value":"completed"}]`, nil)
			if err != nil {
				t.Fatalf("privacy officer closing the dispute: %v", err)
			}
			if !strings.Contains(string(resp.Body), `"status":"completed"`) {
				t.Errorf("closed Task: %s", resp.Body)
			}
			// Privacy officers search every AuditEvent; clinicians none.
			resp, err = do(po, "GET", "AuditEvent", "", url.Values{"patient": {pat}, "_count": {"100"}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(resp.Body), strings.TrimPrefix(glass, "AuditEvent/")) {
				t.Errorf("privacy officer's AuditEvent search lacks the break-glass event")
			}
			if st := status(do(dr, "GET", "AuditEvent", "", nil)); st != 403 {
				t.Errorf("clinician searching AuditEvents: %d, want 403", st)
			}
			// The patient sees the AuditEvents of their own record only.
			resp, err = do(me, "GET", "AuditEvent", "", url.Values{"_count": {"200"}})
			if err != nil {
				t.Fatal(err)
			}
			var b struct {
				Entry []struct{ Resource json.RawMessage }
			}
			_ = json.Unmarshal(resp.Body, &b)
			if len(b.Entry) == 0 {
				t.Errorf("the patient finds no AuditEvent of their record")
			}
			for _, e := range b.Entry {
				s, _ := audit.Summarize(e.Resource)
				for _, p := range s.Patients {
					if p != pat {
						t.Errorf("the patient sees an AuditEvent about Patient/%s", p)
					}
				}
			}

			// The refused attempt and the dispute were audited with who and why.
			var sawDispute bool
			for _, e := range allEvents(t, a.engine) {
				if e.sum.Interaction == "operation" && strings.Contains(e.sum.Query, "$dispute") && e.sum.Outcome == audit.Success && e.sum.Who == "Pat Carter" {
					sawDispute = true
					if len(e.sum.Purpose) == 0 || e.sum.Purpose[0] != "PATRQT" {
						t.Errorf("dispute event purpose %v, want PATRQT", e.sum.Purpose)
					}
				}
			}
			if !sawDispute {
				t.Errorf("no AuditEvent records the dispute")
			}
		})
	}
}

// accessEntries flattens the access parameters of an $access-log answer.
func accessEntries(t *testing.T, body []byte) []map[string]string {
	t.Helper()
	var ps struct {
		ResourceType string
		Parameter    []struct {
			Name string
			Part []map[string]any
		}
	}
	if err := json.Unmarshal(body, &ps); err != nil || ps.ResourceType != "Parameters" {
		t.Fatalf("not Parameters: %s", body)
	}
	var out []map[string]string
	for _, p := range ps.Parameter {
		if p.Name != "access" {
			continue
		}
		e := map[string]string{}
		for _, part := range p.Part {
			n, _ := part["name"].(string)
			for k, v := range part {
				switch {
				case k == "name":
				case k == "valueReference":
					e[n] = v.(map[string]any)["reference"].(string)
				case k == "valueCoding":
					e[n] = v.(map[string]any)["code"].(string)
				case strings.HasPrefix(k, "value"):
					if _, ok := e[n]; !ok {
						e[n] = strings.Trim(mustJSON(v), `"`)
					}
				}
			}
		}
		out = append(out, e)
	}
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// failingAudit is the engine with writes that fail on demand: the store
// whose audit write fails.
type failingAudit struct {
	*search.Engine
	fail *atomic.Bool
}

func (f failingAudit) Write(ctx context.Context, fn func(store.Tx) error) error {
	if f.fail.Load() {
		return errors.New("disk full")
	}
	return f.Engine.Write(ctx, fn)
}

// TestAuditUnavailable checks that when the AuditEvent of a read cannot
// be written, the request fails with 503 and an OperationOutcome, and no
// data is returned.
func TestAuditUnavailable(t *testing.T) {
	ctx := context.Background()
	cfg := config.Defaults()
	cfg.Data = t.TempDir()
	engine, err := OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	fail := &atomic.Bool{}
	svc, err := NewService(ctx, failingAudit{Engine: engine, fail: fail}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := httpapi.New(httpapi.Options{Service: svc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Authenticate: func(*http.Request) (*access.Caller, error) {
			return &access.Caller{Kind: access.Development, Name: "dev"}, nil
		}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	post, err := http.Post(srv.URL+"/fhir/Patient", "application/fhir+json", strings.NewReader(`{"resourceType":"Patient","name":[{"family":"Secret"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(post.Body)
	post.Body.Close()
	if post.StatusCode != 201 {
		t.Fatalf("create: %d %s", post.StatusCode, b)
	}
	id := idOf(t, b)
	fail.Store(true)
	for _, path := range []string{"/fhir/Patient/" + id, "/fhir/Patient?family=Secret", "/fhir/Patient/" + id + "/_history", "/fhir/Patient/" + id + "/$everything"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || !strings.Contains(string(b), "OperationOutcome") || strings.Contains(string(b), "Secret") || strings.Contains(string(b), id) {
			t.Errorf("GET %s with the audit failing: %d %s; want 503 with an OperationOutcome and no data", path, resp.StatusCode, b)
		}
	}
	fail.Store(false)
	resp, err := http.Get(srv.URL + "/fhir/Patient/" + id)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("read once the audit works again: %d", resp.StatusCode)
	}
}
