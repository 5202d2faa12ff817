package app

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/config"
)

func hookCall(patient string, prefetch map[string]any) map[string]any {
	body := map[string]any{"hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
		"context": map[string]any{"userId": "Practitioner/dr-a", "patientId": patient}}
	if prefetch != nil {
		body["prefetch"] = prefetch
	}
	return body
}

func cards(t *testing.T, out map[string]any) []map[string]any {
	t.Helper()
	raw, ok := out["cards"].([]any)
	if !ok {
		t.Fatalf("no cards array: %v", out)
	}
	var cs []map[string]any
	for _, c := range raw {
		cm := c.(map[string]any)
		if cm["summary"] == "" || cm["indicator"] == nil || cm["source"].(map[string]any)["label"] == "" || cm["uuid"] == "" {
			t.Fatalf("card lacks a required attribute: %v", cm)
		}
		if n := len([]rune(cm["summary"].(string))); n >= 140 {
			t.Errorf("summary of %d characters", n)
		}
		cs = append(cs, cm)
	}
	return cs
}

// rosierResponse is a stroke recognition QuestionnaireResponse with the
// named ROSIER items answered yes (the others no).
func rosierResponse(patient string, authored, onset time.Time, glucose string, yes ...string) map[string]any {
	var items []any
	for _, link := range []string{"rosier-loss-of-consciousness", "rosier-seizure", "rosier-facial-weakness", "rosier-arm-weakness", "rosier-leg-weakness", "rosier-speech", "rosier-visual-field"} {
		v := false
		for _, y := range yes {
			v = v || y == link
		}
		items = append(items, map[string]any{"linkId": link, "answer": []any{map[string]any{"valueBoolean": v}}})
	}
	if glucose != "" {
		items = append(items, map[string]any{"linkId": "capillary-glucose", "answer": []any{map[string]any{"valueDecimal": jsonNumber(glucose)}}})
	}
	items = append(items, map[string]any{"linkId": "onset", "answer": []any{map[string]any{"valueDateTime": onset.UTC().Format(time.RFC3339)}}})
	return map[string]any{"resourceType": "QuestionnaireResponse", "status": "completed",
		"questionnaire": "https://github.com/nhs-junction/junction/fhir/Questionnaire/stroke-recognition",
		"subject":       map[string]string{"reference": "Patient/" + patient}, "authored": authored.UTC().Format(time.RFC3339), "item": items}
}

