package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/store"
)

const (
	nhsSys = "https://fhir.nhs.uk/Id/nhs-number"
	gpSys  = "https://gp-system.example/patient-id"
	mrnSys = "https://trust.example/mrn"
)

// matchBody wraps a Patient in $match Parameters.
func matchBody(patient string, extra ...string) string {
	ps := []string{`{"name":"resource","resource":` + patient + `}`}
	ps = append(ps, extra...)
	return `{"resourceType":"Parameters","parameter":[` + strings.Join(ps, ",") + `]}`
}

type matchEntry struct {
	Resource struct{ ID string }
	Search   struct {
		Mode      string
		Score     float64
		Extension []struct{ URL, ValueCode string }
	}
}

func matchResult(t *testing.T, r result) []matchEntry {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("$match: %d %s", r.status, r.body)
	}
	var b struct{ Entry []matchEntry }
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatal(err)
	}
	return b.Entry
}

func TestPatientMatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		for _, p := range []struct{ id, body string }{
			{"gp1", `{"resourceType":"Patient","id":"gp1","identifier":[{"system":"` + nhsSys + `","value":"9990000018"},{"system":"` + gpSys + `","value":"G1"}],"name":[{"family":"Smith","given":["Jane"]}],"gender":"female","birthDate":"1980-03-07","address":[{"postalCode":"LS1 4AP"}],"telecom":[{"system":"phone","value":"07700 900123"}]}`},
			{"twin", `{"resourceType":"Patient","id":"twin","name":[{"family":"Smith","given":["Emily"]}],"gender":"female","birthDate":"1980-03-07","address":[{"postalCode":"LS1 4AP"}]}`},
			{"other", `{"resourceType":"Patient","id":"other","identifier":[{"system":"` + nhsSys + `","value":"9990000026"}],"name":[{"family":"Okafor","given":["Chidi"]}],"gender":"male","birthDate":"1955-11-30"}`},
		} {
			if r := do(t, srv, "PUT", "/fhir/Patient/"+p.id, p.body); r.status != 201 {
				t.Fatalf("PUT %s: %d %s", p.id, r.status, r.body)
			}
		}
		// The same NHS number is certain.
		es := matchResult(t, do(t, srv, "POST", "/fhir/Patient/$match", matchBody(`{"resourceType":"Patient","identifier":[{"system":"`+nhsSys+`","value":"9990000018"}]}`)))
		if len(es) != 1 || es[0].Resource.ID != "gp1" || es[0].Search.Score != 1 || es[0].Search.Extension[0].ValueCode != "certain" ||
			es[0].Search.Extension[0].URL != "http://hl7.org/fhir/StructureDefinition/match-grade" || es[0].Search.Mode != "match" {
			t.Errorf("NHS number: %+v", es)
		}
		// Typed demographics: transposed letters, day and month swapped,
		// postcode without a space. Probable for Jane, possible for her twin.
		q := `{"resourceType":"Patient","name":[{"family":"Simth","given":["Jane"]}],"gender":"female","birthDate":"1980-07-03","address":[{"postalCode":"ls14ap"}]}`
		es = matchResult(t, do(t, srv, "POST", "/fhir/Patient/$match", matchBody(q)))
		if len(es) != 2 || es[0].Resource.ID != "gp1" || es[0].Search.Extension[0].ValueCode != "probable" ||
			es[1].Resource.ID != "twin" || es[1].Search.Extension[0].ValueCode != "possible" || es[0].Search.Score <= es[1].Search.Score {
			t.Errorf("demographics: %+v", es)
		}
		if es := matchResult(t, do(t, srv, "POST", "/fhir/Patient/$match", matchBody(q, `{"name":"count","valueInteger":1}`))); len(es) != 1 {
			t.Errorf("count=1: %d entries", len(es))
		}
		if es := matchResult(t, do(t, srv, "POST", "/fhir/Patient/$match", matchBody(q, `{"name":"onlyCertainMatches","valueBoolean":true}`))); len(es) != 0 {
			t.Errorf("onlyCertainMatches: %+v", es)
		}
		// A conflicting NHS number is certainly not a match and is left out.
		es = matchResult(t, do(t, srv, "POST", "/fhir/Patient/$match", matchBody(`{"resourceType":"Patient","identifier":[{"system":"`+nhsSys+`","value":"9990000026"}],"name":[{"family":"Smith","given":["Jane"]}],"birthDate":"1980-03-07"}`)))
		for _, e := range es {
			if e.Resource.ID == "gp1" {
				t.Errorf("conflicting NHS number returned: %+v", e)
			}
		}
		runSteps(t, srv, []step{
			{name: "no resource", method: "POST", path: "/fhir/Patient/$match", body: `{"resourceType":"Parameters","parameter":[{"name":"count","valueInteger":3}]}`, status: 400, outcome: "required"},
			{name: "not a patient", method: "POST", path: "/fhir/Patient/$match", body: matchBody(`{"resourceType":"Observation"}`), status: 400},
			{name: "bad count", method: "POST", path: "/fhir/Patient/$match", body: matchBody(q, `{"name":"count","valueInteger":0}`), status: 400},
			{name: "GET refused", method: "GET", path: "/fhir/Patient/$match", status: 405},
			{name: "in the CapabilityStatement", method: "GET", path: "/fhir/metadata", status: 200, contains: []string{"Patient-match", "IHE.PIXm.pix"}},
		})
	})
}

