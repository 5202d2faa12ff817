package httpapi_test

import (
	"encoding/base64"
	"testing"

	"github.com/nhs-junction/junction/internal/store"
)

func TestPatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newServer(t, st, 1<<20)
		jp := []string{"Content-Type", "application/json-patch+json"}
		fp := `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[
			{"name":"type","valueCode":"replace"},{"name":"path","valueString":"Patient.birthDate"},{"name":"value","valueDate":"1980-01-01"}]}]}`
		binary := base64.StdEncoding.EncodeToString([]byte(`[{"op":"add","path":"/active","value":false}]`))
		runSteps(t, srv, []step{
			{name: "seed", method: "PUT", path: "/fhir/Patient/p1", body: patientJSON, status: 201},
			{name: "json patch", method: "PATCH", path: "/fhir/Patient/p1", body: `[{"op":"add","path":"/active","value":true},{"op":"replace","path":"/name/0/family","value":"Brown"}]`, headers: jp,
				status: 200, wantHeader: map[string]string{"ETag": `W/"2"`}, contains: []string{`"active":true`, `"family":"Brown"`, `"versionId":"2"`}},
			{name: "json patch if-match stale", method: "PATCH", path: "/fhir/Patient/p1", body: `[{"op":"remove","path":"/active"}]`, headers: append(jp, "If-Match", `W/"1"`), status: 412},
			{name: "json patch failed test", method: "PATCH", path: "/fhir/Patient/p1", body: `[{"op":"test","path":"/active","value":false}]`, headers: jp, status: 422},
			{name: "json patch invalid result", method: "PATCH", path: "/fhir/Patient/p1", body: `[{"op":"add","path":"/birthDate","value":"not-a-date"}]`, headers: jp, status: 422, expression: "Patient.birthDate"},
			{name: "json patch changes id", method: "PATCH", path: "/fhir/Patient/p1", body: `[{"op":"replace","path":"/id","value":"other"}]`, headers: jp, status: 422},
			{name: "json patch malformed", method: "PATCH", path: "/fhir/Patient/p1", body: `{"op":"add"}`, headers: jp, status: 400},
			{name: "fhirpath patch", method: "PATCH", path: "/fhir/Patient/p1", body: fp, status: 200, contains: []string{`"birthDate":"1980-01-01"`, `"versionId":"3"`}},
			{name: "fhirpath patch not parameters", method: "PATCH", path: "/fhir/Patient/p1", body: `{"resourceType":"Patient"}`, status: 400},
			{name: "patch in transaction", method: "POST", path: "/fhir", body: `{"resourceType":"Bundle","type":"transaction","entry":[
				{"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"` + binary + `"},"request":{"method":"PATCH","url":"Patient/p1"}}]}`,
				status: 200, contains: []string{`"status":"200 OK"`, `"active":false`}},
			{name: "read patched", method: "GET", path: "/fhir/Patient/p1", status: 200, contains: []string{`"active":false`, `"birthDate":"1980-01-01"`, `"versionId":"4"`}},
			{name: "patch deleted", method: "DELETE", path: "/fhir/Patient/p1", status: 204},
			{name: "patch after delete", method: "PATCH", path: "/fhir/Patient/p1", body: `[]`, headers: jp, status: 410},
		})
	})
}
