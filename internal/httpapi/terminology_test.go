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