// TestPatientPIX cross-references one person registered at a GP practice
// (GP system id), an acute trust (MRN, linked to the GP record) and a
// specialist centre (NHS number only).
func TestPatientPIX(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		for _, p := range []struct{ id, body string }{
			{"gp", `{"resourceType":"Patient","id":"gp","identifier":[{"system":"` + nhsSys + `","value":"9990000018"},{"system":"` + gpSys + `","value":"G1"}]}`},
			{"trust", `{"resourceType":"Patient","id":"trust","identifier":[{"system":"` + mrnSys + `","value":"M7"}],"link":[{"other":{"reference":"Patient/gp"},"type":"seealso"}]}`},
			{"centre", `{"resourceType":"Patient","id":"centre","identifier":[{"system":"` + nhsSys + `","value":"9990000018"},{"system":"https://centre.example/id","value":"C9"}]}`},
			{"doubt", `{"resourceType":"Patient","id":"doubt","identifier":[{"extension":[{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus","valueCodeableConcept":{"coding":[{"system":"https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland","code":"05"}]}}],"system":"` + nhsSys + `","value":"9990000018"},{"system":"https://other.example/id","value":"X"}]}`},
			{"stranger", `{"resourceType":"Patient","id":"stranger","identifier":[{"system":"` + mrnSys + `","value":"M8"}]}`},
		} {
			if r := do(t, srv, "PUT", "/fhir/Patient/"+p.id, p.body); r.status != 201 {
				t.Fatalf("PUT %s: %d %s", p.id, r.status, r.body)
			}
		}
		all := []string{`"value":"G1"`, `"value":"9990000018"`, `"value":"C9"`, `"reference":"Patient/gp"`, `"reference":"Patient/trust"`, `"reference":"Patient/centre"`}
		runSteps(t, srv, []step{
			{name: "from the trust MRN", method: "GET", path: "/fhir/Patient/$ihe-pix?sourceIdentifier=" + mrnSys + "|M7", status: 200,
				contains: all, absent: []string{`"value":"M7"`, `"value":"X"`, "Patient/doubt", "M8"}},
			{name: "from the GP id", method: "GET", path: "/fhir/Patient/$ihe-pix?sourceIdentifier=" + gpSys + "|G1", status: 200,
				contains: []string{`"value":"M7"`, `"value":"C9"`}, absent: []string{`"value":"G1"`, "Patient/doubt"}},
			{name: "from the NHS number", method: "GET", path: "/fhir/Patient/$ihe-pix?sourceIdentifier=" + nhsSys + "|9990000018", status: 200,
				contains: []string{`"value":"M7"`, `"value":"G1"`, `"value":"C9"`}},
			{name: "targetSystem filters", method: "GET", path: "/fhir/Patient/$ihe-pix?sourceIdentifier=" + gpSys + "|G1&targetSystem=" + mrnSys, status: 200,
				contains: []string{`"value":"M7"`, "Patient/trust"}, absent: []string{"C9", nhsSys, "Patient/centre"}},
			{name: "POST with valueIdentifier", method: "POST", path: "/fhir/Patient/$ihe-pix", status: 200,
				body: `{"resourceType":"Parameters","parameter":[{"name":"sourceIdentifier","valueIdentifier":{"system":"` + mrnSys + `","value":"M7"}}]}`, contains: []string{`"value":"G1"`}},
			{name: "unknown value", method: "GET", path: "/fhir/Patient/$ihe-pix?sourceIdentifier=" + mrnSys + "|NOPE", status: 404, outcome: "not-found"},
			{name: "unknown domain", method: "GET", path: "/fhir/Patient/$ihe-pix?sourceIdentifier=urn:oid:1.2.3|M7", status: 400},
			{name: "unknown target domain", method: "GET", path: "/fhir/Patient/$ihe-pix?sourceIdentifier=" + mrnSys + "|M7&targetSystem=urn:oid:9.9", status: 403},
			{name: "missing sourceIdentifier", method: "GET", path: "/fhir/Patient/$ihe-pix", status: 400, outcome: "required"},
			{name: "no system", method: "GET", path: "/fhir/Patient/$ihe-pix?sourceIdentifier=M7", status: 400},
		})
	})
}

