package searchparam_test

import (
	"fmt"
	"time"

	"github.com/nhs-junction/junction/internal/searchparam"
)

func ExampleParse() {
	params, err := searchparam.ParseQueryString("subject:Patient.birthdate=ge1974-12&code=http://loinc.org|29463-7&_sort=-date&_count=50")
	if err != nil {
		panic(err)
	}
	q, err := searchparam.Parse(searchparam.R4(), "Observation", params, searchparam.Options{Now: time.Now()})
	if err != nil {
		// a *fhir.Error with status 400 naming the parameter
		panic(err)
	}
	chain := q.Filters[0]
	birth := chain.Chain.Values[0]
	fmt.Println(chain.Def.Name, chain.TargetType, chain.Chain.Def.Name, birth.Prefix,
		time.UnixMicro(birth.Date.Low).UTC().Format(time.DateOnly), time.UnixMicro(birth.Date.High).UTC().Format(time.DateOnly))
	code := q.Filters[1].Values[0].Token
	fmt.Println(code.System, code.Code)
	fmt.Println(q.Sort[0].Def.Name, q.Sort[0].Descending, q.Count)
	// Output:
	// subject Patient birthdate ge 1974-12-01 1975-01-01
	// http://loinc.org 29463-7
	// date true 50
}

func ExampleParse_error() {
	params, _ := searchparam.ParseQueryString("birthdate=not-a-date")
	_, err := searchparam.Parse(searchparam.R4(), "Patient", params, searchparam.Options{})
	fmt.Println(err)
	// Output:
	// 400: search parameter "birthdate": "not-a-date" is not a valid date, dateTime or instant
}
