package patch_test

import (
	"fmt"

	"github.com/nhs-junction/junction/internal/patch"
)

func ExampleApplyJSONPatch() {
	patient := `{"resourceType":"Patient","id":"1","active":true,"weight":72.50}`
	out, err := patch.ApplyJSONPatch([]byte(patient), []byte(`[
		{"op":"test","path":"/active","value":true},
		{"op":"replace","path":"/active","value":false},
		{"op":"add","path":"/gender","value":"female"}
	]`))
	fmt.Println(string(out), err)
	// Output: {"resourceType":"Patient","id":"1","active":false,"weight":72.50,"gender":"female"} <nil>
}

func ExampleApplyFHIRPathPatch() {
	patient := `{"resourceType":"Patient","id":"1","birthDate":"1970-01-01"}`
	out, err := patch.ApplyFHIRPathPatch([]byte(patient), []byte(`{
		"resourceType": "Parameters",
		"parameter": [{
			"name": "operation",
			"part": [
				{"name": "type", "valueCode": "add"},
				{"name": "path", "valueString": "Patient"},
				{"name": "name", "valueString": "gender"},
				{"name": "value", "valueCode": "female"}
			]
		}]
	}`))
	fmt.Println(string(out), err)
	// Output: {"resourceType":"Patient","id":"1","gender":"female","birthDate":"1970-01-01"} <nil>
}
