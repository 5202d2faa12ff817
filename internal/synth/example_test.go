package synth_test

import (
	"encoding/json"
	"fmt"

	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
	"github.com/nhs-junction/junction/internal/synth"
)

func Example() {
	g := synth.New(synth.Options{Patients: 10, Seed: 1})
	shared := g.Shared()
	record := g.Patient(3)

	var p struct {
		ResourceType string
		Identifier   []struct{ System, Value string }
	}
	json.Unmarshal(record[0], &p)
	fmt.Println(len(shared), "shared resources")
	fmt.Println(p.ResourceType, p.Identifier[0].System == nhsnumber.System, nhsnumber.Valid(p.Identifier[0].Value))
	// Output:
	// 676 shared resources
	// Patient true true
}
