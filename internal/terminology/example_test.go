package terminology_test

import (
	"errors"
	"fmt"

	"github.com/nhs-junction/junction/internal/terminology"
)

func ExampleValidateCode() {
	res, err := terminology.ValidateCode("http://hl7.org/fhir/ValueSet/administrative-gender", "http://hl7.org/fhir/administrative-gender", "man", "")
	fmt.Println(res.Valid, err)
	res, _ = terminology.ValidateCode("http://hl7.org/fhir/ValueSet/administrative-gender", "", "female", "")
	fmt.Println(res.Valid, res.Display)
	// Output:
	// false <nil>
	// true Female
}

func ExampleExpand() {
	e, _ := terminology.Expand("http://hl7.org/fhir/ValueSet/observation-status", "", 0, 2)
	fmt.Println(e.Total)
	for _, c := range e.Contains {
		fmt.Println(c.Code, c.Display)
	}
	_, err := terminology.Expand("http://hl7.org/fhir/ValueSet/clinical-findings", "", 0, 10)
	fmt.Println(errors.Is(err, terminology.ErrExternalSystem))
	// Output:
	// 8
	// registered Registered
	// preliminary Preliminary
	// true
}

func ExampleRegistry_Subsumes() {
	r := terminology.Default()
	rel, _ := r.Subsumes("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "FAMMEMB", "MTH")
	fmt.Println(rel)
	// Output:
	// subsumes
}

func ExampleRegistry_Add() {
	r := terminology.New()
	_ = r.Add([]byte(`{"resourceType":"CodeSystem","url":"http://example.org/cs/ward","content":"complete",
		"concept":[{"code":"med","display":"Medical","concept":[{"code":"cardio","display":"Cardiology"}]}]}`))
	_ = r.Add([]byte(`{"resourceType":"ValueSet","url":"http://example.org/vs/medical-wards","compose":{"include":[
		{"system":"http://example.org/cs/ward","filter":[{"property":"concept","op":"descendent-of","value":"med"}]}]}}`))
	e, _ := r.Expand("http://example.org/vs/medical-wards", "", 0, -1)
	for _, c := range e.Contains {
		fmt.Println(c.Code, c.Display)
	}
	below, _ := r.Descendants("http://example.org/cs/ward", "med")
	fmt.Println(below)
	// Output:
	// cardio Cardiology
	// [cardio]
}

// Value sets over SNOMED CT and other code systems the core package does
// not hold are answered from the expansion the R4 specification
// published for them, when it is complete.
func ExampleExpand_published() {
	e, _ := terminology.Expand("http://hl7.org/fhir/ValueSet/route-codes", "oral", 0, 5)
	fmt.Println(e.Total, e.Precomputed.Source)
	for _, c := range e.Contains {
		fmt.Println(c.Code, c.Display)
	}
	// Output:
	// 1 hl7.fhir.r4.expansions#4.0.1
	// 26643006 Oral use
}
