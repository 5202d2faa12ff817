package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/interaction"
)

// TestAccessScenario runs the access rules through the service exactly as
// serve composes it: a GP practice's clinician sees their registered
// patient and not another practice's; a patient sees only their own
// record; break-glass opens the other patient to the clinician, marks the
// responses and raises a review Task.
func TestAccessScenario(t *testing.T) {
	for name, cfg := range testConfigs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			engine, err := OpenStore(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer engine.Close()
			node, err := Build(ctx, cfg, engine, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			svc := node.Service
			put := func(typ, id, body string) {
				t.Helper()
				if _, err := svc.Do(ctx, &interaction.Request{Kind: interaction.Update, Type: typ, ID: id, Body: []byte(body), Caller: Operator}); err != nil {
					t.Fatalf("put %s/%s: %v", typ, id, err)
				}
			}
			put("Organization", "gp-a", `{"resourceType":"Organization","id":"gp-a","identifier":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"A81001"}]}`)
			put("Organization", "gp-b", `{"resourceType":"Organization","id":"gp-b","identifier":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"B82002"}]}`)
			put("Patient", "mine", `{"resourceType":"Patient","id":"mine","generalPractitioner":[{"reference":"Organization/gp-a"}]}`)
			put("Patient", "theirs", `{"resourceType":"Patient","id":"theirs","generalPractitioner":[{"reference":"Organization/gp-b"}]}`)
			put("Observation", "o-mine", `{"resourceType":"Observation","id":"o-mine","status":"final","code":{"text":"pulse"},"subject":{"reference":"Patient/mine"}}`)
			put("Observation", "o-theirs", `{"resourceType":"Observation","id":"o-theirs","status":"final","code":{"text":"pulse"},"subject":{"reference":"Patient/theirs"}}`)

			put("Observation", "o-secret", `{"resourceType":"Observation","id":"o-secret","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]},"status":"final","code":{"text":"pulse"},"subject":{"reference":"Patient/mine"}}`)
			gp := &access.Caller{Kind: access.Practitioner, Subject: "dr-a", Name: "Dr A", Organization: "A81001", Roles: []string{"R0260"}, Scopes: []string{"user/*.cruds"}}
			patient := &access.Caller{Kind: access.PatientUser, Subject: "pat-mine", Patients: []string{"mine"}, Scopes: []string{"patient/*.rs"}}
			status := func(c *access.Caller, kind interaction.Kind, typ, id string, query string) (int, *interaction.Response) {
				t.Helper()
				req := &interaction.Request{Kind: kind, Type: typ, ID: id, Caller: c, BaseURL: "http://x/fhir"}
				if query != "" {
					req.Query = parseQuery(t, query)
				}
				resp, err := svc.Do(ctx, req)
				var fe *fhir.Error
				if errors.As(err, &fe) {
					return fe.Status, nil
				}
				if err != nil {
					t.Fatal(err)
				}
				return resp.Status, resp
			}
			ids := func(resp *interaction.Response) string {
				var b struct {
					Entry []struct {
						Resource struct{ ID string }
						Search   struct{ Mode string }
					}
				}
				_ = json.Unmarshal(resp.Body, &b)
				var out []string
				for _, e := range b.Entry {
					if e.Search.Mode == "match" {
						out = append(out, e.Resource.ID)
					}
				}
				return strings.Join(out, ",")
			}

			if got, _ := status(gp, interaction.Read, "Observation", "o-mine", ""); got != 200 {
				t.Errorf("GP reads own patient's observation: %d", got)
			}
			if got, _ := status(gp, interaction.Read, "Observation", "o-theirs", ""); got != 403 {
				t.Errorf("GP reads another practice's patient's observation: %d, want 403", got)
			}
			// The GP's role is cleared for R-labelled records (read-restricted).
			if _, resp := status(gp, interaction.SearchType, "Observation", "", "code:text=pulse"); resp == nil || ids(resp) != "o-mine,o-secret" {
				t.Errorf("GP search finds %q, want their own patient's o-mine,o-secret", ids(resp))
			}
			if _, resp := status(gp, interaction.SearchType, "Observation", "", "subject:Patient._id=theirs"); resp == nil || ids(resp) != "" {
				t.Errorf("GP chained search through the other patient finds %q", ids(resp))
			}
			if got, _ := status(patient, interaction.Read, "Observation", "o-theirs", ""); got != 404 {
				t.Errorf("patient reads another's observation: %d, want 404", got)
			}
			if got, _ := status(patient, interaction.Read, "Observation", "o-mine", ""); got != 200 {
				t.Errorf("patient reads own observation: %d", got)
			}
			// What the access rules hide from a patient's own record is
			// flagged, never silently dropped.
			if _, resp := status(patient, interaction.SearchType, "Observation", "", "patient=mine"); resp == nil || ids(resp) != "o-mine" || !strings.Contains(string(resp.Body), "withheld") {
				t.Errorf("patient's search of their record: %q, flagged %v", ids(resp), resp != nil && strings.Contains(string(resp.Body), "withheld"))
			}
			if _, resp := status(gp, interaction.SearchType, "Observation", "", "patient=mine"); resp == nil || strings.Contains(string(resp.Body), "withheld") {
				t.Errorf("a search hiding nothing says items were withheld")
			}
			if got, _ := status(gp, interaction.HistoryType, "Observation", "", ""); got != 200 {
				t.Errorf("GP type history: %d", got)
			}

			// The decision reaches every interaction: a matrix of
			// interaction x caller, each with the status or matches it must
			// give.
			nurseB := &access.Caller{Kind: access.Practitioner, Subject: "nurse-b", Organization: "B82002", Roles: []string{"R0620"}, Scopes: []string{"user/*.cruds"}}
			readOnly := &access.Caller{Kind: access.Practitioner, Subject: "dr-ro", Organization: "A81001", Roles: []string{"R0260"}, Scopes: []string{"user/*.rs"}}
			for _, c := range []struct {
				name   string
				caller *access.Caller
				req    interaction.Request
				status int
				has    []string // substrings the body must have
				hasNot []string // and must not
			}{
				{"vread own", gp, interaction.Request{Kind: interaction.VRead, Type: "Observation", ID: "o-mine", VersionID: "1"}, 200, nil, nil},
				{"vread other", gp, interaction.Request{Kind: interaction.VRead, Type: "Observation", ID: "o-theirs", VersionID: "1"}, 403, nil, nil},
				{"instance history other", gp, interaction.Request{Kind: interaction.HistoryInstance, Type: "Observation", ID: "o-theirs"}, 403, nil, nil},
				{"type history", gp, interaction.Request{Kind: interaction.HistoryType, Type: "Observation"}, 200, []string{"o-mine"}, []string{"o-theirs"}},
				{"system history", gp, interaction.Request{Kind: interaction.HistorySystem}, 200, []string{"o-mine"}, []string{"o-theirs"}},
				{"other practice's view", nurseB, interaction.Request{Kind: interaction.SearchType, Type: "Observation"}, 200, []string{"o-theirs"}, []string{"o-mine", "o-secret"}},
				{"cleared label only with role", nurseB, interaction.Request{Kind: interaction.Read, Type: "Observation", ID: "o-secret"}, 403, nil, nil},
				{"include", gp, interaction.Request{Kind: interaction.SearchType, Type: "Observation", Query: map[string][]string{"_include": {"Observation:subject"}}}, 200, []string{`"id":"mine"`}, []string{`"id":"theirs"`}},
				{"revinclude", gp, interaction.Request{Kind: interaction.SearchType, Type: "Patient", Query: map[string][]string{"_revinclude": {"Observation:subject"}}}, 200, []string{"o-mine"}, []string{"o-theirs"}},
				{"_has", gp, interaction.Request{Kind: interaction.SearchType, Type: "Patient", Query: map[string][]string{"_has:Observation:subject:code:text": {"pulse"}}}, 200, []string{`"id":"mine"`}, []string{`"id":"theirs"`}},
				{"compartment of other", gp, interaction.Request{Kind: interaction.SearchCompartment, Type: "Patient", ID: "theirs", Compartment: "Observation"}, 200, nil, []string{"o-theirs"}},
				// Demographics need no care relationship (as PDS); the clinical
				// record does, and what is withheld is said.
				{"$everything of other", gp, interaction.Request{Kind: interaction.Operation, Operation: "$everything", Method: "GET", Type: "Patient", ID: "theirs"}, 200, []string{"withheld"}, []string{"o-theirs"}},
				{"$everything of own", gp, interaction.Request{Kind: interaction.Operation, Operation: "$everything", Method: "GET", Type: "Patient", ID: "mine"}, 200, []string{"o-mine"}, []string{"o-theirs"}},
				{"create for other patient", gp, interaction.Request{Kind: interaction.Create, Type: "Observation", Body: []byte(`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/theirs"}}`)}, 403, nil, nil},
				{"create for own patient", gp, interaction.Request{Kind: interaction.Create, Type: "Observation", Body: []byte(`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/mine"}}`)}, 201, nil, nil},
				{"update other", gp, interaction.Request{Kind: interaction.Update, Type: "Observation", ID: "o-theirs", Body: []byte(`{"resourceType":"Observation","id":"o-theirs","status":"amended","code":{"text":"pulse"},"subject":{"reference":"Patient/theirs"}}`)}, 403, nil, nil},
				{"move own to other", gp, interaction.Request{Kind: interaction.Update, Type: "Observation", ID: "o-mine", Body: []byte(`{"resourceType":"Observation","id":"o-mine","status":"final","code":{"text":"pulse"},"subject":{"reference":"Patient/theirs"}}`)}, 403, nil, nil},
				{"delete other", gp, interaction.Request{Kind: interaction.Delete, Type: "Observation", ID: "o-theirs"}, 403, nil, nil},
				{"write without write scope", readOnly, interaction.Request{Kind: interaction.Create, Type: "Observation", Body: []byte(`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/mine"}}`)}, 403, nil, nil},
				{"transaction entry for other", gp, interaction.Request{Kind: interaction.Transaction, Method: "POST", Body: []byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Observation","status":"final","code":{"text":"y"},"subject":{"reference":"Patient/theirs"}},"request":{"method":"POST","url":"Observation"}}]}`)}, 403, nil, nil},
				{"batch entry read of other", gp, interaction.Request{Kind: interaction.Transaction, Method: "POST", Body: []byte(`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Observation/o-theirs"}},{"request":{"method":"GET","url":"Observation/o-mine"}}]}`)}, 200, []string{`"status":"403`, `"status":"200`}, []string{`"pulse"},"subject":{"reference":"Patient/theirs"`}},
				{"patient: another's compartment", patient, interaction.Request{Kind: interaction.SearchCompartment, Type: "Patient", ID: "theirs", Compartment: "Observation"}, 404, nil, nil},
				// The patient's history holds the AuditEvents of their record,
				// which name what was accessed; the resources themselves must
				// not come back.
				{"patient: system history", patient, interaction.Request{Kind: interaction.HistorySystem, Query: map[string][]string{"_count": {"1000"}}}, 200, []string{`"id":"o-mine"`}, []string{`"id":"o-theirs"`, `"id":"o-secret"`}},
			} {
				req := c.req
				req.Caller, req.BaseURL = c.caller, "http://x/fhir"
				resp, err := svc.Do(ctx, &req)
				got := 0
				var body string
				var fe *fhir.Error
				switch {
				case errors.As(err, &fe):
					got = fe.Status
				case err != nil:
					t.Fatalf("%s: %v", c.name, err)
				default:
					got, body = resp.Status, string(resp.Body)
				}
				if got != c.status {
					t.Errorf("%s: status %d, want %d (%v)", c.name, got, c.status, err)
					continue
				}
				for _, h := range c.has {
					if !strings.Contains(body, h) {
						t.Errorf("%s: body lacks %s", c.name, h)
					}
				}
				for _, h := range c.hasNot {
					if strings.Contains(body, h) {
						t.Errorf("%s: body leaks %s", c.name, h)
					}
				}
			}

			// Break-glass: no reason is refused; with one, the other
			// patient opens and responses are marked.
			bg := func(c *access.Caller, body string) (int, *interaction.Response) {
				resp, err := svc.Do(ctx, &interaction.Request{Kind: interaction.Operation, Operation: "$break-glass", Method: "POST", Type: "Patient", ID: "theirs", Body: []byte(body), Caller: c})
				var fe *fhir.Error
				if errors.As(err, &fe) {
					return fe.Status, nil
				}
				if err != nil {
					t.Fatal(err)
				}
				return resp.Status, resp
			}
			if got, _ := bg(gp, `{"resourceType":"Parameters","parameter":[]}`); got != 400 {
				t.Errorf("break-glass without a reason: %d, want 400", got)
			}
			clerk := &access.Caller{Kind: access.Practitioner, Subject: "clerk", Organization: "A81001", Roles: []string{"R8008"}, Scopes: []string{"user/*.cruds"}}
			if got, _ := bg(clerk, `{"resourceType":"Parameters","parameter":[{"name":"reason","valueString":"curious"}]}`); got != 403 {
				t.Errorf("break-glass by a role without emergency access: %d, want 403", got)
			}
			if got, resp := bg(gp, `{"resourceType":"Parameters","parameter":[{"name":"reason","valueString":"unconscious in A&E"}]}`); got != 200 || resp.BreakGlass == "" {
				t.Fatalf("break-glass: %d", got)
			}
			got, resp := status(gp, interaction.Read, "Observation", "o-theirs", "")
			if got != 200 || !strings.Contains(resp.BreakGlass, "Patient/theirs") {
				t.Errorf("after break-glass, GP reads the other patient's observation: %d, marked %q", got, respMark(resp))
			}
			if _, resp := status(gp, interaction.Read, "Observation", "o-mine", ""); resp == nil || resp.BreakGlass != "" {
				t.Errorf("a response without emergency data is marked %q", respMark(resp))
			}
			if got, resp := status(Operator, interaction.SearchType, "Task", "", "code=https://fhir.junction.nhs.uk/CodeSystem/task-code|break-glass-review"); got != 200 || !strings.Contains(string(resp.Body), "unconscious in A") {
				t.Errorf("review Task: %d %s", got, resp.Body)
			}
		})
	}
}

func respMark(r *interaction.Response) string {
	if r == nil {
		return "<no response>"
	}
	return r.BreakGlass
}

func parseQuery(t *testing.T, q string) map[string][]string {
	out := map[string][]string{}
	for _, kv := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = append(out[k], v)
	}
	return out
}
