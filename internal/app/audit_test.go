package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/audit"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/store"
)

// auditServer is the composed server (auth off) over one backend, with
// helpers to find the AuditEvents a request produced.
type auditServer struct {
	t      *testing.T
	engine *search.Engine
	node   *Node
	srv    *httptest.Server
	n      int
}

func newAuditServer(t *testing.T, cfg config.Config) *auditServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv := httptest.NewUnstartedServer(nil)
	cfg.Auth = "off"
	cfg.BaseURL = "http://" + srv.Listener.Addr().String() + "/fhir"
	engine, err := OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	node, err := Build(ctx, cfg, engine, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = node.Handler
	srv.Start()
	t.Cleanup(srv.Close)
	return &auditServer{t: t, engine: engine, node: node, srv: srv}
}

// do sends a request with a fresh X-Request-ID and returns the status,
// the body and that id.
func (a *auditServer) do(method, path, body string) (int, []byte, string) {
	a.t.Helper()
	a.n++
	id := fmt.Sprintf("rq-%d-%d", a.n, time.Now().UnixNano())
	req, _ := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	req.Header.Set("X-Request-ID", id)
	switch method {
	case "PATCH":
		req.Header.Set("Content-Type", "application/json-patch+json")
	default:
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, id
}

// event is what a test checks of one stored AuditEvent.
type event struct {
	id        string
	sum       audit.Summary
	requestID string
	raw       map[string]any
}

// allEvents reads every stored AuditEvent straight from the store (no
// request, so nothing more is audited).
func allEvents(t *testing.T, st store.Store) []event {
	t.Helper()
	var out []event
	q := store.HistoryQuery{Type: "AuditEvent", Count: 1000}
	for {
		page, err := st.History(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Versions {
			sum, err := audit.Summarize(v.Body)
			if err != nil {
				t.Fatal(err)
			}
			var raw map[string]any
			_ = json.Unmarshal(v.Body, &raw)
			e := event{id: v.ID, sum: sum, raw: raw}
			ents, _ := raw["entity"].([]any)
			for _, x := range ents {
				m, _ := x.(map[string]any)
				if ty, _ := m["type"].(map[string]any); ty["code"] == "XrequestId" {
					what, _ := m["what"].(map[string]any)
					ident, _ := what["identifier"].(map[string]any)
					e.requestID, _ = ident["value"].(string)
				}
			}
			out = append(out, e)
		}
		if !page.More {
			return out
		}
		q.Before, q.Snapshot = page.Versions[len(page.Versions)-1].Seq, page.Snapshot
	}
}

func (a *auditServer) events(requestID string) []event {
	var out []event
	for _, e := range allEvents(a.t, a.engine) {
		if e.requestID == requestID {
			out = append(out, e)
		}
	}
	return out
}

func idOf(t *testing.T, body []byte) string {
	t.Helper()
	var r struct{ ID string }
	if err := json.Unmarshal(body, &r); err != nil || r.ID == "" {
		t.Fatalf("no id in %s", body)
	}
	return r.ID
}

// want describes the AuditEvents one request must have produced: one per
// patient (in any order), each with this interaction and outcome.
type want struct {
	interaction string
	outcome     audit.Outcome
	patients    []string // one event per patient; "" for an event naming none
	what        string   // a reference (prefix) some event lists, if set
	query       bool     // the events carry the query
}

func (a *auditServer) check(name, requestID string, w want) {
	a.t.Helper()
	evs := a.events(requestID)
	var got []string
	for _, e := range evs {
		if e.sum.Interaction != w.interaction || e.sum.Outcome != w.outcome {
			continue
		}
		if w.query && e.sum.Query == "" {
			a.t.Errorf("%s: %s event without the query", name, w.interaction)
		}
		if e.sum.Who == "" || !strings.Contains(e.sum.Who, "Development") {
			a.t.Errorf("%s: agent %q, want the development caller", name, e.sum.Who)
		}
		switch len(e.sum.Patients) {
		case 0:
			got = append(got, "")
		case 1:
			got = append(got, e.sum.Patients[0])
		default:
			a.t.Errorf("%s: an event names %d patients, want one per event", name, len(e.sum.Patients))
		}
	}
	slices.Sort(got)
	wp := slices.Clone(w.patients)
	slices.Sort(wp)
	if !slices.Equal(got, wp) {
		a.t.Errorf("%s: %s events (outcome %s) for patients %q, want %q (all events of the request: %d)", name, w.interaction, w.outcome, got, wp, len(evs))
	}
	if w.what != "" {
		found := false
		for _, e := range evs {
			for _, r := range e.sum.What {
				found = found || strings.HasPrefix(r, w.what)
			}
		}
		if !found {
			a.t.Errorf("%s: no event lists %s", name, w.what)
		}
	}
}

// TestAuditEveryInteraction drives a mix of interactions over HTTP,
// failed and refused ones, batch and transaction entries and operations
// included, and checks the AuditEvents each produced: interaction,
// outcome, one event per patient, agent and what was touched.
func TestAuditEveryInteraction(t *testing.T) {
	for name, cfg := range testConfigs(t) {
		t.Run(name, func(t *testing.T) {
			a := newAuditServer(t, cfg)
			st, body, rq := a.do("POST", "/fhir/Patient", `{"resourceType":"Patient","name":[{"family":"Able"}]}`)
			if st != 201 {
				t.Fatalf("create: %d %s", st, body)
			}
			p1 := idOf(t, body)
			a.check("create patient", rq, want{interaction: "create", outcome: audit.Success, patients: []string{p1}, what: "Patient/" + p1 + "/_history/1"})
			_, body, _ = a.do("POST", "/fhir/Patient", `{"resourceType":"Patient","name":[{"family":"Baker"}]}`)
			p2 := idOf(t, body)

			obs := func(p string) string {
				return `{"resourceType":"Observation","status":"final","code":{"text":"pulse"},"subject":{"reference":"Patient/` + p + `"}}`
			}
			st, body, rq = a.do("POST", "/fhir/Observation", obs(p1))
			if st != 201 {
				t.Fatalf("create observation: %d %s", st, body)
			}
			o1 := idOf(t, body)
			a.check("create observation", rq, want{interaction: "create", outcome: audit.Success, patients: []string{p1}, what: "Observation/" + o1})
			a.do("POST", "/fhir/Observation", obs(p2))

			_, _, rq = a.do("GET", "/fhir/Observation/"+o1, "")
			a.check("read", rq, want{interaction: "read", outcome: audit.Success, patients: []string{p1}, what: "Observation/" + o1 + "/_history/1"})
			_, _, rq = a.do("GET", "/fhir/Observation/"+o1+"/_history/1", "")
			a.check("vread", rq, want{interaction: "vread", outcome: audit.Success, patients: []string{p1}})
			_, _, rq = a.do("GET", "/fhir/Observation?code:text=pulse", "")
			a.check("search over two patients", rq, want{interaction: "search-type", outcome: audit.Success, patients: []string{p1, p2}, query: true})
			_, _, rq = a.do("GET", "/fhir/Patient/"+p1+"/Observation", "")
			a.check("compartment search", rq, want{interaction: "search", outcome: audit.Success, patients: []string{p1}, query: true})
			_, _, rq = a.do("GET", "/fhir/Observation/_history", "")
			a.check("type history", rq, want{interaction: "history-type", outcome: audit.Success, patients: []string{p1, p2}, query: true})
			_, _, rq = a.do("GET", "/fhir/Observation/"+o1+"/_history", "")
			a.check("instance history", rq, want{interaction: "history-instance", outcome: audit.Success, patients: []string{p1}})
			_, _, rq = a.do("GET", "/fhir/Patient/"+p1+"/$everything", "")
			a.check("$everything", rq, want{interaction: "operation", outcome: audit.Success, patients: []string{p1}, query: true})
			st, _, rq = a.do("PUT", "/fhir/Observation/"+o1, `{"resourceType":"Observation","id":"`+o1+`","status":"amended","code":{"text":"pulse"},"subject":{"reference":"Patient/`+p1+`"}}`)
			if st != 200 {
				t.Fatalf("update: %d", st)
			}
			a.check("update", rq, want{interaction: "update", outcome: audit.Success, patients: []string{p1}, what: "Observation/" + o1 + "/_history/2"})
			_, _, rq = a.do("PATCH", "/fhir/Observation/"+o1, `[{"op":"replace","path":"/status","value":"final"}]`)
			a.check("patch", rq, want{interaction: "patch", outcome: audit.Success, patients: []string{p1}})

			// Failures.
			st, _, rq = a.do("GET", "/fhir/Observation/nope", "")
			if st != 404 {
				t.Fatalf("read missing: %d", st)
			}
			a.check("read missing", rq, want{interaction: "read", outcome: audit.MinorFailure, patients: []string{""}})
			st, _, rq = a.do("POST", "/fhir/Observation", `{"resourceType":"Observation","status":"bogus"}`)
			if st != 400 && st != 422 {
				t.Fatalf("invalid create: %d", st)
			}
			a.check("invalid create", rq, want{interaction: "create", outcome: audit.MinorFailure, patients: []string{""}})

			// AuditEvents cannot be written through the API.
			evID := a.events(rq)[0].id
			for _, tc := range []struct{ method, path, body string }{
				{"POST", "/fhir/AuditEvent", `{"resourceType":"AuditEvent"}`},
				{"PUT", "/fhir/AuditEvent/" + evID, `{"resourceType":"AuditEvent","id":"` + evID + `"}`},
				{"PATCH", "/fhir/AuditEvent/" + evID, `[{"op":"remove","path":"/outcome"}]`},
				{"DELETE", "/fhir/AuditEvent/" + evID, ""},
				{"DELETE", "/fhir/AuditEvent?outcome=4", ""},
				{"PUT", "/fhir/AuditEvent?outcome=4", `{"resourceType":"AuditEvent"}`},
			} {
				st, body, rq := a.do(tc.method, tc.path, tc.body)
				if st != 405 || !strings.Contains(string(body), "OperationOutcome") {
					t.Errorf("%s %s: %d %s, want 405 with an OperationOutcome", tc.method, tc.path, st, body)
				}
				a.check(tc.method+" AuditEvent", rq, want{interaction: strings.ToLower(map[string]string{"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[tc.method]),
					outcome: audit.MinorFailure, patients: []string{""}})
			}
			st, body, _ = a.do("POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"AuditEvent/`+evID+`"}}]}`)
			if st != 405 {
				t.Errorf("transaction deleting an AuditEvent: %d %s, want 405", st, body)
			}

			// A batch: each entry is audited on its own, and the batch.
			st, body, rq = a.do("POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[
				{"request":{"method":"GET","url":"Patient/`+p2+`"}},
				{"resource":`+obs(p2)+`,"request":{"method":"POST","url":"Observation"}},
				{"request":{"method":"GET","url":"Observation/missing"}}]}`)
			if st != 200 {
				t.Fatalf("batch: %d %s", st, body)
			}
			a.check("batch read entry", rq, want{interaction: "read", outcome: audit.Success, patients: []string{p2}, what: "Patient/" + p2})
			a.check("batch failed read entry", rq, want{interaction: "read", outcome: audit.MinorFailure, patients: []string{""}, what: "Observation/missing"})
			a.check("batch create entry", rq, want{interaction: "create", outcome: audit.Success, patients: []string{p2}})
			a.check("batch", rq, want{interaction: "batch", outcome: audit.Success, patients: []string{""}})
			if n := len(a.events(rq)); n != 4 {
				t.Errorf("batch: %d AuditEvents, want 4 (three entries and the batch)", n)
			}

			// A transaction: its writes are audited in its own database
			// transaction, entry by entry, and as a whole.
			st, body, rq = a.do("POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
				{"fullUrl":"urn:uuid:00000000-0000-4000-8000-000000000001","resource":`+obs(p1)+`,"request":{"method":"POST","url":"Observation"}},
				{"resource":`+obs(p2)+`,"request":{"method":"POST","url":"Observation"}}]}`)
			if st != 200 {
				t.Fatalf("transaction: %d %s", st, body)
			}
			a.check("transaction entries", rq, want{interaction: "create", outcome: audit.Success, patients: []string{p1, p2}})
			a.check("transaction", rq, want{interaction: "transaction", outcome: audit.Success, patients: []string{p1, p2}})

			st, _, rq = a.do("DELETE", "/fhir/Observation/"+o1, "")
			if st != 204 && st != 200 {
				t.Fatalf("delete: %d", st)
			}
			a.check("delete", rq, want{interaction: "delete", outcome: audit.Success, patients: []string{p1}, what: "Observation/" + o1 + "/_history/"})
			st, _, rq = a.do("GET", "/fhir/Observation/"+o1, "")
			if st != 410 {
				t.Fatalf("read deleted: %d", st)
			}
			a.check("read deleted", rq, want{interaction: "read", outcome: audit.MinorFailure, patients: []string{p1}})
		})
	}
}

// TestAuditProof checks GET AuditEvent/{id}/$proof: a logged event gets
// an inclusion proof that verifies against the signed checkpoint once
// the integrator has covered it; an unknown one is 404.
func TestAuditProof(t *testing.T) {
	cfg := config.Defaults()
	cfg.Data = t.TempDir()
	a := newAuditServer(t, cfg)
	_, _, rq := a.do("GET", "/fhir/Patient/nobody", "")
	evs := a.events(rq)
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	var st int
	var body []byte
	for i := 0; i < 100; i++ {
		st, body, _ = a.do("GET", "/fhir/AuditEvent/"+evs[0].id+"/$proof", "")
		if st != 503 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st != 200 {
		t.Fatalf("$proof: %d %s", st, body)
	}
	var ps struct {
		Parameter []struct {
			Name              string
			ValueString       string
			ValueBase64Binary string
		}
	}
	if err := json.Unmarshal(body, &ps); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range ps.Parameter {
		if p.ValueString != "" {
			got[p.Name] = p.ValueString
		} else {
			got[p.Name] = p.ValueBase64Binary
		}
	}
	cp, err := audit.OpenCheckpoint([]byte(got["checkpoint"]), a.node.Audit.Verifier())
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	if root, _ := base64.StdEncoding.DecodeString(got["rootHash"]); string(root) != string(cp.Root) || got["treeSize"] != fmt.Sprint(cp.Size) {
		t.Errorf("proof root/size %s/%s differ from the signed checkpoint's %d", got["rootHash"], got["treeSize"], cp.Size)
	}
	if st, _, _ := a.do("GET", "/fhir/AuditEvent/unknown/$proof", ""); st != 404 {
		t.Errorf("$proof of an unknown AuditEvent: %d, want 404", st)
	}
	// The log is published.
	st, body, _ = a.do("GET", "/log/checkpoint", "")
	if st != 200 || !strings.HasPrefix(string(body), a.node.Audit.Origin()+"\n") {
		t.Errorf("/log/checkpoint: %d %s", st, body)
	}
}