// TestCDSHooks exercises discovery, the patient-view services with
// prefetch resolved locally and given by the client, and feedback.
func TestCDSHooks(t *testing.T) {
	cfg := config.Defaults()
	cfg.Data = t.TempDir()
	s := newCDSServer(t, cfg)
	now := time.Now().UTC().Truncate(time.Second)

	t.Run("discovery", func(t *testing.T) {
		out := s.must(200, "GET", "/cds-services", nil)
		ids := map[string]map[string]any{}
		for _, sv := range out["services"].([]any) {
			m := sv.(map[string]any)
			ids[m["id"].(string)] = m
		}
		for _, id := range []string{"junction-news2", "junction-stroke"} {
			sv, ok := ids[id]
			if !ok || sv["hook"] != "patient-view" || sv["description"] == "" {
				t.Fatalf("service %s: %v", id, sv)
			}
			if pf := sv["prefetch"].(map[string]any); pf["patient"] != "Patient/{{context.patientId}}" {
				t.Errorf("%s prefetch %v", id, pf)
			}
		}
	})

	putPatient(s, "h1")
	v := normalVitals("h1", now.Add(-20*time.Minute))
	v.resp, v.spo2, v.oxygen, v.pulse = "25", "94", true, "91" // total 7
	s.transaction(v, "h1")

	t.Run("NEWS2 card, prefetch resolved locally", func(t *testing.T) {
		cs := cards(t, s.must(200, "POST", "/cds-services/junction-news2", hookCall("h1", nil)))
		if len(cs) != 1 {
			t.Fatalf("%d cards, want 1", len(cs))
		}
		c := cs[0]
		if c["indicator"] != "critical" || !strings.HasPrefix(c["summary"].(string), "NEWS2 7: high clinical risk") {
			t.Fatalf("card %v", c)
		}
		if d := c["detail"].(string); !strings.Contains(d, "specialist registrar") || !strings.Contains(d, "Continuous monitoring") {
			t.Errorf("detail lacks the RCP Chart 4 emergency response: %s", d)
		}
	})
	t.Run("NEWS2 card: stale observations are flagged", func(t *testing.T) {
		putPatient(s, "h2")
		s.transaction(normalVitals("h2", now.Add(-13*time.Hour)), "h2")
		cs := cards(t, s.must(200, "POST", "/cds-services/junction-news2", hookCall("h2", nil)))
		if len(cs) != 1 || cs[0]["indicator"] != "warning" || !strings.HasPrefix(cs[0]["summary"].(string), "OVERDUE NEWS2 0") {
			t.Fatalf("cards %v", cs)
		}
	})
	t.Run("no NEWS2: no card", func(t *testing.T) {
		putPatient(s, "h3")
		if cs := cards(t, s.must(200, "POST", "/cds-services/junction-news2", hookCall("h3", nil))); len(cs) != 0 {
			t.Fatalf("cards %v", cs)
		}
	})
	t.Run("prefetch given by the client", func(t *testing.T) {
		news2 := s.searchAll("/fhir/Observation?subject=Patient/h1&code=http://snomed.info/sct|1104051000000101")
		bundle := map[string]any{"resourceType": "Bundle", "type": "searchset", "entry": []any{map[string]any{"resource": news2[0]}}}
		cs := cards(t, s.must(200, "POST", "/cds-services/junction-news2", hookCall("h1", map[string]any{"news2": bundle, "patient": nil})))
		if len(cs) != 1 || cs[0]["indicator"] != "critical" {
			t.Fatalf("cards %v", cs)
		}
		// Another patient's data under this patient's context is refused.
		s.must(400, "POST", "/cds-services/junction-news2", hookCall("h2", map[string]any{"news2": bundle}))
	})
	t.Run("stroke card", func(t *testing.T) {
		putPatient(s, "s1")
		// Onset an hour ago less 30 s, so the minutes left do not round
		// down while the test runs.
		onsetAt := now.Add(-time.Hour + 30*time.Second)
		s.must(201, "POST", "/fhir/QuestionnaireResponse", rosierResponse("s1", now.Add(-30*time.Minute), onsetAt, "6.2", "rosier-arm-weakness", "rosier-speech"))
		cs := cards(t, s.must(200, "POST", "/cds-services/junction-stroke", hookCall("s1", nil)))
		if len(cs) != 1 || cs[0]["indicator"] != "critical" {
			t.Fatalf("cards %v", cs)
		}
		sum, detail := cs[0]["summary"].(string), cs[0]["detail"].(string)
		if !strings.Contains(sum, "ROSIER +2") || !strings.Contains(sum, "Thrombolysis (alteplase) window closes in 3h30m") {
			t.Errorf("summary %q", sum)
		}
		onset := onsetAt.Format("2006-01-02 15:04 MST")
		for _, want := range []string{"Symptom onset " + onset, "4.5 hours", "Thrombectomy: 5h00m left", "24 hours"} {
			if !strings.Contains(detail, want) {
				t.Errorf("detail lacks %q: %s", want, detail)
			}
		}
	})
	t.Run("stroke: no glucose, no score, a warning", func(t *testing.T) {
		putPatient(s, "s2")
		s.must(201, "POST", "/fhir/QuestionnaireResponse", rosierResponse("s2", now.Add(-5*time.Minute), now.Add(-time.Hour), "", "rosier-arm-weakness"))
		cs := cards(t, s.must(200, "POST", "/cds-services/junction-stroke", hookCall("s2", nil)))
		if len(cs) != 1 || cs[0]["indicator"] != "warning" || !strings.Contains(cs[0]["summary"].(string), "glucose") {
			t.Fatalf("cards %v", cs)
		}
	})
	t.Run("stroke: older than 24 hours, no card", func(t *testing.T) {
		putPatient(s, "s3")
		s.must(201, "POST", "/fhir/QuestionnaireResponse", rosierResponse("s3", now.Add(-25*time.Hour), now.Add(-26*time.Hour), "6", "rosier-leg-weakness"))
		if cs := cards(t, s.must(200, "POST", "/cds-services/junction-stroke", hookCall("s3", nil))); len(cs) != 0 {
			t.Fatalf("cards %v", cs)
		}
	})
	t.Run("bad calls", func(t *testing.T) {
		s.must(404, "POST", "/cds-services/nope", hookCall("h1", nil))
		wrongHook := hookCall("h1", nil)
		wrongHook["hook"] = "order-sign"
		s.must(400, "POST", "/cds-services/junction-news2", wrongHook)
		noPatient := hookCall("h1", nil)
		delete(noPatient["context"].(map[string]any), "patientId")
		s.must(400, "POST", "/cds-services/junction-news2", noPatient)
		s.must(400, "POST", "/cds-services/junction-news2", []byte("{not json"))
		s.must(405, "GET", "/cds-services/junction-news2", nil)
	})
	t.Run("feedback", func(t *testing.T) {
		fb := map[string]any{"feedback": []any{map[string]any{"card": "9368d37b-283f-44a0-93ea-547cebab93ed", "outcome": "overridden",
			"overrideReason": map[string]any{"reason": map[string]any{"code": "not-relevant"}}, "outcomeTimestamp": now.Format(time.RFC3339)}}}
		s.must(200, "POST", "/cds-services/junction-news2/feedback", fb)
		fb["feedback"].([]any)[0].(map[string]any)["outcome"] = "ignored"
		s.must(400, "POST", "/cds-services/junction-news2/feedback", fb)
		s.must(404, "POST", "/cds-services/nope/feedback", fb)
	})
}

type jsonNumber string

func (n jsonNumber) MarshalJSON() ([]byte, error) { return []byte(n), nil }

// TestCDSHooksAuthOn: with authorisation on, discovery is open (it holds
// no patient data) but a service call or feedback without a valid token
// is 401 with a Bearer challenge.
func TestCDSHooksAuthOn(t *testing.T) {
	cfg := config.Defaults()
	cfg.Data = t.TempDir()
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
	srv := httptest.NewServer(node.Handler)
	defer srv.Close()
	s := &cdsServer{t: t, base: srv.URL}
	s.must(200, "GET", "/cds-services", nil)
	s.must(401, "POST", "/cds-services/junction-news2", hookCall("h1", nil))
	s.must(401, "POST", "/cds-services/junction-stroke/feedback", map[string]any{"feedback": []any{}})
}
