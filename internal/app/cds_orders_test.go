package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/interaction"
)

func medRequest(id, patient, status, snomed, display string) map[string]any {
	return map[string]any{"resourceType": "MedicationRequest", "id": id, "status": status, "intent": "order",
		"medicationCodeableConcept": map[string]any{"coding": []any{map[string]string{"system": "http://snomed.info/sct", "code": snomed, "display": display}}},
		"subject":                   map[string]string{"reference": "Patient/" + patient}, "authoredOn": "2026-11-01"}
}

func serviceRequest(id, patient, status, loinc, display string) map[string]any {
	return map[string]any{"resourceType": "ServiceRequest", "id": id, "status": status, "intent": "order",
		"code":    map[string]any{"coding": []any{map[string]string{"system": "http://loinc.org", "code": loinc, "display": display}}},
		"subject": map[string]string{"reference": "Patient/" + patient}}
}

func orderCall(hook, patient string, selections []string, drafts ...map[string]any) map[string]any {
	var entries []any
	for _, d := range drafts {
		entries = append(entries, map[string]any{"resource": d})
	}
	ctx := map[string]any{"userId": "Practitioner/dr-a", "patientId": patient,
		"draftOrders": map[string]any{"resourceType": "Bundle", "type": "collection", "entry": entries}}
	if selections != nil {
		ctx["selections"] = selections
	}
	return map[string]any{"hook": hook, "hookInstance": "0b7b3a8c-61a5-4c8e-a0f0-f2bd6e6b4e10", "context": ctx}
}

