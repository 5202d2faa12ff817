package validate_test

import (
	"fmt"

	"github.com/nhs-junction/junction/internal/validate"
)

func ExampleStructure() {
	issues := validate.Structure([]byte(`{"resourceType":"Patient","birthDate":"2023-02-30","name":[{"given":["Ann",7]}]}`))
	for _, is := range issues {
		fmt.Println(is.Code, is.Expression, is.Diagnostics)
	}
	// Output:
	// value [Patient.birthDate] "2023-02-30" is not a calendar date
	// structure [Patient.name[0].given[1]] string value must be a JSON string, not number
}
