package nhsnumber_test

import (
	"errors"
	"fmt"

	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
)

func Example() {
	fmt.Println(nhsnumber.Valid("9434765919"))
	fmt.Println(nhsnumber.Format("9434765919"))
	fmt.Println(nhsnumber.Validate("943 476 5919"))
	fmt.Println(nhsnumber.Validate("9434765918"))

	var e *nhsnumber.Error
	if errors.As(nhsnumber.Validate("1234567890"), &e) {
		fmt.Println(e.Reason)
	}
	fmt.Println(nhsnumber.FromSerial(0), nhsnumber.FromSerial(1))
	// Output:
	// true
	// 943 476 5919
	// NHS number "943 476 5919" contains spaces: NHS numbers must be sent as 10 digits without spaces in FHIR
	// NHS number "9434765918" has wrong check digit: expected 9, got 8
	// check-digit-ten
	// 9990000018 9990000026
}