// TestCDSOrderHooks: order-sign and order-select warn about a draft
// order that duplicates an active one, with a delete suggestion for the
// draft and links; encounter-start shows NEWS2 and an open stroke alert;
// bad contexts are 400 with the reason; the aggregates answer too.
func TestCDSOrderHooks(t *testing.T) {
	cfg := config.Defaults()
	cfg.Data = t.TempDir()
	s := newCDSServer(t, cfg)
	now := time.Now().UTC().Truncate(time.Second)
	putPatient(s, "o1")
	putPatient(s, "o2")
	s.must(201, "PUT", "/fhir/MedicationRequest/amox-active", medRequest("amox-active", "o1", "active", "27658006", "Amoxicillin"))
	s.must(201, "PUT", "/fhir/MedicationRequest/para-stopped", medRequest("para-stopped", "o1", "stopped", "387517004", "Paracetamol"))
	s.must(201, "PUT", "/fhir/ServiceRequest/fbc-active", serviceRequest("fbc-active", "o1", "active", "58410-2", "Full blood count"))

	draftAmox := medRequest("draft-amox", "o1", "draft", "27658006", "Amoxicillin 500mg capsules")
	draftPara := medRequest("draft-para", "o1", "draft", "387517004", "Paracetamol")
	draftFBC := serviceRequest("draft-fbc", "o1", "draft", "58410-2", "FBC")

	t.Run("discovery lists every hook", func(t *testing.T) {
		out := s.must(200, "GET", "/cds-services", nil)
		hooks := map[string]string{}
		for _, sv := range out["services"].([]any) {
			m := sv.(map[string]any)
			hooks[m["id"].(string)] = m["hook"].(string)
		}
		for id, hook := range map[string]string{"junction-duplicate-order-sign": "order-sign", "junction-duplicate-order-select": "order-select",
			"junction-encounter-start": "encounter-start", "junction-all-order-sign": "order-sign", "junction-all-patient-view": "patient-view",
			"junction-all-encounter-start": "encounter-start", "junction-all-order-select": "order-select"} {
			if hooks[id] != hook {
				t.Errorf("service %s: hook %q, want %q", id, hooks[id], hook)
			}
		}
	})
	t.Run("order-sign: duplicates warned, stopped orders not", func(t *testing.T) {
		cs := cards(t, s.must(200, "POST", "/cds-services/junction-duplicate-order-sign", orderCall("order-sign", "o1", nil, draftAmox, draftPara, draftFBC)))
		if len(cs) != 2 {
			t.Fatalf("%d cards, want 2 (amoxicillin and FBC): %v", len(cs), cs)
		}
		byDraft := map[string]map[string]any{}
		for _, c := range cs {
			sug := c["suggestions"].([]any)[0].(map[string]any)
			act := sug["actions"].([]any)[0].(map[string]any)
			if act["type"] != "delete" || sug["uuid"] == "" || c["selectionBehavior"] != "at-most-one" || c["indicator"] != "warning" {
				t.Fatalf("card %v", c)
			}
			byDraft[act["resourceId"].(string)] = c
		}
		amox := byDraft["MedicationRequest/draft-amox"]
		if amox == nil || !strings.Contains(amox["detail"].(string), "MedicationRequest/amox-active") {
			t.Fatalf("no amoxicillin duplicate card naming the active order: %v", byDraft)
		}
		links := amox["links"].([]any)
		if l := links[0].(map[string]any); !strings.HasSuffix(l["url"].(string), "/fhir/MedicationRequest/amox-active") || l["type"] != "absolute" {
			t.Errorf("link %v", l)
		}
		if src := amox["source"].(map[string]any); !strings.Contains(src["label"].(string), "NICE NG5") {
			t.Errorf("source %v", src)
		}
		if byDraft["ServiceRequest/draft-fbc"] == nil {
			t.Errorf("no FBC duplicate card")
		}
	})
	t.Run("order-sign: another patient's active orders do not count", func(t *testing.T) {
		d := medRequest("draft-amox-2", "o2", "draft", "27658006", "Amoxicillin")
		if cs := cards(t, s.must(200, "POST", "/cds-services/junction-duplicate-order-sign", orderCall("order-sign", "o2", nil, d))); len(cs) != 0 {
			t.Fatalf("cards %v", cs)
		}
	})
	t.Run("order-select: only the selected orders", func(t *testing.T) {
		cs := cards(t, s.must(200, "POST", "/cds-services/junction-duplicate-order-select",
			orderCall("order-select", "o1", []string{"MedicationRequest/draft-para", "ServiceRequest/draft-fbc"}, draftAmox, draftPara, draftFBC)))
		if len(cs) != 1 || !strings.Contains(cs[0]["summary"].(string), "FBC") {
			t.Fatalf("cards %v", cs)
		}
	})
	t.Run("bad contexts", func(t *testing.T) {
		for name, body := range map[string]map[string]any{
			"no draftOrders":         {"hook": "order-sign", "hookInstance": "x", "context": map[string]any{"userId": "Practitioner/a", "patientId": "o1"}},
			"draftOrders not Bundle": {"hook": "order-sign", "hookInstance": "x", "context": map[string]any{"userId": "Practitioner/a", "patientId": "o1", "draftOrders": map[string]any{"resourceType": "MedicationRequest"}}},
			"other patient's draft":  orderCall("order-sign", "o2", nil, draftAmox),
			"userId not a reference": {"hook": "order-sign", "hookInstance": "x", "context": map[string]any{"userId": "dr-a", "patientId": "o1", "draftOrders": map[string]any{"resourceType": "Bundle"}}},
			"no hookInstance":        {"hook": "order-sign", "context": map[string]any{"userId": "Practitioner/a", "patientId": "o1", "draftOrders": map[string]any{"resourceType": "Bundle"}}},
		} {
			code, out := s.do("POST", "/cds-services/junction-duplicate-order-sign", body)
			if code != 400 || out["error"] == "" {
				t.Errorf("%s: %d %v", name, code, out)
			}
		}
		noSel := orderCall("order-select", "o1", nil, draftAmox)
		code, out := s.do("POST", "/cds-services/junction-duplicate-order-select", noSel)
		if code != 400 || !strings.Contains(out["error"].(string), "selections") {
			t.Errorf("order-select without selections: %d %v", code, out)
		}
		badSel := orderCall("order-select", "o1", []string{"MedicationRequest/elsewhere"}, draftAmox)
		if code, _ := s.do("POST", "/cds-services/junction-duplicate-order-select", badSel); code != 400 {
			t.Errorf("selection not among the drafts: %d", code)
		}
		enc := map[string]any{"hook": "encounter-start", "hookInstance": "x", "context": map[string]any{"userId": "Practitioner/a", "patientId": "o1"}}
		code, out = s.do("POST", "/cds-services/junction-encounter-start", enc)
		if code != 400 || !strings.Contains(out["error"].(string), "encounterId") {
			t.Errorf("encounter-start without encounterId: %d %v", code, out)
		}
	})
	t.Run("encounter-start: NEWS2 and the open stroke alert", func(t *testing.T) {
		putPatient(s, "e1")
		s.must(201, "PUT", "/fhir/Encounter/enc-e1", map[string]any{"resourceType": "Encounter", "id": "enc-e1", "status": "arrived",
			"class": map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER"}, "subject": map[string]string{"reference": "Patient/e1"}})
		v := normalVitals("e1", now.Add(-20*time.Minute))
		v.resp, v.spo2, v.oxygen, v.pulse = "25", "94", true, "91" // total 7
		s.transaction(v, "e1")
		s.must(201, "POST", "/fhir/QuestionnaireResponse", rosierResponse("e1", now.Add(-10*time.Minute), now.Add(-time.Hour), "6.2", "rosier-arm-weakness", "rosier-speech"))
		body := map[string]any{"hook": "encounter-start", "hookInstance": "x", "context": map[string]any{"userId": "Practitioner/a", "patientId": "e1", "encounterId": "enc-e1"}}
		cs := cards(t, s.must(200, "POST", "/cds-services/junction-encounter-start", body))
		if len(cs) != 2 || !strings.HasPrefix(cs[0]["summary"].(string), "STROKE LIKELY") || !strings.HasPrefix(cs[1]["summary"].(string), "NEWS2 7") {
			t.Fatalf("cards %v", cs)
		}
		// An encounter of another patient is refused; one that does not
		// exist is 412.
		putPatient(s, "e2")
		body["context"].(map[string]any)["patientId"] = "e2"
		s.must(400, "POST", "/cds-services/junction-encounter-start", body)
		body["context"].(map[string]any)["encounterId"] = "nope"
		s.must(412, "POST", "/cds-services/junction-encounter-start", body)
	})
	t.Run("aggregate order-sign", func(t *testing.T) {
		cs := cards(t, s.must(200, "POST", "/cds-services/junction-all-order-sign", orderCall("order-sign", "o1", nil, draftAmox)))
		if len(cs) != 1 || cs[0]["indicator"] != "warning" {
			t.Fatalf("cards %v", cs)
		}
		fb := map[string]any{"feedback": []any{map[string]any{"card": cs[0]["uuid"], "outcome": "accepted",
			"acceptedSuggestions": []any{map[string]any{"id": cs[0]["suggestions"].([]any)[0].(map[string]any)["uuid"]}}, "outcomeTimestamp": now.Format(time.RFC3339)}}}
		s.must(200, "POST", "/cds-services/junction-all-order-sign/feedback", fb)
	})
}

// TestCDSPrefetchAsCaller: the prefetch a service resolves itself runs
// with the calling user's access decision, so an active order in a
// record the user may not see raises no card (and is not disclosed),
// while one in a record they may see does.
func TestCDSPrefetchAsCaller(t *testing.T) {
	ctx := context.Background()
	cfg := config.Defaults()
	cfg.Data = t.TempDir()
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
	put("MedicationRequest", "m-mine", `{"resourceType":"MedicationRequest","id":"m-mine","status":"active","intent":"order","medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"27658006"}]},"subject":{"reference":"Patient/mine"}}`)
	put("MedicationRequest", "m-theirs", `{"resourceType":"MedicationRequest","id":"m-theirs","status":"active","intent":"order","medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"27658006"}]},"subject":{"reference":"Patient/theirs"}}`)
	gp := &access.Caller{Kind: access.Practitioner, Subject: "dr-a", Name: "Dr A", Organization: "A81001", Roles: []string{"R0260"}, Scopes: []string{"user/*.cruds"}}
	routes, _, err := withCDSHooks(nil, svc, func(*http.Request) (*access.Caller, error) { return gp, nil }, cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(routes["/cds-services/"])
	defer srv.Close()
	s := &cdsServer{t: t, base: srv.URL}
	for patient, want := range map[string]int{"mine": 1, "theirs": 0} {
		d := medRequest("draft-"+patient, patient, "draft", "27658006", "Amoxicillin")
		if cs := cards(t, s.must(200, "POST", "/cds-services/junction-duplicate-order-sign", orderCall("order-sign", patient, nil, d))); len(cs) != want {
			t.Errorf("patient %s: %d cards, want %d: %v", patient, len(cs), want, cs)
		}
	}
}
