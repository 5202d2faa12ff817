package httpapi_test

import (
	"testing"

	"github.com/nhs-junction/junction/internal/store"
)

func TestValidateOperation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		runSteps(t, srv, []step{
			{name: "valid body", method: "POST", path: "/fhir/Patient/$validate", body: patientJSON, status: 200, contains: []string{`"OperationOutcome"`, `"information"`}},
			{name: "invalid body", method: "POST", path: "/fhir/Patient/$validate", body: `{"resourceType":"Patient","birthDate":"1999-13-01"}`, status: 200,
				contains: []string{`"severity":"error"`, `"Patient.birthDate"`}},
			{name: "parameters body", method: "POST", path: "/fhir/Patient/$validate", body: `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","foo":1}}]}`,
				status: 200, contains: []string{`"Patient.foo"`}},
			{name: "wrong type", method: "POST", path: "/fhir/Patient/$validate", body: `{"resourceType":"Observation"}`, status: 400},
			{name: "unknown profile fails closed", method: "POST", path: "/fhir/Patient/$validate?profile=http://example.org/x", body: patientJSON, status: 200, contains: []string{`"not-supported"`}},
			{name: "seed", method: "PUT", path: "/fhir/Patient/p1", body: patientJSON, status: 201},
			{name: "instance", method: "GET", path: "/fhir/Patient/p1/$validate", status: 200, contains: []string{`"information"`}},
			{name: "instance missing", method: "GET", path: "/fhir/Patient/nope/$validate", status: 404},
			{name: "unknown operation", method: "POST", path: "/fhir/Patient/$frobnicate", body: `{}`, status: 404},
			{name: "system level not allowed", method: "POST", path: "/fhir/$validate", body: patientJSON, status: 400},
			{name: "capabilities list it", method: "GET", path: "/fhir/metadata", status: 200, contains: []string{`"name":"validate"`}},
		})
	})
}
