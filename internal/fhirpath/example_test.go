package fhirpath_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nhs-junction/junction/internal/fhirpath"
)

func ExampleCompile() {
	dec := json.NewDecoder(strings.NewReader(`{
		"resourceType": "Observation",
		"subject": {"reference": "Patient/123"},
		"valueQuantity": {"value": 72.50, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}
	}`))
	dec.UseNumber()
	var obs any
	if err := dec.Decode(&obs); err != nil {
		panic(err)
	}

	value := fhirpath.MustCompile("(Observation.value as Quantity).value")
	items, _ := value.Evaluate(obs, nil)
	fmt.Println(items[0].Type(), items[0].Value())

	subject := fhirpath.MustCompile("Observation.subject.where(resolve() is Patient)")
	items, _ = subject.Evaluate(obs, nil)
	fmt.Println(items[0].Type(), len(items))

	inv := fhirpath.MustCompile("value.exists() implies value > 70 'kg'")
	items, _ = inv.Evaluate(obs, nil)
	fmt.Println(items.Bool())
	// Output:
	// decimal 72.50
	// Reference 1
	// true true
}