func TestPatientMerge(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		for _, p := range []struct{ path, body string }{
			{"/fhir/Patient/keep", `{"resourceType":"Patient","id":"keep","identifier":[{"system":"` + nhsSys + `","value":"9990000018"}]}`},
			{"/fhir/Patient/dup", `{"resourceType":"Patient","id":"dup","identifier":[{"system":"` + mrnSys + `","value":"M7"}]}`},
			{"/fhir/Patient/other", `{"resourceType":"Patient","id":"other","identifier":[{"system":"` + nhsSys + `","value":"9990000026"}]}`},
			{"/fhir/Encounter/e1", `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/dup"}}`},
			{"/fhir/Observation/o1", `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/dup"},"encounter":{"reference":"Encounter/e1"}}`},
			{"/fhir/Observation/o2", `{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/other"}}`},
		} {
			if r := do(t, srv, "PUT", p.path, p.body); r.status != 201 {
				t.Fatalf("PUT %s: %d %s", p.path, r.status, r.body)
			}
		}
		merge := func(extra ...string) string {
			ps := append([]string{`{"name":"source-patient-identifier","valueIdentifier":{"system":"` + mrnSys + `","value":"M7"}}`,
				`{"name":"target-patient","valueReference":{"reference":"Patient/keep"}}`}, extra...)
			return `{"resourceType":"Parameters","parameter":[` + strings.Join(ps, ",") + `]}`
		}
		runSteps(t, srv, []step{
			{name: "preview", method: "POST", path: "/fhir/Patient/$merge", body: merge(`{"name":"preview","valueBoolean":true}`), status: 200,
				contains: []string{"Preview: would merge Patient/dup into Patient/keep, writing 4 resources: Encounter/e1, Observation/o1, Patient/dup, Patient/keep", `"type":"replaces"`}},
			{name: "preview wrote nothing", method: "GET", path: "/fhir/Observation/o1", status: 200, contains: []string{`"Patient/dup"`}, wantHeader: map[string]string{"ETag": `W/"1"`}},
			{name: "merge", method: "POST", path: "/fhir/Patient/$merge", body: merge(), status: 200,
				contains: []string{"Merged Patient/dup into Patient/keep", `"value":"M7"`, `"use":"old"`}},
			{name: "reference repointed", method: "GET", path: "/fhir/Observation/o1", status: 200, contains: []string{`"Patient/keep"`, `"Encounter/e1"`}, absent: []string{"Patient/dup"}, wantHeader: map[string]string{"ETag": `W/"2"`}},
			{name: "history kept", method: "GET", path: "/fhir/Observation/o1/_history/1", status: 200, contains: []string{`"Patient/dup"`}},
			{name: "encounter repointed", method: "GET", path: "/fhir/Encounter/e1", status: 200, contains: []string{`"Patient/keep"`}},
			{name: "unrelated untouched", method: "GET", path: "/fhir/Observation/o2", status: 200, wantHeader: map[string]string{"ETag": `W/"1"`}},
			{name: "source inactive, replaced-by", method: "GET", path: "/fhir/Patient/dup", status: 200, contains: []string{`"active":false`, `"type":"replaced-by"`, `"reference":"Patient/keep"`}},
			{name: "search finds the survivor", method: "GET", path: "/fhir/Observation?subject=Patient/keep", status: 200, contains: []string{"Observation/o1"}},
			{name: "already merged", method: "POST", path: "/fhir/Patient/$merge", body: merge(), status: 422},
			{name: "conflicting NHS numbers", method: "POST", path: "/fhir/Patient/$merge", status: 422, contains: []string{"different NHS numbers"},
				body: `{"resourceType":"Parameters","parameter":[{"name":"source-patient","valueReference":{"reference":"Patient/other"}},{"name":"target-patient","valueReference":{"reference":"Patient/keep"}}]}`},
			{name: "forced", method: "POST", path: "/fhir/Patient/$merge", status: 200, contains: []string{"Merged Patient/other into Patient/keep", "9990000026"},
				body: `{"resourceType":"Parameters","parameter":[{"name":"source-patient","valueReference":{"reference":"Patient/other"}},{"name":"target-patient","valueReference":{"reference":"Patient/keep"}},{"name":"force","valueBoolean":true}]}`},
			{name: "same patient", method: "POST", path: "/fhir/Patient/$merge", status: 422,
				body: `{"resourceType":"Parameters","parameter":[{"name":"source-patient","valueReference":{"reference":"Patient/keep"}},{"name":"target-patient","valueReference":{"reference":"Patient/keep"}}]}`},
			{name: "unknown identifier", method: "POST", path: "/fhir/Patient/$merge", status: 422,
				body: `{"resourceType":"Parameters","parameter":[{"name":"source-patient-identifier","valueIdentifier":{"system":"x","value":"y"}},{"name":"target-patient","valueReference":{"reference":"Patient/keep"}}]}`},
			{name: "missing target", method: "POST", path: "/fhir/Patient/$merge", status: 400,
				body: `{"resourceType":"Parameters","parameter":[{"name":"source-patient","valueReference":{"reference":"Patient/keep"}}]}`},
			{name: "missing patient", method: "POST", path: "/fhir/Patient/$merge", status: 404,
				body: `{"resourceType":"Parameters","parameter":[{"name":"source-patient","valueReference":{"reference":"Patient/nobody"}},{"name":"target-patient","valueReference":{"reference":"Patient/keep"}}]}`},
		})
	})
}
