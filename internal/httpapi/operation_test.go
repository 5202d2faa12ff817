package httpapi_test

import (
	"testing"

	"github.com/nhs-junction/junction/internal/store"
)

func TestValidateOperation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		runSteps(t, srv, []step{
			{name: "valid body", method: "POST", path: "/fhir/Patient/$validate", body: patientJSON, status: 200, contains: []string{`"OperationOutcome"`, `"severity":"warning"`, `dom-6`}, absent: []string{`"severity":"error"`}},
			{name: "wrong code", method: "POST", path: "/fhir/Patient/$validate", body: `{"resourceType":"Patient","gender":"man"}`, status: 200, contains: []string{`"severity":"error"`, `"Patient.gender"`}},
			{name: "broken invariant", method: "POST", path: "/fhir/Patient/$validate", body: `{"resourceType":"Patient","name":[{"period":{"start":"2020-01-02","end":"2020-01-01"}}]}`, status: 200, contains: []string{`per-1`}},
			{name: "missing required", method: "POST", path: "/fhir/Observation/$validate", body: `{"resourceType":"Observation","code":{"text":"x"}}`, status: 200, contains: []string{`"Observation.status"`}},
			{name: "wrong reference target", method: "POST", path: "/fhir/Observation/$validate", body: `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Practitioner/1"}}`, status: 200, contains: []string{`"severity":"error"`, `Observation.subject`}},
			{name: "invalid body", method: "POST", path: "/fhir/Patient/$validate", body: `{"resourceType":"Patient","birthDate":"1999-13-01"}`, status: 200,
				contains: []string{`"severity":"error"`, `"Patient.birthDate"`}},
			{name: "parameters body", method: "POST", path: "/fhir/Patient/$validate", body: `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","foo":1}}]}`,
				status: 200, contains: []string{`"Patient.foo"`}},
			{name: "wrong type", method: "POST", path: "/fhir/Patient/$validate", body: `{"resourceType":"Observation"}`, status: 400},
			{name: "unknown profile fails closed", method: "POST", path: "/fhir/Patient/$validate?profile=http://example.org/x", body: patientJSON, status: 200, contains: []string{`"severity":"error","code":"not-found"`}},
			{name: "seed", method: "PUT", path: "/fhir/Patient/p1", body: patientJSON, status: 201},
			{name: "instance", method: "GET", path: "/fhir/Patient/p1/$validate", status: 200, contains: []string{`dom-6`}, absent: []string{`"severity":"error"`}},
			{name: "write refuses wrong code", method: "PUT", path: "/fhir/Patient/p2", body: `{"resourceType":"Patient","id":"p2","gender":"man"}`, status: 422, expression: "Patient.gender"},
			{name: "write refuses missing required", method: "POST", path: "/fhir/Observation", body: `{"resourceType":"Observation","code":{"text":"x"}}`, status: 422},
			{name: "instance missing", method: "GET", path: "/fhir/Patient/nope/$validate", status: 404},
			{name: "unknown operation", method: "POST", path: "/fhir/Patient/$frobnicate", body: `{}`, status: 404},
			{name: "system level not allowed", method: "POST", path: "/fhir/$validate", body: patientJSON, status: 400},
			{name: "capabilities list it", method: "GET", path: "/fhir/metadata", status: 200, contains: []string{`"name":"validate"`}},
		})
	})
}
