package search_test

import (
	"context"
	"fmt"
	"os"

	"github.com/nhs-junction/junction/internal/index"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/sqlite"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "junction-example")
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		panic(err)
	}
	defer st.Close()
	// The Engine is the store from now on: every Put through it is indexed.
	eng, err := search.Open(st, index.New(searchparam.R4(), "https://example.nhs.uk/fhir"))
	if err != nil {
		panic(err)
	}
	err = eng.Write(ctx, func(tx store.Tx) error {
		for _, b := range []string{
			`{"resourceType":"Patient","id":"p1","name":[{"family":"Smith","given":["Zoë"]}],"birthDate":"1974-12-25"}`,
			`{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/p1"}}`,
		} {
			var h struct{ Type, ID string }
			fmt.Sscanf(b, `{"resourceType":%q,"id":%q`, &h.Type, &h.ID)
			if _, err := tx.Put(ctx, store.Version{Type: h.Type, ID: h.ID, Version: 1, Body: []byte(b)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		panic(err)
	}

	// GET [base]/Observation?subject:Patient.name=zoe&_include=Observation:subject
	params, _ := searchparam.ParseQueryString("subject:Patient.name=zoe&_include=Observation:subject")
	q, err := searchparam.Parse(searchparam.R4(), "Observation", params, searchparam.Options{})
	if err != nil {
		panic(err) // a *fhir.Error: 400 with an OperationOutcome
	}
	res, err := eng.Search(ctx, q, search.Options{})
	if err != nil {
		panic(err)
	}
	for _, m := range res.Matches {
		fmt.Println("match", m.Type+"/"+m.ID)
	}
	for _, inc := range res.Included {
		fmt.Println("include", inc.Type+"/"+inc.ID)
	}
	fmt.Println("total", res.Total, "next", res.Next != nil)
	// Output:
	// match Observation/o1
	// include Patient/p1
	// total 1 next false
}
