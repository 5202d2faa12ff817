package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/imaging"
	"github.com/nhs-junction/junction/internal/imaging/imagingtest"
	"github.com/nhs-junction/junction/internal/interaction"
	"github.com/nhs-junction/junction/internal/store"
)

func imagingStudy(id, patient string, started time.Time) map[string]any {
	return map[string]any{"resourceType": "ImagingStudy", "id": id, "status": "available",
		"identifier": []any{map[string]any{"system": "urn:dicom:uid", "value": "urn:oid:1.2.826.0.1.3680043.8.498." + fmt.Sprint(started.Unix())}},
		"subject":    map[string]string{"reference": "Patient/" + patient},
		"started":    started.UTC().Format(time.RFC3339),
		"modality":   []any{map[string]string{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"}}}
}

type imagingServer struct {
	*cdsServer
	node  *Node
	store store.Store
	model *imagingtest.Model
}

func newImagingServer(t *testing.T) *imagingServer {
	t.Helper()
	ctx := context.Background()
	model := imagingtest.New()
	t.Cleanup(model.Close)
	cfg := config.Defaults()
	cfg.Data = t.TempDir()
	cfg.Auth = "off"
	cfg.ImagingModel = model.URL
	cfg.ImagingTimeout = 300 * time.Millisecond
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	node, err := Build(ctx, cfg, st, slog.New(slog.NewTextHandler(testLogWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(node.Close)
	srv := httptest.NewServer(node.Handler)
	t.Cleanup(srv.Close)
	return &imagingServer{cdsServer: &cdsServer{t: t, base: srv.URL}, node: node, store: st, model: model}
}

// worklistIDs returns the studies of the worklist in order, with each
// entry's triage status and note.
func (s *imagingServer) worklist() (ids []string, status, notes map[string]string, scores map[string]float64) {
	s.t.Helper()
	b := s.must(200, "GET", "/fhir/ImagingStudy/$worklist", nil)
	status, notes, scores = map[string]string{}, map[string]string{}, map[string]float64{}
	for _, e := range b["entry"].([]any) {
		em := e.(map[string]any)
		id := em["resource"].(map[string]any)["id"].(string)
		ids = append(ids, id)
		for _, x := range em["extension"].([]any) {
			xm := x.(map[string]any)
			switch xm["url"] {
			case imaging.ExtTriageStatus:
				status[id] = xm["valueCode"].(string)
			case imaging.ExtTriageNote:
				notes[id] = xm["valueString"].(string)
			}
		}
		if sc, ok := em["search"].(map[string]any)["score"].(float64); ok {
			scores[id] = sc
		}
	}
	return ids, status, notes, scores
}

// TestImagingWorklist: new studies are triaged by the model double as
// they are created (with latency, 5xx then success, 5xx for good, a
// model that hangs past the timeout, answers out of contract); the
// worklist ranks the unreported ones by score, then waiting time, with
// the studies whose triage failed flagged and ordered by waiting time
// after the scored ones, never dropped; a final report removes a study,
// a preliminary one does not, and no report is changed.
func TestImagingWorklist(t *testing.T) {
	s := newImagingServer(t)
	now := time.Now().UTC().Truncate(time.Second)
	putPatient(s.cdsServer, "img1")
	putPatient(s.cdsServer, "img2")
	type st struct {
		id      string
		patient string
		ago     time.Duration
		b       imagingtest.Behaviour
	}
	studies := []st{
		{"s-high", "img1", 1 * time.Hour, imagingtest.Behaviour{Score: 0.95}},
		{"s-mid", "img2", 3 * time.Hour, imagingtest.Behaviour{Score: 0.5}},
		{"s-mid-older", "img1", 4 * time.Hour, imagingtest.Behaviour{Score: 0.5}},
		{"s-low", "img2", 5 * time.Hour, imagingtest.Behaviour{Score: 0.1}},
		{"s-slow", "img1", 10 * time.Minute, imagingtest.Behaviour{Score: 0.3, Latency: 100 * time.Millisecond}},
		{"s-retried", "img2", 20 * time.Minute, imagingtest.Behaviour{Score: 0.7, Fail5xx: 2}},
		{"s-down", "img1", 6 * time.Hour, imagingtest.Behaviour{Fail5xx: -1}},
		{"s-hang", "img2", 2 * time.Hour, imagingtest.Behaviour{Hang: true}},
		{"s-bad-score", "img1", 30 * time.Minute, imagingtest.Behaviour{Malformed: `{"score":1.7,"finding":{"system":"http://snomed.info/sct","code":"1386000"},"model":{"name":"m","version":"1"}}`}},
		{"s-not-json", "img2", 90 * time.Minute, imagingtest.Behaviour{Malformed: `<html>gateway</html>`}},
		{"s-reported", "img1", 7 * time.Hour, imagingtest.Behaviour{Score: 0.99}},
		{"s-prelim", "img2", 8 * time.Hour, imagingtest.Behaviour{Score: 0.2}},
	}
	for _, x := range studies {
		s.model.Set(x.id, x.b)
		s.must(201, "PUT", "/fhir/ImagingStudy/"+x.id, imagingStudy(x.id, x.patient, now.Add(-x.ago)))
	}
	report := func(id, study, status string) map[string]any {
		return map[string]any{"resourceType": "DiagnosticReport", "id": id, "status": status,
			"code":         map[string]any{"coding": []any{map[string]string{"system": "http://loinc.org", "code": "18748-4", "display": "Diagnostic imaging study"}}},
			"subject":      map[string]string{"reference": "Patient/img1"},
			"imagingStudy": []any{map[string]string{"reference": "ImagingStudy/" + study}}, "conclusion": "Reported by a radiologist."}
	}
	s.must(201, "PUT", "/fhir/DiagnosticReport/r-final", report("r-final", "s-reported", "final"))
	prelim := report("r-prelim", "s-prelim", "preliminary")
	prelim["subject"] = map[string]string{"reference": "Patient/img2"}
	s.must(201, "PUT", "/fhir/DiagnosticReport/r-prelim", prelim)
	s.node.Imaging.Wait()

	ids, status, notes, scores := s.worklist()
	want := []string{"s-high", "s-retried", "s-mid-older", "s-mid", "s-slow", "s-prelim", "s-low",
		"s-down", "s-hang", "s-not-json", "s-bad-score"}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Fatalf("worklist order\n got %v\nwant %v\n%v", ids, want, notes)
	}
	for _, id := range []string{"s-down", "s-hang", "s-not-json", "s-bad-score"} {
		if status[id] != imaging.StatusUnavailable || !strings.HasPrefix(notes[id], "AI triage unavailable") {
			t.Errorf("%s: status %q note %q", id, status[id], notes[id])
		}
	}
	if !strings.Contains(notes["s-hang"], "did not answer within") || !strings.Contains(notes["s-down"], "HTTP 503") || !strings.Contains(notes["s-bad-score"], "between 0 and 1") {
		t.Errorf("the notes do not say why: %v", notes)
	}
	if scores["s-high"] != 0.95 || scores["s-retried"] != 0.7 {
		t.Errorf("scores %v", scores)
	}
	// Retries: a timeout and a 5xx are tried three times, an answer out
	// of contract once.
	for id, n := range map[string]int{"s-down": 3, "s-hang": 3, "s-retried": 3, "s-bad-score": 1, "s-high": 1} {
		if got := s.model.Attempts(id); got != n {
			t.Errorf("%s: %d attempts, want %d", id, got, n)
		}
	}

	t.Run("the result is an Observation with the model's Device and a Provenance", func(t *testing.T) {
		obs := s.searchAll("/fhir/Observation?derived-from=ImagingStudy/s-high&code=" + imaging.TriageSystem + "|" + imaging.TriageCode)
		if len(obs) != 1 {
			t.Fatalf("%d Observations", len(obs))
		}
		o := obs[0]
		js, _ := json.Marshal(o)
		for _, w := range []string{`"status":"preliminary"`, `"partOf":[{"reference":"ImagingStudy/s-high"}]`, `"derivedFrom":[{"reference":"ImagingStudy/s-high"}]`,
			`"code":"1386000"`, `"value":0.95`, `"subject":{"reference":"Patient/img1"}`} {
			if !strings.Contains(string(js), w) {
				t.Errorf("Observation lacks %s: %s", w, js)
			}
		}
		dev := o["device"].(map[string]any)["reference"].(string)
		d := s.must(200, "GET", "/fhir/"+dev, nil)
		if d["version"].([]any)[0].(map[string]any)["value"] != s.model.Version {
			t.Errorf("Device %v", d)
		}
		prov := s.searchAll("/fhir/Provenance?target=Observation/" + o["id"].(string))
		if len(prov) != 1 || prov[0]["agent"].([]any)[0].(map[string]any)["who"].(map[string]any)["reference"] != dev {
			t.Fatalf("Provenance %v", prov)
		}
	})
	t.Run("reports are never changed", func(t *testing.T) {
		for _, id := range []string{"r-final", "r-prelim"} {
			r := s.must(200, "GET", "/fhir/DiagnosticReport/"+id, nil)
			if v := r["meta"].(map[string]any)["versionId"]; v != "1" || r["conclusion"] != "Reported by a radiologist." {
				t.Errorf("%s changed: version %v %v", id, v, r["conclusion"])
			}
		}
	})
	t.Run("$ai-triage scores again on demand", func(t *testing.T) {
		s.model.Set("s-down", imagingtest.Behaviour{Score: 0.8})
		o := s.must(200, "POST", "/fhir/ImagingStudy/s-down/$ai-triage", nil)
		if o["valueQuantity"].(map[string]any)["value"] != 0.8 {
			t.Fatalf("Observation %v", o)
		}
		ids, status, _, _ := s.worklist()
		if status["s-down"] != imaging.StatusScored || ids[1] != "s-down" {
			t.Errorf("after $ai-triage: %v %v", ids, status)
		}
		s.must(405, "GET", "/fhir/ImagingStudy/s-down/$ai-triage", nil)
		s.must(404, "POST", "/fhir/ImagingStudy/nope/$ai-triage", nil)
		s.must(400, "GET", "/fhir/ImagingStudy/$worklist?sort=x", nil)
	})
	t.Run("the worklist is what the caller may see", func(t *testing.T) {
		pat := &access.Caller{Kind: access.PatientUser, Subject: "pat-img2", Patients: []string{"img2"}, Scopes: []string{"patient/*.rs"}}
		resp, err := s.node.Service.Do(context.Background(), &interaction.Request{Kind: interaction.Operation, Type: "ImagingStudy", Operation: "$worklist",
			Method: "GET", Caller: pat, BaseURL: "http://x/fhir"})
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Entry []struct {
				Resource struct{ Subject struct{ Reference string } }
			}
		}
		_ = json.Unmarshal(resp.Body, &b)
		if len(b.Entry) == 0 {
			t.Fatal("the patient sees none of their studies")
		}
		for _, e := range b.Entry {
			if e.Resource.Subject.Reference != "Patient/img2" {
				t.Errorf("the patient sees %s's study", e.Resource.Subject.Reference)
			}
		}
		// A caller with no scope on ImagingStudy is refused.
		other := &access.Caller{Kind: access.System, Subject: "lab", Scopes: []string{"system/Observation.rs"}}
		if _, err := s.node.Service.Do(context.Background(), &interaction.Request{Kind: interaction.Operation, Type: "ImagingStudy", Operation: "$worklist",
			Method: "GET", Caller: other, BaseURL: "http://x/fhir"}); err == nil {
			t.Error("a caller without ImagingStudy scope got the worklist")
		}
	})
	t.Run("every use is audited", func(t *testing.T) {
		var worklist, triage bool
		for _, e := range allEvents(t, s.store) {
			js, _ := json.Marshal(e.raw)
			worklist = worklist || strings.Contains(string(js), "$worklist")
			triage = triage || strings.Contains(string(js), "junction-imaging-triage")
		}
		if !worklist || !triage {
			t.Errorf("AuditEvents: $worklist %v, automatic triage %v", worklist, triage)
		}
	})
}

// TestImagingRank: the ranking rule on its own, with ties.
func TestImagingRank(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 12, 1, h, 0, 0, 0, time.UTC) }
	items := []imaging.Item{
		{ID: "pending-new", Status: imaging.StatusPending, Waiting: at(9)},
		{ID: "low", Status: imaging.StatusScored, Score: 0.1, Waiting: at(1)},
		{ID: "failed-old", Status: imaging.StatusUnavailable, Waiting: at(2)},
		{ID: "high-new", Status: imaging.StatusScored, Score: 0.9, Waiting: at(8)},
		{ID: "high-old", Status: imaging.StatusScored, Score: 0.9, Waiting: at(3)},
		{ID: "zero", Status: imaging.StatusScored, Score: 0, Waiting: at(0)},
		{ID: "failed-new", Status: imaging.StatusUnavailable, Waiting: at(7)},
	}
	imaging.Rank(items)
	var got []string
	for _, it := range items {
		got = append(got, it.ID)
	}
	want := "high-old high-new low zero failed-old failed-new pending-new"
	if strings.Join(got, " ") != want {
		t.Fatalf("rank %v, want %s", got, want)
	}
}

// testLogWriter sends the server log to the test log, shown on failure.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
