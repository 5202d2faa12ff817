package httpapi_test

import (
	"testing"

	"github.com/nhs-junction/junction/internal/store"
)

func TestTerminologyOperations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		g := "http://hl7.org/fhir/administrative-gender"
		vs := "http://hl7.org/fhir/ValueSet/administrative-gender"
		runSteps(t, srv, []step{
			{name: "lookup", method: "GET", path: "/fhir/CodeSystem/$lookup?system=" + g + "&code=female", status: 200, contains: []string{`"Parameters"`, `"valueString":"Female"`}},
			{name: "lookup unknown code", method: "GET", path: "/fhir/CodeSystem/$lookup?system=" + g + "&code=nope", status: 404},
			{name: "lookup missing params", method: "GET", path: "/fhir/CodeSystem/$lookup", status: 400},
			{name: "lookup external system", method: "GET", path: "/fhir/CodeSystem/$lookup?system=http://snomed.info/sct&code=38341003", status: 404},
			{name: "expand", method: "GET", path: "/fhir/ValueSet/$expand?url=" + vs, status: 200, contains: []string{`"expansion"`, `"total":4`, `"code":"unknown"`}},
			{name: "expand filter", method: "GET", path: "/fhir/ValueSet/$expand?url=" + vs + "&filter=fem", status: 200, contains: []string{`"total":1`, `"code":"female"`}},
			{name: "expand paged", method: "GET", path: "/fhir/ValueSet/$expand?url=" + vs + "&offset=1&count=2", status: 200, contains: []string{`"total":4`, `"offset":1`}},
			{name: "expand bad count", method: "GET", path: "/fhir/ValueSet/$expand?url=" + vs + "&count=-1", status: 400},
			{name: "expand unknown", method: "GET", path: "/fhir/ValueSet/$expand?url=http://example.org/none", status: 422},
			{name: "validate-code ok", method: "GET", path: "/fhir/ValueSet/$validate-code?url=" + vs + "&system=" + g + "&code=male", status: 200, contains: []string{`"valueBoolean":true`}},
			{name: "validate-code bad", method: "GET", path: "/fhir/ValueSet/$validate-code?url=" + vs + "&system=" + g + "&code=man", status: 200, contains: []string{`"valueBoolean":false`}},
			{name: "stored value set", method: "PUT", path: "/fhir/ValueSet/mine", body: `{"resourceType":"ValueSet","id":"mine","url":"http://example.org/vs/mine","status":"active",
				"compose":{"include":[{"system":"` + g + `","concept":[{"code":"male"},{"code":"female"}]}]}}`, status: 201},
			{name: "expand stored by id", method: "GET", path: "/fhir/ValueSet/mine/$expand", status: 200, contains: []string{`"total":2`}},
			{name: "expand stored by url", method: "GET", path: "/fhir/ValueSet/$expand?url=http://example.org/vs/mine", status: 200, contains: []string{`"total":2`}},
			{name: "subsumes", method: "GET", path: "/fhir/CodeSystem/$subsumes?system=" + g + "&codeA=male&codeB=male", status: 200, contains: []string{`"valueCode":"equivalent"`}},
		})
	})
}

// TestTerminologyPublishedExpansions: value sets over SNOMED CT and other
// code systems the server does not hold are answered from the expansion
// R4 published for them, and say so; truncated ones still fail.
func TestTerminologyPublishedExpansions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		route := "http://hl7.org/fhir/ValueSet/route-codes"
		// specimen-container-type: SNOMED CT is-a 706041008, 124 codes.
		containers := "http://hl7.org/fhir/ValueSet/specimen-container-type"
		sct := "http://snomed.info/sct"
		specimen := func(id, code string) string {
			return `{"resourceType":"Specimen","id":"` + id + `","container":[{"type":{"coding":[{"system":"` + sct + `","code":"` + code + `"}]}}]}`
		}
		runSteps(t, srv, []step{
			{name: "expand", method: "GET", path: "/fhir/ValueSet/$expand?url=" + route, status: 200,
				contains: []string{`"total":150`, `"code":"26643006"`, `"name":"expansion-source","valueString":"hl7.fhir.r4.expansions#4.0.1"`, `"timestamp":"2018-12-14T03:53:08.782Z"`, `"identifier":"urn:uuid:b2788202-792d-4d08-8e48-b30ced559993"`}},
			{name: "expand filter", method: "GET", path: "/fhir/ValueSet/$expand?url=" + route + "&filter=oral", status: 200,
				contains: []string{`"total":1`, `"display":"Oral use"`, `"expansion-source"`}},
			{name: "expand paged", method: "GET", path: "/fhir/ValueSet/$expand?url=" + route + "&offset=148&count=5", status: 200,
				contains: []string{`"total":150`, `"offset":148`, `"name":"count","valueInteger":2`}},
			{name: "validate-code in", method: "GET", path: "/fhir/ValueSet/$validate-code?url=" + route + "&system=" + sct + "&code=26643006", status: 200,
				contains: []string{`"valueBoolean":true`, `"valueString":"Oral use"`}},
			{name: "validate-code out", method: "GET", path: "/fhir/ValueSet/$validate-code?url=" + route + "&system=" + sct + "&code=22298006", status: 200,
				contains: []string{`"valueBoolean":false`, `hl7.fhir.r4.expansions#4.0.1`}},
			{name: "truncated expansion", method: "GET", path: "/fhir/ValueSet/$expand?url=http://hl7.org/fhir/ValueSet/clinical-findings", status: 422, contains: []string{"SNOMED CT"}},
			{name: "truncated validate-code", method: "GET", path: "/fhir/ValueSet/$validate-code?url=http://hl7.org/fhir/ValueSet/condition-code&system=" + sct + "&code=22298006", status: 422},
			{name: "container in", method: "PUT", path: "/fhir/Specimen/brush", body: specimen("brush", "22566001"), status: 201},
			{name: "container out", method: "PUT", path: "/fhir/Specimen/mi", body: specimen("mi", "22298006"), status: 201},
			{name: "search :in", method: "GET", path: "/fhir/Specimen?container:in=" + containers, status: 200,
				contains: []string{`"total":1`, `"id":"brush"`}, absent: []string{`"id":"mi"`}},
			{name: "search :not-in", method: "GET", path: "/fhir/Specimen?container:not-in=" + containers, status: 200,
				contains: []string{`"total":1`, `"id":"mi"`}, absent: []string{`"id":"brush"`}},
			{name: "search :in truncated", method: "GET", path: "/fhir/Specimen?container:in=http://hl7.org/fhir/ValueSet/condition-code", status: 400},
		})
	})
}
